package io.metastore.concurrency;

/** Clean-up RPCs must run even on a thread that is being interrupted (grpc cancels blocking calls then). */
final class Interrupts {
    private Interrupts() {
    }

    /** Runs {@code cleanup} with the interrupt flag cleared, restores it, and swallows failures (best effort). */
    static void runUninterrupted(Runnable cleanup) {
        boolean interrupted = Thread.interrupted();
        try {
            cleanup.run();
        } catch (RuntimeException ignored) {
            // best effort: a lease-bound key goes away with its lease anyway
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
