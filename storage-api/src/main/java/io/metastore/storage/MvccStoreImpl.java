package io.metastore.storage;

import io.metastore.storage.internal.Bookkeeping;
import io.metastore.storage.internal.Compactor;
import io.metastore.storage.internal.HistoryReader;
import io.metastore.storage.internal.KeyInterval;
import io.metastore.storage.internal.KvHasher;
import io.metastore.storage.internal.LiveScan;
import io.metastore.storage.internal.RangeEvaluator;
import io.metastore.storage.internal.RestoreLoader;
import io.metastore.storage.internal.SnapshotCodec;
import io.metastore.storage.internal.StoreWriteTxn;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;

/**
 * etcd's MVCC rules, implemented once over any {@link MvccBackend}.
 *
 * <p>Visibility: a write transaction's versions, metadata and bookkeeping go to the backend in one batch;
 * only then is its revision published (a volatile write), and readers only address published revisions,
 * so they never see part of a transaction.
 *
 * <p>Locks: {@code historyLock} is held shared by every reader of history (range, events, hash, snapshot)
 * from validating its revision against the compact revision to the end of the read, and exclusively by
 * each physical-compaction batch, so versions a validated read needs cannot vanish under it. The apply
 * thread never takes it: it reads at the current revision (or at revisions validated against a compact
 * revision only it can move), which removal never changes, and the compactor removes each key's versions
 * oldest first so that even an engine applying a batch version by version exposes no different answer
 * half-way. {@code commitLock} serializes the backend batches of the apply thread and the
 * compactor, because the SPI allows one writer at a time; compaction batches are small so the apply
 * thread never waits long.
 */
public final class MvccStoreImpl implements MvccStore {

    private final MvccBackend backend;
    private final ReentrantReadWriteLock historyLock = new ReentrantReadWriteLock();
    private final ReentrantLock commitLock = new ReentrantLock();
    private final StoreWriteTxn.Host txnHost = new TxnHost();

    private volatile long currentRevision;
    private volatile long compactRevision;
    private volatile AppliedIndex appliedIndex;
    /** Live keys at the current revision; written by the apply thread only. */
    private volatile long liveKeys;
    /** Replaced by restore; closed by close. */
    private volatile Compactor compactor;
    private StoreWriteTxn openTxn;
    private boolean closed;

    private MvccStoreImpl(MvccBackend backend) {
        this.backend = backend;
    }

    /** Opens a store over {@code backend}, recovering its state and resuming an unfinished compaction. */
    public static MvccStoreImpl open(MvccBackend backend) {
        MvccStoreImpl store = new MvccStoreImpl(Objects.requireNonNull(backend));
        Bookkeeping.State state = Bookkeeping.read(backend);
        if (state.restoreInterrupted()) {
            // half an image is neither the old store nor the new one: start empty, so Raft (applied index
            // NONE) installs a snapshot again
            backend.clear();
            state = Bookkeeping.State.EMPTY;
        }
        store.recover(state);
        return store;
    }

    private void recover(Bookkeeping.State state) {
        currentRevision = state.currentRevision();
        compactRevision = state.compactRevision();
        appliedIndex = state.applied();
        liveKeys = countLiveKeys(state.currentRevision());
        compactor = new Compactor(backend, commitLock, historyLock.writeLock(), state.compactFinished(),
                Compactor.DEFAULT_BATCH_KEYS);
        if (state.compactFinished() < state.compactRevision()) {
            compactor.schedule(state.compactRevision());
        }
    }

    private long countLiveKeys(long revision) {
        long[] n = {0};
        LiveScan.committed(backend, revision).scan(KeyInterval.FIRST_KEY, KeyInterval.OPEN_END, kv -> {
            n[0]++;
            return true;
        });
        return n[0];
    }

    @Override
    public long currentRevision() {
        return currentRevision;
    }

    @Override
    public long compactRevision() {
        return compactRevision;
    }

    @Override
    public AppliedIndex appliedIndex() {
        return appliedIndex;
    }

    // ---- reads ----

    @Override
    public RangeResult range(RangeQuery q) {
        historyLock.readLock().lock();
        try {
            long current = currentRevision;
            long rev = validRevision(q.revision(), current);
            return RangeEvaluator.evaluate(q, LiveScan.committed(backend, rev), current);
        } finally {
            historyLock.readLock().unlock();
        }
    }

    @Override
    public KeyValue get(byte[] key) {
        historyLock.readLock().lock();
        try {
            StoredVersion v = backend.latest(key, currentRevision);
            return v == null || v.tombstone() ? null : v.kv();
        } finally {
            historyLock.readLock().unlock();
        }
    }

    @Override
    public List<Event> events(long fromRevision, long toRevision, int maxRevisions, boolean withPrevKv) {
        historyLock.readLock().lock();
        try {
            long compact = compactRevision;
            if (fromRevision < compact) {
                throw new MvccException.Compacted(compact);
            }
            long to = Math.min(toRevision, currentRevision);
            return HistoryReader.events(backend, fromRevision, to, maxRevisions, withPrevKv, compact);
        } finally {
            historyLock.readLock().unlock();
        }
    }

    @Override
    public HashResult hashKv(long revision) {
        historyLock.readLock().lock();
        try {
            long rev = validRevision(revision, currentRevision);
            long compact = compactRevision;
            return new HashResult(KvHasher.hash(backend, rev, compact), compact, rev);
        } finally {
            historyLock.readLock().unlock();
        }
    }

    /** etcd's revision rules for reads: <= 0 is current, above current is future, below compact is gone. */
    private long validRevision(long requested, long current) {
        long rev = requested <= 0 ? current : requested;
        if (rev > current) {
            throw new MvccException.FutureRevision();
        }
        // read after the history lock is held: a compaction published later cannot remove what rev needs
        long compact = compactRevision;
        if (rev < compact) {
            throw new MvccException.Compacted(compact);
        }
        return rev;
    }

    /** @throws IllegalArgumentException for keys starting with byte 0x00 (reserved for the store) */
    @Override
    public byte[] getMeta(byte[] key) {
        Bookkeeping.checkApplicationKey(key);
        return backend.getMeta(key);
    }

    /** Application metadata only: the store's bookkeeping entries (prefix 0x00) are never visited. */
    @Override
    public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
        backend.scanMeta(prefix, (k, v) -> {
            if (!Bookkeeping.isReserved(k)) {
                visitor.accept(k, v);
            }
        });
    }

    @Override
    public StoreStats stats() {
        return new StoreStats(backend.sizeBytes(), backend.sizeInUseBytes(), liveKeys);
    }

    // ---- writes (apply thread) ----

    @Override
    public MvccWriteTxn beginWrite() {
        if (openTxn != null) {
            throw new IllegalStateException("a write transaction is already open");
        }
        openTxn = new StoreWriteTxn(txnHost, backend, currentRevision);
        return openTxn;
    }

    private final class TxnHost implements StoreWriteTxn.Host {
        @Override
        public long compactRevision() {
            return compactRevision;
        }

        @Override
        public void commit(StoreWriteTxn txn, AppliedIndex applied) {
            Objects.requireNonNull(applied, "applied");
            boolean bump = txn.changesKeySpace();
            long revision = bump ? txn.writeRevision() : currentRevision;
            commitLock.lock();
            try (BackendBatch batch = backend.newBatch()) {
                for (StoredVersion v : txn.writes()) {
                    batch.putVersion(v);
                }
                txn.metaChanges().forEach((k, v) -> {
                    if (v == null) {
                        batch.deleteMeta(k);
                    } else {
                        batch.putMeta(k, v);
                    }
                });
                if (bump) {
                    Bookkeeping.putCurrentRevision(batch, revision);
                }
                Bookkeeping.putApplied(batch, applied);
                batch.commit();
            } finally {
                commitLock.unlock();
            }
            liveKeys += txn.liveKeyDelta();
            appliedIndex = applied;
            currentRevision = revision; // publish last: the batch is committed
        }

        @Override
        public void finished(StoreWriteTxn txn) {
            if (openTxn == txn) {
                openTxn = null;
            }
        }
    }

    @Override
    public CompletableFuture<Void> compact(long revision, AppliedIndex applied) {
        Objects.requireNonNull(applied, "applied");
        long compact = compactRevision;
        if (revision <= compact) {
            throw new MvccException.Compacted(compact);
        }
        if (revision > currentRevision) {
            throw new MvccException.FutureRevision();
        }
        commitLock.lock();
        try (BackendBatch batch = backend.newBatch()) {
            Bookkeeping.putCompactRevision(batch, revision);
            Bookkeeping.putApplied(batch, applied);
            batch.commit();
        } finally {
            commitLock.unlock();
        }
        appliedIndex = applied;
        compactRevision = revision; // from here on reads below it fail; removal starts only afterwards
        return compactor.schedule(revision);
    }

    // ---- snapshots ----

    @Override
    public void writeSnapshot(OutputStream out) throws IOException {
        // the shared lock keeps physical removal out of the view too: some engines' views (memory) are
        // only point-in-time for additions
        historyLock.readLock().lock();
        try (MvccBackend.BackendView view = backend.openView()) {
            SnapshotCodec.write(view, out);
        } finally {
            historyLock.readLock().unlock();
        }
    }

    /**
     * Spools the image to a temporary file (java.io.tmpdir) and verifies it completely before touching the
     * store, so a corrupt or truncated image is refused with the old content intact. Pending compaction
     * futures are cancelled; the image's own unfinished compaction (if any) resumes after loading.
     */
    @Override
    public void restore(InputStream in) throws IOException {
        if (openTxn != null) {
            throw new IllegalStateException("cannot restore while a write transaction is open");
        }
        Path spool = Files.createTempFile("metastore-restore-", ".img");
        try {
            try (OutputStream out = Files.newOutputStream(spool)) {
                in.transferTo(out);
            }
            try (InputStream verify = Files.newInputStream(spool)) {
                SnapshotCodec.read(verify, SnapshotCodec.Sink.DISCARD);
            }
            compactor.close();
            historyLock.writeLock().lock();
            try {
                load(spool);
            } finally {
                historyLock.writeLock().unlock();
            }
        } finally {
            Files.deleteIfExists(spool);
        }
    }

    /** Replaces the backend content with a verified image and re-reads all state from it. */
    private void load(Path image) throws IOException {
        backend.clear();
        RestoreLoader loader = new RestoreLoader(backend, commitLock);
        try (InputStream in = Files.newInputStream(image)) {
            SnapshotCodec.read(in, loader);
            loader.finish();
        } catch (IOException | RuntimeException e) {
            // the image was verified, so this is an I/O or engine failure: leave a consistent empty store
            loader.abandon();
            backend.clear();
            recover(Bookkeeping.State.EMPTY);
            throw e;
        }
        recover(Bookkeeping.read(backend));
    }

    // ---- engine pass-through ----

    @Override
    public void defragment() {
        backend.defragment();
    }

    @Override
    public boolean durable() {
        return backend.durable();
    }

    @Override
    public void flush() {
        backend.flush();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        compactor.close();
        backend.close();
    }
}
