package io.metastore.storage.spi;

/** Writes applied atomically by {@link #commit}: all or nothing, also across a crash. */
public interface BackendBatch extends AutoCloseable {

    void putVersion(StoredVersion v);

    /** Physical removal of one history entry (compaction). */
    void removeVersion(byte[] key, long main, long sub);

    void putMeta(byte[] key, byte[] value);

    void deleteMeta(byte[] key);

    /** Applies atomically. Durability against process crash is required; fsync is not (the Raft log is fsynced). */
    void commit();

    /** Releases resources; a batch closed without commit writes nothing. */
    @Override
    void close();
}
