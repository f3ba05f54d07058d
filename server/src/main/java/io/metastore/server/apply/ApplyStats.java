package io.metastore.server.apply;

import java.util.function.LongConsumer;

/**
 * What the apply path reports about itself: the store commit time of each applied entry (etcd's backend commit
 * duration) and the count of applies that took too long (etcd's slow_apply_total). Plain Java: whoever exports
 * metrics reads the counter and sets the commit observer.
 */
public final class ApplyStats {
    private final SlowApplyCounter slowApplies;
    private volatile LongConsumer commitObserver = nanos -> { };

    ApplyStats(SlowApplyCounter slowApplies) {
        this.slowApplies = slowApplies;
    }

    /**
     * Applies that took longer than --warning-apply-duration. The apply path increments it where it logs
     * "apply request took too long".
     */
    public SlowApplyCounter slowApplies() {
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
