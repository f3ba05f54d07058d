package io.metastore.raft;

import java.util.Objects;

/** Why a proposal or a linearizable barrier failed; the server maps each kind onto an etcd error. */
public final class RaftException extends RuntimeException {

    public enum Kind {
        /** No leader is known (election in progress, or this member is partitioned). */
        NO_LEADER,
        /** The request reached a member that is not the leader and could not be redirected. */
        NOT_LEADER,
        /** The request did not complete within the request timeout; it may or may not have been applied. */
        TIMEOUT,
        /** This node is closed (or closing). */
        STOPPED,
        /** The command exceeds {@link RaftConfig#maxRequestBytes()}; nothing was proposed. */
        TOO_LARGE,
        /** Leadership moved while the command was in flight; it may or may not have been applied. */
        LEADER_CHANGED,
        /** Anything else (an exception from the applier, an unexpected Ratis error). */
        INTERNAL
    }

    private final Kind kind;

    public RaftException(Kind kind, String message) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public RaftException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }

    @Override
    public String toString() {
        return "RaftException[" + kind + "]: " + getMessage();
    }
}
