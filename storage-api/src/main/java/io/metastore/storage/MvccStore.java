package io.metastore.storage;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * etcd's multi-version key space: every write transaction that changes something gets the next revision;
 * history is kept until compaction; reads can address any revision at or above the compact revision.
 *
 * <p>Threading: exactly one writer (the Raft apply thread) calls {@link #beginWrite}, {@link #compact} and
 * {@link #restore}; reads are safe from any thread, concurrently with that writer, and always see a
 * revision whose transaction is completely applied.
 */
public interface MvccStore extends AutoCloseable {

    long currentRevision();

    long compactRevision();

    /** Raft position of the last applied entry; recovered on open. {@link AppliedIndex#NONE} when empty. */
    AppliedIndex appliedIndex();

    /**
     * @throws MvccException.Compacted when {@code q.revision()} is below the compact revision
     * @throws MvccException.FutureRevision when it is above the current revision
     */
    RangeResult range(RangeQuery q);

    /** Latest live version of one key, or null. */
    KeyValue get(byte[] key);

    /** Starts the single write transaction of one applied Raft entry. */
    MvccWriteTxn beginWrite();

    /**
     * Logical compaction to {@code revision}, recorded atomically with {@code applied}: from the return on,
     * reads below it fail with Compacted. The returned future completes when the superseded versions have
     * been physically removed (etcd's {@code physical=true} waits for it).
     *
     * @throws MvccException.Compacted if {@code revision <= compactRevision()}
     * @throws MvccException.FutureRevision if {@code revision > currentRevision()}
     */
    CompletableFuture<Void> compact(long revision, AppliedIndex applied);

    /**
     * Events with main revision in [{@code fromRevision}, {@code toRevision}] in (main, sub) order, at most
     * {@code maxRevisions} distinct main revisions (watch catch-up reads history in batches). Each event's
     * prevKv is filled when {@code withPrevKv} and the previous version is still retained.
     *
     * @throws MvccException.Compacted if {@code fromRevision < compactRevision()}
     */
    List<Event> events(long fromRevision, long toRevision, int maxRevisions, boolean withPrevKv);

    /**
     * HashKV over the retained history up to {@code revision} (0 = current). Independent of the engine and
     * of how far physical compaction has progressed, so members on different engines agree.
     */
    HashResult hashKv(long revision);

    /**
     * Application metadata (leases, alarms, auth, members) written with {@link MvccWriteTxn#putMeta}.
     *
     * @throws IllegalArgumentException if {@code key} starts with 0x00 (reserved for the store)
     */
    byte[] getMeta(byte[] key);

    /** Metadata entries whose key starts with {@code prefix}, in key order; the store's 0x00 keys never appear. */
    void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor);

    StoreStats stats();

    /** Reclaims space freed by compaction without blocking reads or writes for long. */
    void defragment();

    /**
     * Writes a consistent, engine-independent image of the whole store (data, history, metadata, applied
     * index) to {@code out}. Safe to call while writes continue; the image is of one applied index.
     */
    void writeSnapshot(OutputStream out) throws IOException;

    /** Replaces the whole content with an image written by {@link #writeSnapshot}. Writer thread only. */
    void restore(java.io.InputStream in) throws IOException;

    /** See {@link io.metastore.storage.spi.MvccBackend#durable()}. */
    boolean durable();

    /** Makes everything applied so far durable in the engine itself (a Raft snapshot point). */
    void flush();

    @Override
    void close();
}
