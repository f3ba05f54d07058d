package io.metastore.storage.rocksdb;

import io.metastore.storage.Bytes;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.BackendReader;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.MvccBackendFactory;
import io.metastore.storage.spi.StoredVersion;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactRangeOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.DataBlockIndexType;
import org.rocksdb.FlushOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.LRUCache;
import org.rocksdb.LogFile;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * The durable MVCC engine: RocksDB with four column families (see {@link KeyCodec} for the byte layouts).
 * <ul>
 *   <li>{@code current}: user key (raw) -> its newest stored version, tombstones included. Reads at the latest
 *       revision are one point get (bloom filtered) or one bounded iterator over this CF.</li>
 *   <li>{@code history}: {@code esc(key)|~main|~sub} -> version. Newest first per key: "latest version with
 *       main <= R" is one seek.</li>
 *   <li>{@code revision}: {@code main|sub} -> user key, for watch catch-up and hashing in revision order.</li>
 *   <li>{@code meta}: application metadata, raw key -> value.</li>
 * </ul>
 * Invariant (kept atomically by every batch): the {@code current} entry of a key is exactly the newest entry
 * of that key in {@code history}, or absent when the key has no history; so both CFs give the same answer.
 *
 * <p>Durability: each batch is one {@link WriteBatch} written with the WAL on and {@code sync=false}: it
 * survives a process crash (kill -9); power-loss durability comes from the fsynced Raft log.
 *
 * <p>Threading: one writer thread commits batches, any number of readers run concurrently. {@link #close()}
 * waits for in-flight reads and cancels background compaction.
 */
public final class RocksDbBackend implements MvccBackend {

    static {
        RocksDB.loadLibrary();
    }

    /** Opens {@link RocksDbBackend}s with {@link Tuning#DEFAULT}. */
    public static final MvccBackendFactory FACTORY = RocksDbBackend::open;

    static final String CF_CURRENT = "current";
    static final String CF_HISTORY = "history";
    static final String CF_REVISION = "revision";
    static final String CF_META = "meta";

    /** Scan batch size for resolving revision-CF entries to versions (multiGet). */
    private static final int REVISION_SCAN_BATCH = 64;
    /** next() steps tried before seeking past the remaining versions of a key in a history scan. */
    private static final int SKIP_STEPS_BEFORE_SEEK = 2;

    /**
     * Engine knobs. Defaults suit a metadata store with small values on a small machine.
     *
     * @param blockCacheBytes LRU block cache shared by all column families
     * @param backgroundJobs RocksDB flush + compaction threads
     * @param maxLogFileBytes size at which the RocksDB info LOG rolls
     * @param keepLogFiles number of info LOG files kept
     * @param maxTotalWalBytes WAL size that forces a flush of all memtables
     */
    public record Tuning(long blockCacheBytes, int backgroundJobs, long maxLogFileBytes, int keepLogFiles,
                         long maxTotalWalBytes) {
        public static final Tuning DEFAULT = new Tuning(64L << 20, 2, 1L << 20, 3, 64L << 20);
    }

    private final Path dir;
    private final RocksDB db;
    private final ColumnFamilyHandle defaultCf;
    private final ColumnFamilyHandle currentCf;
    private final ColumnFamilyHandle historyCf;
    private final ColumnFamilyHandle revisionCf;
    private final ColumnFamilyHandle metaCf;
    private final List<ColumnFamilyHandle> allCfs;
    /** Native option objects, closed in reverse order after the DB. */
    private final List<AutoCloseable> nativeResources;
    private final WriteOptions writeOptions;
    private final FlushOptions flushOptions;
    private final CompactRangeOptions compactOptions;
    private final ReadCtx live;

    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile boolean closed;
    /**
     * Highest main revision committed (since open/clear), published after the batch is written. Reads at or
     * above it use the current CF; below it, history. Never needed for correctness (see {@link ReadCtx}).
     */
    private volatile long maxMain;
    private final Set<ReadCtx> openViews = ConcurrentHashMap.newKeySet();
    private final ExecutorService background;
    private final AtomicReference<CompletableFuture<Void>> queuedDefrag = new AtomicReference<>();
    private static final long WAL_SIZE_REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Cached WAL size (benign races: any recent value will do). */
    private volatile long walBytes;
    private volatile long walBytesAt = System.nanoTime() - WAL_SIZE_REFRESH_NANOS;

    public static RocksDbBackend open(Path dir) {
        return open(dir, Tuning.DEFAULT);
    }

    public static RocksDbBackend open(Path dir, Tuning tuning) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<AutoCloseable> res = new ArrayList<>();
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try {
            LRUCache cache = track(res, new LRUCache(tuning.blockCacheBytes()));
            BloomFilter bloom = track(res, new BloomFilter(10));

            DBOptions dbo = track(res, new DBOptions()
                    .setCreateIfMissing(true)
                    .setCreateMissingColumnFamilies(true)
                    .setAtomicFlush(true)
                    .setMaxBackgroundJobs(Math.max(2, tuning.backgroundJobs()))
                    .setMaxSubcompactions(1)
                    .setMaxTotalWalSize(tuning.maxTotalWalBytes())
                    .setBytesPerSync(1L << 20)
                    .setKeepLogFileNum(tuning.keepLogFiles())
                    .setMaxLogFileSize(tuning.maxLogFileBytes())
                    .setRecycleLogFileNum(0)
                    .setInfoLogLevel(InfoLogLevel.INFO_LEVEL)
                    .setStatsDumpPeriodSec(0)
                    .setStatsPersistPeriodSec(0)
                    .setAvoidUnnecessaryBlockingIO(true));

            ColumnFamilyOptions defaultOpts = track(res, new ColumnFamilyOptions());
            ColumnFamilyOptions currentOpts = track(res, cfOptions(cache, bloom, 4 << 10, 16L << 20, true));
            ColumnFamilyOptions historyOpts = track(res, cfOptions(cache, null, 16 << 10, 32L << 20, false));
            ColumnFamilyOptions revisionOpts = track(res, cfOptions(cache, null, 16 << 10, 16L << 20, false));
            ColumnFamilyOptions metaOpts = track(res, cfOptions(cache, bloom, 4 << 10, 8L << 20, true));

            List<ColumnFamilyDescriptor> descriptors = List.of(
                    new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, defaultOpts),
                    new ColumnFamilyDescriptor(CF_CURRENT.getBytes(StandardCharsets.UTF_8), currentOpts),
                    new ColumnFamilyDescriptor(CF_HISTORY.getBytes(StandardCharsets.UTF_8), historyOpts),
                    new ColumnFamilyDescriptor(CF_REVISION.getBytes(StandardCharsets.UTF_8), revisionOpts),
                    new ColumnFamilyDescriptor(CF_META.getBytes(StandardCharsets.UTF_8), metaOpts));
            RocksDB db = RocksDB.open(dbo, dir.toAbsolutePath().toString(), descriptors, handles);
            return new RocksDbBackend(dir, db, handles, res);
        } catch (RocksDBException | RuntimeException e) {
            for (ColumnFamilyHandle h : handles) h.close();
            closeAll(res);
            if (e instanceof RuntimeException re) throw re;
            throw new IllegalStateException("cannot open RocksDB in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static ColumnFamilyOptions cfOptions(LRUCache cache, BloomFilter bloom, long blockSize,
                                                 long writeBuffer, boolean pointLookups) {
        BlockBasedTableConfig table = new BlockBasedTableConfig()
                .setBlockCache(cache)
                .setBlockSize(blockSize)
                .setCacheIndexAndFilterBlocks(true)
                .setCacheIndexAndFilterBlocksWithHighPriority(true)
                .setPinL0FilterAndIndexBlocksInCache(true)
                .setFormatVersion(6);
        if (bloom != null) {
            table.setFilterPolicy(bloom).setWholeKeyFiltering(true).setOptimizeFiltersForMemory(true);
        }
        if (pointLookups) {
            table.setDataBlockIndexType(DataBlockIndexType.kDataBlockBinaryAndHash);
        }
        ColumnFamilyOptions o = new ColumnFamilyOptions()
                .setTableFormatConfig(table)
                .setWriteBufferSize(writeBuffer)
                .setMaxWriteBufferNumber(3)
                .setLevelCompactionDynamicLevelBytes(true)
                .setTargetFileSizeBase(32L << 20)
                .setMaxBytesForLevelBase(128L << 20)
                // L0/L1 are hot and small: uncompressed; LZ4 below; the bottommost level (most of the data) ZSTD
                .setCompressionPerLevel(List.of(CompressionType.NO_COMPRESSION, CompressionType.NO_COMPRESSION,
                        CompressionType.LZ4_COMPRESSION, CompressionType.LZ4_COMPRESSION,
                        CompressionType.LZ4_COMPRESSION, CompressionType.LZ4_COMPRESSION,
                        CompressionType.LZ4_COMPRESSION))
                .setBottommostCompressionType(CompressionType.ZSTD_COMPRESSION);
        if (pointLookups) {
            o.setMemtableWholeKeyFiltering(true).setMemtablePrefixBloomSizeRatio(0.05);
        }
        return o;
    }

    private RocksDbBackend(Path dir, RocksDB db, List<ColumnFamilyHandle> handles, List<AutoCloseable> res) {
        this.dir = dir;
        this.db = db;
        this.defaultCf = handles.get(0);
        this.currentCf = handles.get(1);
        this.historyCf = handles.get(2);
        this.revisionCf = handles.get(3);
        this.metaCf = handles.get(4);
        this.allCfs = List.copyOf(handles);
        this.writeOptions = track(res, new WriteOptions().setSync(false).setDisableWAL(false));
        this.flushOptions = track(res, new FlushOptions().setWaitForFlush(true));
        this.compactOptions = track(res, new CompactRangeOptions()
                .setExclusiveManualCompaction(false)
                .setAllowWriteStall(false)
                .setBottommostLevelCompaction(CompactRangeOptions.BottommostLevelCompaction.kForceOptimized));
        this.live = new ReadCtx(null, track(res, new ReadOptions()), -1);
        this.nativeResources = res;
        this.background = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "rocksdb-defrag-" + dir.getFileName());
            t.setDaemon(true);
            return t;
        });
        this.maxMain = loadMaxMain();
    }

    private long loadMaxMain() {
        try (RocksIterator it = db.newIterator(revisionCf)) {
            it.seekToLast();
            return it.isValid() ? KeyCodec.revisionMain(it.key()) : 0;
        }
    }

    public Path dir() {
        return dir;
    }

    // =========================================================================================== reads

    /** Which column family answers "latest version <= R" reads; tests force each to prove they agree. */
    enum ReadPath { AUTO, CURRENT, HISTORY }

    @Override
    public StoredVersion latest(byte[] key, long atRevision) {
        return live.latest(key, atRevision, ReadPath.AUTO);
    }

    @Override
    public void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor) {
        live.scanLatest(start, end, atRevision, visitor, ReadPath.AUTO);
    }

    StoredVersion latest(byte[] key, long atRevision, ReadPath path) {
        return live.latest(key, atRevision, path);
    }

    void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor, ReadPath path) {
        live.scanLatest(start, end, atRevision, visitor, path);
    }

    @Override
    public void scanKeyHistory(byte[] key, long maxRevision, Predicate<StoredVersion> visitor) {
        live.scanKeyHistory(key, maxRevision, visitor);
    }

    @Override
    public void scanRevisions(long fromRevision, long toRevision, Predicate<StoredVersion> visitor) {
        live.scanRevisions(fromRevision, toRevision, visitor);
    }

    @Override
    public byte[] getMeta(byte[] key) {
        return live.getMeta(key);
    }

    @Override
    public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
        live.scanMeta(prefix, visitor);
    }

    /**
     * Reads against either the live DB ({@code snapshot == null}) or a pinned snapshot (a view). Iterators get
     * their own ReadOptions (bounds are per iterator); point gets share {@link #pointRead}.
     */
    private final class ReadCtx implements BackendView {
        final Snapshot snapshot;
        final ReadOptions pointRead;
        /**
         * For views: {@link #maxMain} read just after the snapshot was taken. Like the live value it is only a
         * hint for choosing the column family: a current-CF answer newer than the requested revision is
         * always re-resolved in history, so a stale hint costs speed, never correctness.
         */
        final long fixedMaxMain;
        /** Views only: guards release of the snapshot against reads in flight on other threads. */
        final ReentrantReadWriteLock viewLock;
        boolean released;

        ReadCtx(Snapshot snapshot, ReadOptions pointRead, long fixedMaxMain) {
            this.snapshot = snapshot;
            this.pointRead = pointRead;
            this.fixedMaxMain = fixedMaxMain;
            this.viewLock = snapshot == null ? null : new ReentrantReadWriteLock();
        }

        long maxMain() {
            return snapshot == null ? maxMain : fixedMaxMain;
        }

        void enter() {
            lifecycle.readLock().lock();
            if (closed) {
                lifecycle.readLock().unlock();
                throw new IllegalStateException("RocksDB backend is closed: " + dir);
            }
            if (viewLock != null) {
                viewLock.readLock().lock();
                if (released) {
                    viewLock.readLock().unlock();
                    lifecycle.readLock().unlock();
                    throw new IllegalStateException("view is closed");
                }
            }
        }

        void exit() {
            if (viewLock != null) viewLock.readLock().unlock();
            lifecycle.readLock().unlock();
        }

        /** ReadOptions for one iterator; the caller closes it (and the slices) after the iterator. */
        ReadOptions iterOptions(Slice lower, Slice upper) {
            ReadOptions ro = new ReadOptions();
            if (snapshot != null) ro.setSnapshot(snapshot);
            if (lower != null) ro.setIterateLowerBound(lower);
            if (upper != null) ro.setIterateUpperBound(upper);
            return ro;
        }

        /** Use the current CF when atRevision is at or above every committed revision (the common case). */
        boolean useCurrent(long atRevision, ReadPath path) {
            return path == ReadPath.CURRENT || (path == ReadPath.AUTO && atRevision >= maxMain());
        }

        @Override
        public StoredVersion latest(byte[] key, long atRevision) {
            return latest(key, atRevision, ReadPath.AUTO);
        }

        @Override
        public void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor) {
            scanLatest(start, end, atRevision, visitor, ReadPath.AUTO);
        }

        StoredVersion latest(byte[] key, long atRevision, ReadPath path) {
            if (atRevision <= 0) return null;
            enter();
            try {
                if (useCurrent(atRevision, path)) {
                    byte[] v = db.get(currentCf, pointRead, key);
                    if (v == null) return null; // no current entry = no history at all
                    StoredVersion sv = KeyCodec.decodeValue(key, v);
                    if (sv.main() <= atRevision) return sv;
                    // a batch newer than atRevision committed since maxMain was read: fall back to history
                }
                try (Slice upper = new Slice(KeyCodec.historyKeyUpperBound(key));
                     ReadOptions ro = iterOptions(null, upper);
                     RocksIterator it = db.newIterator(historyCf, ro)) {
                    it.seek(KeyCodec.historySeekKey(key, atRevision));
                    if (!it.isValid()) {
                        it.status();
                        return null;
                    }
                    return KeyCodec.decodeValue(key, it.value());
                }
            } catch (RocksDBException e) {
                throw failure("latest", e);
            } finally {
                exit();
            }
        }

        void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor, ReadPath path) {
            if (end == null || end.length == 0) {
                StoredVersion sv = latest(start, atRevision, path);
                if (sv != null) visitor.test(sv);
                return;
            }
            boolean open = Bytes.isOpenEnd(end);
            if (atRevision <= 0 || (!open && Bytes.compare(end, start) <= 0)) return;
            enter();
            try {
                if (useCurrent(atRevision, path)) {
                    scanLatestCurrent(start, open ? null : end, atRevision, visitor);
                } else {
                    scanLatestHistory(start, open ? null : end, atRevision, visitor);
                }
            } catch (RocksDBException e) {
                throw failure("scanLatest", e);
            } finally {
                exit();
            }
        }

        /** One iterator over the live keys; entries newer than atRevision (a racing commit) resolved in history. */
        private void scanLatestCurrent(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor)
                throws RocksDBException {
            RocksIterator hist = null;
            ReadOptions histRo = null;
            try (Slice lower = new Slice(start);
                 Slice upper = end == null ? null : new Slice(end);
                 ReadOptions ro = iterOptions(lower, upper);
                 RocksIterator it = db.newIterator(currentCf, ro)) {
                for (it.seek(start); it.isValid(); it.next()) {
                    byte[] key = it.key();
                    StoredVersion sv = KeyCodec.decodeValue(key, it.value());
                    if (sv.main() > atRevision) {
                        if (hist == null) {
                            histRo = iterOptions(null, null);
                            hist = db.newIterator(historyCf, histRo);
                        }
                        sv = seekHistory(hist, key, atRevision);
                        if (sv == null) continue;
                    }
                    if (!visitor.test(sv)) return;
                }
                it.status();
            } finally {
                if (hist != null) hist.close();
                if (histRo != null) histRo.close();
            }
        }

        private StoredVersion seekHistory(RocksIterator hist, byte[] key, long atRevision) throws RocksDBException {
            hist.seek(KeyCodec.historySeekKey(key, atRevision));
            if (!hist.isValid()) {
                hist.status();
                return null;
            }
            byte[] found = hist.key();
            byte[] esc = KeyCodec.escaped(key);
            if (!KeyCodec.sameUserKey(found, esc, esc.length)) return null;
            return KeyCodec.decodeValue(key, hist.value());
        }

        /** Per key: skip versions newer than atRevision by one seek, emit the first older one, skip the rest. */
        private void scanLatestHistory(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor)
                throws RocksDBException {
            byte[] lo = KeyCodec.escaped(start);
            try (Slice lower = new Slice(lo);
                 Slice upper = end == null ? null : new Slice(KeyCodec.escaped(end));
                 ReadOptions ro = iterOptions(lower, upper);
                 RocksIterator it = db.newIterator(historyCf, ro)) {
                it.seek(lo);
                while (it.isValid()) {
                    byte[] k = it.key();
                    int escLen = KeyCodec.escLenOfHistoryKey(k);
                    if (KeyCodec.historyMain(k) > atRevision) {
                        it.seek(KeyCodec.historySeekKeyFromPrefix(k, escLen, atRevision));
                        if (!it.isValid()) break;
                        byte[] k2 = it.key();
                        if (!KeyCodec.sameUserKey(k2, k, escLen)) continue; // key has nothing <= atRevision
                        k = k2;
                    }
                    if (!visitor.test(KeyCodec.decodeValue(KeyCodec.unescape(k, escLen), it.value()))) return;
                    // skip the older versions of this key: a few next() steps, then one seek
                    int steps = 0;
                    it.next();
                    while (it.isValid() && KeyCodec.sameUserKey(it.key(), k, escLen)) {
                        if (++steps >= SKIP_STEPS_BEFORE_SEEK) {
                            it.seek(KeyCodec.nextUserKeySeek(k, escLen));
                            break;
                        }
                        it.next();
                    }
                }
                it.status();
            }
        }

        @Override
        public void scanKeyHistory(byte[] key, long maxRevision, Predicate<StoredVersion> visitor) {
            if (maxRevision <= 0) return;
            enter();
            try (Slice upper = new Slice(KeyCodec.historyKeyUpperBound(key));
                 ReadOptions ro = iterOptions(null, upper);
                 RocksIterator it = db.newIterator(historyCf, ro)) {
                for (it.seek(KeyCodec.historySeekKey(key, maxRevision)); it.isValid(); it.next()) {
                    if (!visitor.test(KeyCodec.decodeValue(key, it.value()))) return;
                }
                it.status();
            } catch (RocksDBException e) {
                throw failure("scanKeyHistory", e);
            } finally {
                exit();
            }
        }

        @Override
        public void scanRevisions(long fromRevision, long toRevision, Predicate<StoredVersion> visitor) {
            long from = Math.max(0, fromRevision);
            if (toRevision < from) return;
            enter();
            try (Slice lower = new Slice(KeyCodec.revisionKey(from, 0));
                 Slice upper = toRevision == Long.MAX_VALUE ? null
                         : new Slice(KeyCodec.revisionKey(toRevision + 1, 0));
                 ReadOptions ro = iterOptions(lower, upper);
                 RocksIterator it = db.newIterator(revisionCf, ro)) {
                List<byte[]> userKeys = new ArrayList<>(REVISION_SCAN_BATCH);
                List<byte[]> historyKeys = new ArrayList<>(REVISION_SCAN_BATCH);
                List<ColumnFamilyHandle> cfs = new ArrayList<>(REVISION_SCAN_BATCH);
                it.seek(KeyCodec.revisionKey(from, 0));
                int batchNo = 0;
                boolean more = true;
                while (more) {
                    userKeys.clear();
                    historyKeys.clear();
                    cfs.clear();
                    // batches grow (1, 2, 4 ... 64) so a visitor that stops early wastes little
                    int limit = Math.min(REVISION_SCAN_BATCH, 1 << Math.min(6, batchNo++));
                    while (it.isValid() && userKeys.size() < limit) {
                        byte[] rk = it.key();
                        byte[] uk = it.value();
                        userKeys.add(uk);
                        historyKeys.add(KeyCodec.historyKey(uk, KeyCodec.revisionMain(rk), KeyCodec.revisionSub(rk)));
                        cfs.add(historyCf);
                        it.next();
                    }
                    if (userKeys.isEmpty()) break;
                    more = it.isValid();
                    List<byte[]> values = userKeys.size() == 1
                            ? Collections.singletonList(db.get(historyCf, pointRead, historyKeys.get(0)))
                            : db.multiGetAsList(pointRead, cfs, historyKeys);
                    for (int i = 0; i < values.size(); i++) {
                        byte[] v = values.get(i);
                        if (v == null) continue; // removed by a concurrent compaction batch
                        if (!visitor.test(KeyCodec.decodeValue(userKeys.get(i), v))) return;
                    }
                }
                it.status();
            } catch (RocksDBException e) {
                throw failure("scanRevisions", e);
            } finally {
                exit();
            }
        }

        @Override
        public byte[] getMeta(byte[] key) {
            enter();
            try {
                return db.get(metaCf, pointRead, key);
            } catch (RocksDBException e) {
                throw failure("getMeta", e);
            } finally {
                exit();
            }
        }

        @Override
        public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
            byte[] hi = KeyCodec.prefixUpperBound(prefix);
            enter();
            try (Slice lower = new Slice(prefix);
                 Slice upper = hi == null ? null : new Slice(hi);
                 ReadOptions ro = iterOptions(lower, upper);
                 RocksIterator it = db.newIterator(metaCf, ro)) {
                for (it.seek(prefix); it.isValid(); it.next()) {
                    visitor.accept(it.key(), it.value());
                }
                it.status();
            } catch (RocksDBException e) {
                throw failure("scanMeta", e);
            } finally {
                exit();
            }
        }

        /** Closes a view: releases its snapshot. Idempotent. */
        @Override
        public void close() {
            if (snapshot == null) return; // the live context is closed with the backend
            if (viewLock.getReadHoldCount() > 0) {
                throw new IllegalStateException("a view cannot be closed from inside one of its own reads");
            }
            lifecycle.readLock().lock();
            try {
                viewLock.writeLock().lock();
                try {
                    if (released) return;
                    openViews.remove(this);
                    if (!closed) releaseNative();
                } finally {
                    viewLock.writeLock().unlock();
                }
            } finally {
                lifecycle.readLock().unlock();
            }
        }

        /** Caller holds the view's write lock or the backend's write lock. */
        void releaseNative() {
            if (released) return;
            released = true;
            pointRead.close();
            db.releaseSnapshot(snapshot);
        }
    }

    // =========================================================================================== views

    /** A RocksDB snapshot plus ReadOptions pinned to it; {@link BackendView#close()} releases both. */
    @Override
    public BackendView openView() {
        lifecycle.readLock().lock();
        try {
            checkOpen();
            Snapshot snap = db.getSnapshot();
            // read after the snapshot; only a hint for choosing the current CF (reads re-check every revision)
            long hint = maxMain;
            ReadCtx view = new ReadCtx(snap, new ReadOptions().setSnapshot(snap), hint);
            openViews.add(view);
            return view;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    // =========================================================================================== writes

    @Override
    public BackendBatch newBatch() {
        checkOpen();
        return new Batch();
    }

    /** What a batch knows about one key's {@code current} entry. */
    private static final class KeyState {
        /** Newest version (committed or in this batch); null = none. */
        StoredVersion current;
        /** Encoded {@link #current} when it was put by this batch (saves re-encoding). */
        byte[] currentEncoded;
        /** The current entry must be rewritten at commit. */
        boolean dirty;
        /** The current version was removed: find the newest remaining version at commit. */
        boolean recompute;
    }

    private static int compareRevision(long main, long sub, StoredVersion v) {
        int c = Long.compare(main, v.main());
        return c != 0 ? c : Long.compare(sub, v.sub());
    }

    /**
     * One {@link WriteBatch}. History and revision entries are written as they come; the {@code current}
     * entries are derived at commit (newest version per key) so the batch stays atomic across all CFs.
     * Puts newer than everything committed (the normal apply path) need no read; other cases read the
     * current entry once per key and batch.
     */
    private final class Batch implements BackendBatch {
        private final WriteBatch wb = new WriteBatch();
        private final Map<ByteBuffer, KeyState> keys = new HashMap<>();
        private final List<StoredVersion> puts = new ArrayList<>();
        /** History keys removed by this batch (only allocated by removeVersion). */
        private Set<ByteBuffer> removed;
        private long maxPutMain;
        private boolean done;

        private void checkUsable() {
            if (done) throw new IllegalStateException("batch already committed or closed");
        }

        @Override
        public void putVersion(StoredVersion v) {
            checkUsable();
            byte[] key = v.key();
            long main = v.main();
            long sub = v.sub();
            byte[] hk = KeyCodec.historyKey(key, main, sub);
            byte[] enc = KeyCodec.encodeValue(v);
            try {
                wb.put(historyCf, hk, enc);
                wb.put(revisionCf, KeyCodec.revisionKey(main, sub), key);
            } catch (RocksDBException e) {
                throw failure("putVersion", e);
            }
            puts.add(v);
            if (removed != null) removed.remove(ByteBuffer.wrap(hk));
            if (main > maxPutMain) maxPutMain = main;
            ByteBuffer bk = ByteBuffer.wrap(key);
            KeyState st = keys.get(bk);
            if (st == null) {
                st = new KeyState();
                keys.put(bk, st);
                if (main > maxMain) { // newer than anything committed: no read needed
                    st.current = v;
                    st.currentEncoded = enc;
                    st.dirty = true;
                    return;
                }
                st.current = loadCurrent(key);
            }
            if (st.recompute) {
                return; // resolved at commit, this put included
            }
            if (st.current == null || compareRevision(main, sub, st.current) >= 0) {
                st.current = v;
                st.currentEncoded = enc;
                st.dirty = true;
            }
        }

        @Override
        public void removeVersion(byte[] key, long main, long sub) {
            checkUsable();
            byte[] hk = KeyCodec.historyKey(key, main, sub);
            try {
                wb.delete(historyCf, hk);
                wb.delete(revisionCf, KeyCodec.revisionKey(main, sub));
            } catch (RocksDBException e) {
                throw failure("removeVersion", e);
            }
            if (removed == null) removed = new HashSet<>();
            removed.add(ByteBuffer.wrap(hk));
            ByteBuffer bk = ByteBuffer.wrap(key);
            KeyState st = keys.get(bk);
            if (st == null) {
                st = new KeyState();
                st.current = loadCurrent(key);
                keys.put(bk, st);
            }
            if (!st.recompute && st.current != null && st.current.main() == main && st.current.sub() == sub) {
                st.current = null;
                st.currentEncoded = null;
                st.recompute = true;
                st.dirty = true;
            }
        }

        @Override
        public void putMeta(byte[] key, byte[] value) {
            checkUsable();
            try {
                wb.put(metaCf, key, value);
            } catch (RocksDBException e) {
                throw failure("putMeta", e);
            }
        }

        @Override
        public void deleteMeta(byte[] key) {
            checkUsable();
            try {
                wb.delete(metaCf, key);
            } catch (RocksDBException e) {
                throw failure("deleteMeta", e);
            }
        }

        @Override
        public void commit() {
            checkUsable();
            done = true;
            try {
                live.enter();
            } catch (RuntimeException e) {
                wb.close();
                throw e;
            }
            try {
                Map<ByteBuffer, List<StoredVersion>> putsByKey = null;
                for (Map.Entry<ByteBuffer, KeyState> e : keys.entrySet()) {
                    KeyState st = e.getValue();
                    if (!st.dirty) continue;
                    byte[] key = e.getKey().array();
                    if (st.recompute) {
                        if (putsByKey == null) putsByKey = groupPutsByKey();
                        st.current = newestRemaining(key, putsByKey.getOrDefault(e.getKey(), List.of()));
                        st.currentEncoded = null;
                    }
                    if (st.current == null) {
                        wb.delete(currentCf, key);
                    } else {
                        wb.put(currentCf, key,
                                st.currentEncoded != null ? st.currentEncoded : KeyCodec.encodeValue(st.current));
                    }
                }
                if (wb.count() > 0) {
                    db.write(writeOptions, wb);
                }
                if (maxPutMain > maxMain) maxMain = maxPutMain; // publish only after the write
            } catch (RocksDBException e) {
                throw failure("commit", e);
            } finally {
                live.exit();
                wb.close();
            }
        }

        @Override
        public void close() {
            if (!done) {
                done = true;
                wb.close();
            }
        }

        private StoredVersion loadCurrent(byte[] key) {
            live.enter();
            try {
                byte[] v = db.get(currentCf, live.pointRead, key);
                return v == null ? null : KeyCodec.decodeValue(key, v);
            } catch (RocksDBException e) {
                throw failure("read current", e);
            } finally {
                live.exit();
            }
        }

        private Map<ByteBuffer, List<StoredVersion>> groupPutsByKey() {
            Map<ByteBuffer, List<StoredVersion>> m = new HashMap<>();
            for (StoredVersion p : puts) {
                m.computeIfAbsent(ByteBuffer.wrap(p.key()), k -> new ArrayList<>(2)).add(p);
            }
            return m;
        }

        private boolean isRemoved(byte[] historyKey) {
            return removed != null && removed.contains(ByteBuffer.wrap(historyKey));
        }

        /** Newest version of key after this batch: committed history minus removals, plus this batch's puts. */
        private StoredVersion newestRemaining(byte[] key, List<StoredVersion> pending) throws RocksDBException {
            StoredVersion best = null;
            try (Slice upper = new Slice(KeyCodec.historyKeyUpperBound(key));
                 ReadOptions ro = new ReadOptions().setIterateUpperBound(upper);
                 RocksIterator it = db.newIterator(historyCf, ro)) {
                for (it.seek(KeyCodec.escaped(key)); it.isValid(); it.next()) {
                    if (!isRemoved(it.key())) {
                        best = KeyCodec.decodeValue(key, it.value());
                        break;
                    }
                }
                it.status();
            }
            for (StoredVersion p : pending) { // in put order: a later put of the same revision wins
                if (isRemoved(KeyCodec.historyKey(key, p.main(), p.sub()))) continue;
                if (best == null || compareRevision(p.main(), p.sub(), best) >= 0) best = p;
            }
            return best;
        }
    }

    // =========================================================================================== maintenance

    /**
     * SST files + memtables of every column family + WAL files. SST and memtable sizes are in-memory
     * properties read on every call; the WAL part needs file I/O ({@code getSortedWalFiles} reads each WAL's
     * header), so it is refreshed at most every {@link #WAL_SIZE_REFRESH_NANOS}: the store calls this often.
     */
    @Override
    public long sizeBytes() {
        live.enter();
        try {
            return db.getAggregatedLongProperty("rocksdb.total-sst-files-size")
                    + db.getAggregatedLongProperty("rocksdb.cur-size-all-mem-tables")
                    + walBytes();
        } catch (RocksDBException e) {
            throw failure("sizeBytes", e);
        } finally {
            live.exit();
        }
    }

    private long walBytes() throws RocksDBException {
        long now = System.nanoTime();
        if (now - walBytesAt < WAL_SIZE_REFRESH_NANOS) {
            return walBytes;
        }
        long total = 0;
        for (LogFile wal : db.getSortedWalFiles()) {
            total += wal.sizeFileBytes();
        }
        walBytes = total;
        walBytesAt = now;
        return total;
    }

    /** RocksDB's estimate of live SST data plus memtables, over every column family. */
    @Override
    public long sizeInUseBytes() {
        live.enter();
        try {
            return db.getAggregatedLongProperty("rocksdb.estimate-live-data-size")
                    + db.getAggregatedLongProperty("rocksdb.cur-size-all-mem-tables");
        } catch (RocksDBException e) {
            throw failure("sizeInUseBytes", e);
        } finally {
            live.exit();
        }
    }

    /** RocksDB's estimate of the number of keys in the current-state CF (live keys plus tombstones). */
    public long estimateCurrentKeys() {
        live.enter();
        try {
            return db.getLongProperty(currentCf, "rocksdb.estimate-num-keys");
        } catch (RocksDBException e) {
            throw failure("estimateCurrentKeys", e);
        } finally {
            live.exit();
        }
    }

    /**
     * Schedules a full compaction of every column family on the background thread and returns immediately
     * (it never blocks readers or writers: the compaction is non-exclusive and avoids write stalls).
     */
    @Override
    public void defragment() {
        defragmentAsync();
    }

    /**
     * Like {@link #defragment()}, returning a future completed when the compaction finished (cancelled if the
     * backend closes first). A request made while another is still queued joins it.
     */
    public CompletableFuture<Void> defragmentAsync() {
        checkOpen();
        while (true) {
            CompletableFuture<Void> queued = queuedDefrag.get();
            if (queued != null) return queued;
            CompletableFuture<Void> f = new CompletableFuture<>();
            if (queuedDefrag.compareAndSet(null, f)) {
                try {
                    background.execute(() -> runDefragment(f));
                } catch (RejectedExecutionException e) {
                    queuedDefrag.compareAndSet(f, null);
                    f.cancel(false);
                }
                return f;
            }
        }
    }

    private void runDefragment(CompletableFuture<Void> f) {
        queuedDefrag.compareAndSet(f, null); // from now on, new requests queue another run
        lifecycle.readLock().lock();
        try {
            if (closed) {
                f.cancel(false);
                return;
            }
            for (ColumnFamilyHandle cf : allCfs) {
                if (closed) break;
                db.compactRange(cf, null, null, compactOptions);
            }
            if (closed) f.cancel(false);
            else f.complete(null);
        } catch (RocksDBException | RuntimeException e) {
            if (closed) f.cancel(false);
            else f.completeExceptionally(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Flushes the memtables of every column family (one atomic flush) and waits for it. */
    @Override
    public void flush() {
        live.enter();
        try {
            db.flush(flushOptions, allCfs);
        } catch (RocksDBException e) {
            throw failure("flush", e);
        } finally {
            live.exit();
        }
    }

    @Override
    public boolean durable() {
        return true;
    }

    /**
     * Removes everything in one atomic batch (a range delete per column family), then schedules a background
     * compaction to reclaim the space. Open views keep seeing the old content.
     */
    @Override
    public void clear() {
        live.enter();
        try (WriteBatch wb = new WriteBatch()) {
            for (ColumnFamilyHandle cf : List.of(currentCf, historyCf, revisionCf, metaCf, defaultCf)) {
                byte[] first;
                byte[] last;
                try (RocksIterator it = db.newIterator(cf)) {
                    it.seekToFirst();
                    if (!it.isValid()) {
                        it.status();
                        continue;
                    }
                    first = it.key();
                    it.seekToLast();
                    last = it.key();
                    it.status();
                }
                if (Arrays.compareUnsigned(first, last) < 0) wb.deleteRange(cf, first, last);
                wb.delete(cf, last);
            }
            if (wb.count() > 0) db.write(writeOptions, wb);
            maxMain = 0;
        } catch (RocksDBException e) {
            throw failure("clear", e);
        } finally {
            live.exit();
        }
        defragmentAsync();
    }

    /**
     * Cancels background compaction, waits for reads in flight, releases open views, then closes column
     * families, the DB and every native option object. Idempotent.
     */
    @Override
    public void close() {
        if (lifecycle.getReadHoldCount() > 0) {
            throw new IllegalStateException("the backend cannot be closed from inside one of its own reads");
        }
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        compactOptions.setCanceled(true);
        CompletableFuture<Void> queued = queuedDefrag.getAndSet(null);
        if (queued != null) queued.cancel(false);
        background.shutdown();
        // stops a running manual compaction promptly (setCanceled alone only takes effect between steps);
        // a write stalled on a flush fails with ShutdownInProgress instead of waiting
        db.cancelAllBackgroundWork(false);
        RuntimeException failure = null;
        lifecycle.writeLock().lock(); // waits for reads and commits in flight and the cancelled compaction
        try {
            for (ReadCtx view : openViews) {
                view.releaseNative();
            }
            openViews.clear();
            db.cancelAllBackgroundWork(true);
            for (ColumnFamilyHandle h : allCfs) {
                h.close();
            }
            try {
                db.closeE();
            } catch (RocksDBException e) {
                failure = failure("close", e);
            }
            closeAll(nativeResources);
        } finally {
            lifecycle.writeLock().unlock();
        }
        try {
            background.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) throw failure;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("RocksDB backend is closed: " + dir);
    }

    private UncheckedIOException failure(String op, RocksDBException e) {
        return new UncheckedIOException(new IOException("RocksDB " + op + " failed in " + dir + ": "
                + e.getMessage(), e));
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> resources, T resource) {
        resources.add(resource);
        return resource;
    }

    private static void closeAll(List<AutoCloseable> resources) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception ignored) {
                // best effort: native handles of options
            }
        }
        resources.clear();
    }
}
