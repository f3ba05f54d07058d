package io.metastore.storage;

import java.util.List;

/**
 * The writes of one applied Raft entry. If anything in the key space changes, all changes share revision
 * {@code currentRevision()+1} with sub-revisions in call order; otherwise the revision does not move.
 * Reads through this transaction see its own earlier writes; nothing is visible to other readers before
 * {@link #commit}. Not thread-safe.
 */
public interface MvccWriteTxn extends AutoCloseable {

    /** The revision this transaction writes at if it changes anything. */
    long writeRevision();

    /** Like {@link MvccStore#range} at the latest revision, including this transaction's writes. */
    RangeResult range(RangeQuery q);

    /** Latest live version including this transaction's writes, or null. */
    KeyValue get(byte[] key);

    /** Puts a new version; returns the version it replaced (null if the key did not exist). */
    KeyValue put(byte[] key, byte[] value, long lease);

    /** Deletes every live key in etcd's interval (key, rangeEnd); returns the deleted versions in key order. */
    List<KeyValue> deleteRange(byte[] key, byte[] rangeEnd);

    /**
     * Writes application metadata, committed atomically with the key-space changes.
     *
     * @param key must not start with byte 0x00: that prefix is reserved for the store's own bookkeeping
     *            (revisions, compaction, applied index) kept in the same engine meta space
     * @throws IllegalArgumentException if {@code key} starts with 0x00
     */
    void putMeta(byte[] key, byte[] value);

    /** @throws IllegalArgumentException if {@code key} starts with 0x00 (reserved, see {@link #putMeta}) */
    void deleteMeta(byte[] key);

    /** Key-space changes so far, in order (what watchers will receive). */
    List<Event> changes();

    /** Persists the changes, metadata and {@code applied} atomically, then publishes the new revision. */
    void commit(AppliedIndex applied);

    /** Discards everything not committed. */
    @Override
    void close();
}
