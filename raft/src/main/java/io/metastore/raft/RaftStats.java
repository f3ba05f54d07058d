package io.metastore.raft;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts a {@link RaftNode} keeps about its own proposals and the leaders it has seen, read by whoever reports on
 * the member (etcd's proposals_pending/failed and leader_changes_seen).
 */
public final class RaftStats {
    private final AtomicLong leaderChanges = new AtomicLong();
    private final AtomicLong proposalsPending = new AtomicLong();
    private final AtomicLong proposalsFailed = new AtomicLong();
    /** The leader last seen; null after a loss of leadership until the next leader is known. */
    private String lastLeader;

    /**
     * As etcd counts: every time a leader becomes known that differs from the one known just before (a loss of
     * leader in between makes even the same leader count again). The first election after start counts.
     */
    synchronized void leaderSeen(String leaderName) {
        if (leaderName != null && !leaderName.equals(lastLeader)) {
            leaderChanges.incrementAndGet();
        }
        lastLeader = leaderName;
    }

    void proposalStarted() {
        proposalsPending.incrementAndGet();
    }

    void proposalEnded(boolean failed) {
        proposalsPending.decrementAndGet();
        if (failed) {
            proposalsFailed.incrementAndGet();
        }
    }

    public long leaderChanges() {
        return leaderChanges.get();
    }

    /** Proposals made on this member and not yet answered. */
    public long proposalsPending() {
        return proposalsPending.get();
    }

    /** Proposals made on this member that failed (timed out, lost to a leader change, refused). */
    public long proposalsFailed() {
        return proposalsFailed.get();
    }
}
