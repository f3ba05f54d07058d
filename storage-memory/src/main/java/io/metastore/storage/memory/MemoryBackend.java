package io.metastore.storage.memory;

import io.metastore.storage.Bytes;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * An in-memory engine: nothing survives the process, durability comes from the Raft log and snapshot
 * images. Readers never lock: keys and revisions live in concurrent skip lists and each key's history is
 * a copy-on-write array, so a reader sees each committed version entirely or not at all.
 *
 * <p>Views ({@link #openView}) copy the metadata and hide versions above the newest revision committed at
 * open time; they do not hide later {@link BackendBatch#removeVersion removals}, which the store keeps
 * out of a snapshot by holding its history lock while it writes one.
 */
public final class MemoryBackend implements MvccBackend {
    /** Rough per-entry overhead of the maps and records, so sizes track memory use, not just payload. */
    private static final long VERSION_OVERHEAD = 160;
    private static final long META_OVERHEAD = 64;

    private final ConcurrentSkipListMap<byte[], KeyHistory> keys = new ConcurrentSkipListMap<>(Arrays::compareUnsigned);
    private final ConcurrentSkipListMap<RevisionKey, StoredVersion> revisions = new ConcurrentSkipListMap<>(RevisionKey.ORDER);
    private final ConcurrentSkipListMap<byte[], byte[]> meta = new ConcurrentSkipListMap<>(Arrays::compareUnsigned);
    /** Serializes batch commits, clear and view creation: views must not see half a batch. */
    private final Object writeLock = new Object();
    private volatile long maxCommittedMain;
    private volatile long sizeBytes;
    private volatile boolean closed;

    public static MemoryBackend open() {
        return new MemoryBackend();
    }

    // ---- reads ----

    @Override
    public StoredVersion latest(byte[] key, long atRevision) {
        KeyHistory h = keys.get(key);
        return h == null ? null : h.latest(atRevision);
    }

    @Override
    public void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor) {
        if (end == null || end.length == 0) {
            StoredVersion v = latest(start, atRevision);
            if (v != null) {
                visitor.test(v);
            }
            return;
        }
        for (KeyHistory h : slice(start, end).values()) {
            StoredVersion v = h.latest(atRevision);
            if (v != null && !visitor.test(v)) {
                return;
            }
        }
    }

    private NavigableMap<byte[], KeyHistory> slice(byte[] start, byte[] end) {
        if (Bytes.isOpenEnd(end)) {
            return keys.tailMap(start, true);
        }
        if (Bytes.compare(start, end) >= 0) {
            return Collections.emptyNavigableMap();
        }
        return keys.subMap(start, true, end, false);
    }

    @Override
    public void scanKeyHistory(byte[] key, long maxRevision, Predicate<StoredVersion> visitor) {
        KeyHistory h = keys.get(key);
        if (h == null) {
            return;
        }
        StoredVersion[] vs = h.versions();
        for (int i = KeyHistory.lastIndexAtOrBelow(vs, maxRevision); i >= 0; i--) {
            if (!visitor.test(vs[i])) {
                return;
            }
        }
    }

    @Override
    public void scanRevisions(long fromRevision, long toRevision, Predicate<StoredVersion> visitor) {
        if (fromRevision > toRevision) {
            return;
        }
        NavigableMap<RevisionKey, StoredVersion> window = toRevision == Long.MAX_VALUE
                ? revisions.tailMap(RevisionKey.first(fromRevision), true)
                : revisions.subMap(RevisionKey.first(fromRevision), true, RevisionKey.first(toRevision + 1), false);
        for (StoredVersion v : window.values()) {
            if (!visitor.test(v)) {
                return;
            }
        }
    }

    @Override
    public byte[] getMeta(byte[] key) {
        return meta.get(key);
    }

    @Override
    public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
        scanPrefix(meta, prefix, visitor);
    }

    static void scanPrefix(NavigableMap<byte[], byte[]> map, byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
        for (Map.Entry<byte[], byte[]> e : map.tailMap(prefix, true).entrySet()) {
            if (!startsWith(e.getKey(), prefix)) {
                return;
            }
            visitor.accept(e.getKey(), e.getValue());
        }
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    // ---- writes ----

    @Override
    public BackendBatch newBatch() {
        checkOpen();
        return new Batch();
    }

    /** Buffers operations; commit applies them in order under the write lock. */
    private final class Batch implements BackendBatch {
        private final List<Runnable> ops = new ArrayList<>();
        private boolean done;

        @Override
        public void putVersion(StoredVersion v) {
            check();
            ops.add(() -> applyPut(v));
        }

        @Override
        public void removeVersion(byte[] key, long main, long sub) {
            check();
            ops.add(() -> applyRemove(key, main, sub));
        }

        @Override
        public void putMeta(byte[] key, byte[] value) {
            check();
            ops.add(() -> {
                byte[] old = meta.put(key, value);
                sizeBytes += metaSize(key, value) - (old == null ? 0 : metaSize(key, old));
            });
        }

        @Override
        public void deleteMeta(byte[] key) {
            check();
            ops.add(() -> {
                byte[] old = meta.remove(key);
                if (old != null) {
                    sizeBytes -= metaSize(key, old);
                }
            });
        }

        @Override
        public void commit() {
            check();
            checkOpen();
            done = true;
            synchronized (writeLock) {
                ops.forEach(Runnable::run);
            }
            ops.clear();
        }

        @Override
        public void close() {
            done = true;
            ops.clear();
        }

        private void check() {
            if (done) {
                throw new IllegalStateException("batch already committed or closed");
            }
        }
    }

    private void applyPut(StoredVersion v) {
        KeyHistory h = keys.computeIfAbsent(v.key(), k -> new KeyHistory());
        StoredVersion old = h.put(v);
        revisions.put(new RevisionKey(v.main(), v.sub(), v.key()), v);
        sizeBytes += versionSize(v) - (old == null ? 0 : versionSize(old));
        if (v.main() > maxCommittedMain) {
            maxCommittedMain = v.main();
        }
    }

    private void applyRemove(byte[] key, long main, long sub) {
        KeyHistory h = keys.get(key);
        StoredVersion old = h == null ? null : h.remove(main, sub);
        if (old == null) {
            return;
        }
        revisions.remove(new RevisionKey(main, sub, key));
        sizeBytes -= versionSize(old);
        if (h.isEmpty()) {
            keys.remove(key, h); // safe: only the writer adds to a history
        }
    }

    private static long versionSize(StoredVersion v) {
        return VERSION_OVERHEAD + v.key().length + v.kv().value().length;
    }

    private static long metaSize(byte[] key, byte[] value) {
        return META_OVERHEAD + key.length + value.length;
    }

    // ---- engine ----

    @Override
    public BackendView openView() {
        checkOpen();
        synchronized (writeLock) {
            return new MemoryView(this, maxCommittedMain, new TreeMap<>(meta));
        }
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    /** Memory is returned as soon as a version is removed, so everything held is in use. */
    @Override
    public long sizeInUseBytes() {
        return sizeBytes;
    }

    @Override
    public void defragment() {
        // nothing to reclaim: removed entries are garbage-collected
    }

    @Override
    public void flush() {
        // nothing is durable in this engine
    }

    @Override
    public boolean durable() {
        return false;
    }

    @Override
    public void clear() {
        synchronized (writeLock) {
            keys.clear();
            revisions.clear();
            meta.clear();
            maxCommittedMain = 0;
            sizeBytes = 0;
        }
    }

    @Override
    public void close() {
        closed = true;
        clear();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("memory backend closed");
        }
    }

    @Override
    public String toString() {
        return "MemoryBackend{keys=" + keys.size() + ", versions=" + revisions.size() + ", meta=" + meta.size()
                + ", bytes=" + sizeBytes + "}";
    }
}
