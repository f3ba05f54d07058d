package io.metastore.concurrency;

/** Go's {@code ErrElectionNotLeader}: this candidate does not (or no longer) hold the leadership it claimed. */
public class NotLeaderException extends ConcurrencyException {
    public static final String MESSAGE = "election: not leader";

    public NotLeaderException() {
        super(MESSAGE);
    }
}
