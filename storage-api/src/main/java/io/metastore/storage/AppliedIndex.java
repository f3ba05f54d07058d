package io.metastore.storage;

/** The Raft term and index of the last log entry applied to a store; persisted atomically with the data. */
public record AppliedIndex(long term, long index) {
    public static final AppliedIndex NONE = new AppliedIndex(0, 0);
}
