package io.metastore.raft;

/**
 * Durations Ratis measures on this member, handed on as they happen so the owner can keep them (as histograms,
 * say) without this module knowing how. Called on Ratis's threads: an implementation must be quick and must not
 * block.
 */
public interface RaftLatencyListener {

    /** One flush of the Raft log to disk (write out and fsync of the open segment), in nanoseconds. */
    void logSynced(long nanos);

    /**
     * One AppendEntries round trip from this member, as leader, to {@code peerName} and back (send to reply,
     * heartbeats and appends alike), in nanoseconds.
     */
    void peerRoundTrip(String peerName, long nanos);
}
