package io.metastore.concurrency;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** A point in time (monotonic clock) by which a wait must end; {@link #NONE} waits forever. */
final class Deadline {
    static final Deadline NONE = new Deadline(Long.MAX_VALUE, true);

    private final long atNanos;
    private final boolean infinite;

    private Deadline(long atNanos, boolean infinite) {
        this.atNanos = atNanos;
        this.infinite = infinite;
    }

    static Deadline after(Duration timeout) {
        long n = timeout.isNegative() ? 0 : saturatedNanos(timeout);
        long now = System.nanoTime();
        // overflow-safe: a huge timeout is "forever"
        return n >= Long.MAX_VALUE / 2 ? NONE : new Deadline(now + n, false);
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    boolean isInfinite() {
        return infinite;
    }

    /** Nanoseconds left (Long.MAX_VALUE when infinite, never negative). */
    long remainingNanos() {
        return infinite ? Long.MAX_VALUE : Math.max(0, atNanos - System.nanoTime());
    }

    void check() throws TimeoutException {
        if (!infinite && remainingNanos() == 0) {
            throw new TimeoutException("deadline passed");
        }
    }
}
