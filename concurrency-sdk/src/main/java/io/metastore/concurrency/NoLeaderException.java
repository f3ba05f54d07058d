package io.metastore.concurrency;

/** Go's {@code ErrElectionNoLeader}: nobody campaigns in this election right now. */
public class NoLeaderException extends ConcurrencyException {
    public static final String MESSAGE = "election: no leader";

    public NoLeaderException() {
        super(MESSAGE);
    }
}
