package io.metastore.storage.spi;

/**
 * What a storage engine implements; {@link io.metastore.storage.MvccStoreImpl} layers etcd's MVCC rules on
 * top, so revision semantics exist once for all engines.
 *
 * <p>Threading: one writer at a time (batches are committed by one thread); reads may run concurrently with
 * it and must see each committed batch entirely or not at all per key-version (the store only publishes a
 * revision after its batch committed, so readers never address uncommitted revisions).
 */
public interface MvccBackend extends BackendReader, AutoCloseable {

    BackendBatch newBatch();

    /**
     * A point-in-time read view (for snapshots): reads through it see exactly the batches committed before
     * the call. Must be closed.
     */
    BackendView openView();

    /** Bytes the engine occupies (on disk, or in memory for the memory engine). */
    long sizeBytes();

    /** Bytes of live data, an estimate where the engine only has one. */
    long sizeInUseBytes();

    /** Returns space of removed versions to the system; must not block readers or writers for long. */
    void defragment();

    /** Makes every committed batch durable in the engine's own files (no-op for memory). */
    void flush();

    /**
     * True when committed batches survive a process restart in the engine's own files (RocksDB); false
     * when the store must be rebuilt from a snapshot image plus the Raft log (memory).
     */
    boolean durable();

    /** Removes everything (before a restore). Writer thread only. */
    void clear();

    @Override
    void close();

    interface BackendView extends BackendReader, AutoCloseable {
        @Override
        void close();
    }
}
