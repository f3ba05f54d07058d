package io.metastore.server.apply;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * What the apply path reports about itself: the store commit time of each applied entry (etcd's backend commit
 * duration) and the count of applies that took too long (etcd's slow_apply_total). Plain Java: whoever exports
 * metrics reads the counter and sets the commit observer.
 */
public final class ApplyStats {
    private final AtomicLong slowApplies = new AtomicLong();
    private volatile LongConsumer commitObserver = nanos -> { };

    /**
     * Applies that took longer than etcd's warning threshold. The apply path increments it where it logs
     * "apply request took too long".
     */
    public AtomicLong slowApplies() {
        return slowApplies;
    }

    /** Receives the duration, in nanoseconds, of every store commit the applier makes. */
    public void observeCommits(LongConsumer observer) {
        this.commitObserver = observer;
    }

    void committed(long nanos) {
        commitObserver.accept(nanos);
    }
}
