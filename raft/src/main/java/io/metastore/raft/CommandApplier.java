package io.metastore.raft;

import io.metastore.storage.AppliedIndex;

/**
 * The replicated state machine's logic, supplied by the server. {@link RaftNode} calls it on Ratis's single apply
 * thread, in log order, for every committed command the store does not already contain.
 */
public interface CommandApplier {

    /**
     * Applies one committed command, on Ratis's single apply thread, in log order. The implementation commits its
     * store write transaction with {@code at}. Returns the response bytes handed to the proposer (may be empty).
     *
     * <p>Command-level failures (a failed compare, a missing lease, ...) belong in the response bytes: they are
     * deterministic and happen identically on every member. A RuntimeException thrown here is logged, the entry
     * counts as applied, and the proposer's future fails with {@link RaftException.Kind#INTERNAL}; an Error stops
     * this member's Ratis server.
     */
    byte[] apply(AppliedIndex at, byte[] command);

    /** The store content was replaced (snapshot loaded at start or installed): rebuild derived in-memory state. */
    void onStoreReset();
}
