package io.metastore.storage.rocksdb;

import io.metastore.storage.Bytes;
import io.metastore.storage.KeyValue;
import io.metastore.storage.rocksdb.RocksDbBackend.ReadPath;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.MvccBackend.BackendView;
import io.metastore.storage.spi.StoredVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SPI-level tests of the RocksDB engine (the MVCC rules on top are tested by the contract suites). */
class RocksDbBackendTest {

    private static final byte[] OPEN_END = {0};
    private static final byte[] EMPTY = KeyValue.EMPTY;

    /** Binary keys that stress the composite encoding: 0x00, 0xFF, prefixes of each other, the empty key. */
    private static final byte[][] TRICKY_KEYS = {
            {}, {0}, {0, 0}, {0, 0, 0}, {0, 1}, {0, (byte) 0xFF}, {0, (byte) 0xFF, 0}, {1}, {1, 0}, {1, 0, 0},
            b("a"), b("a\0"), b("a\0\0"), b("a\0b"), b("a\u0001"), b("ab"), b("abc"), b("b"),
            {(byte) 0x7F}, {(byte) 0x80}, {(byte) 0xFE, (byte) 0xFF}, {(byte) 0xFF}, {(byte) 0xFF, 0},
            {(byte) 0xFF, 0, 0}, {(byte) 0xFF, (byte) 0xFF}, {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF},
    };

    @TempDir
    Path dir;

    private RocksDbBackend backend;

    @BeforeEach
    void open() {
        backend = RocksDbBackend.open(dir.resolve("db"));
    }

    @AfterEach
    void close() {
        backend.close();
    }

    // ------------------------------------------------------------------------------------------ helpers

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static StoredVersion version(byte[] key, String value, long main, long sub, long create, long ver, long lease) {
        return new StoredVersion(new KeyValue(key, b(value), create, main, ver, lease), sub, false);
    }

    static StoredVersion version(byte[] key, String value, long main) {
        return version(key, value, main, 0, main, 1, 0);
    }

    static void commit(MvccBackend backend, Consumer<BackendBatch> body) {
        try (BackendBatch batch = backend.newBatch()) {
            body.accept(batch);
            batch.commit();
        }
    }

    static List<StoredVersion> scanLatest(RocksDbBackend b, byte[] start, byte[] end, long rev, ReadPath path) {
        List<StoredVersion> out = new ArrayList<>();
        b.scanLatest(start, end, rev, v -> out.add(v), path);
        return out;
    }

    static List<StoredVersion> scanLatest(io.metastore.storage.spi.BackendReader r, byte[] start, byte[] end, long rev) {
        List<StoredVersion> out = new ArrayList<>();
        r.scanLatest(start, end, rev, v -> out.add(v));
        return out;
    }

    static List<StoredVersion> history(io.metastore.storage.spi.BackendReader r, byte[] key, long max) {
        List<StoredVersion> out = new ArrayList<>();
        r.scanKeyHistory(key, max, v -> out.add(v));
        return out;
    }

    static List<StoredVersion> revisions(io.metastore.storage.spi.BackendReader r, long from, long to) {
        List<StoredVersion> out = new ArrayList<>();
        r.scanRevisions(from, to, v -> out.add(v));
        return out;
    }

    static List<String> metaKeys(io.metastore.storage.spi.BackendReader r, byte[] prefix) {
        List<String> out = new ArrayList<>();
        r.scanMeta(prefix, (k, v) -> out.add(new String(k, StandardCharsets.ISO_8859_1)));
        return out;
    }

    /** Reference model: every version of every key, in revision order. */
    static final class Model {
        final TreeMap<byte[], List<StoredVersion>> versions = new TreeMap<>(Arrays::compareUnsigned);

        void add(StoredVersion v) {
            versions.computeIfAbsent(v.key(), k -> new ArrayList<>()).add(v);
        }

        StoredVersion latest(byte[] key, long rev) {
            List<StoredVersion> vs = versions.get(key);
            if (vs == null) return null;
            for (int i = vs.size() - 1; i >= 0; i--) {
                if (vs.get(i).main() <= rev) return vs.get(i);
            }
            return null;
        }

        List<StoredVersion> scanLatest(byte[] start, byte[] end, long rev) {
            List<StoredVersion> out = new ArrayList<>();
            for (byte[] k : versions.keySet()) {
                if (!Bytes.inRange(k, start, end)) continue;
                StoredVersion v = latest(k, rev);
                if (v != null) out.add(v);
            }
            return out;
        }
    }

    // ------------------------------------------------------------------------------------------ encoding

    @Test
    void compositeKeysSortByUserKeyThenNewestRevisionFirst() {
        long[] mains = {1, 2, 255, 256, 1L << 40, Long.MAX_VALUE};
        long[] subs = {0, 1, 300};
        record Entry(byte[] key, long main, long sub, byte[] encoded) {}
        List<Entry> entries = new ArrayList<>();
        for (byte[] k : TRICKY_KEYS) {
            for (long m : mains) {
                for (long s : subs) {
                    entries.add(new Entry(k, m, s, KeyCodec.historyKey(k, m, s)));
                }
            }
        }
        for (Entry x : entries) {
            // round trip
            int escLen = KeyCodec.escLenOfHistoryKey(x.encoded);
            assertArrayEquals(x.key, KeyCodec.unescape(x.encoded, escLen));
            assertEquals(x.main, KeyCodec.historyMain(x.encoded));
            assertEquals(x.sub, KeyCodec.historySub(x.encoded));
            assertEquals(KeyCodec.escapedLength(x.key), escLen);
            for (Entry y : entries) {
                int expected = Arrays.compareUnsigned(x.key, y.key);
                if (expected == 0) expected = -Long.compare(x.main, y.main); // newest first
                if (expected == 0) expected = -Long.compare(x.sub, y.sub);
                assertEquals(Integer.signum(expected), Integer.signum(Arrays.compareUnsigned(x.encoded, y.encoded)),
                        () -> Arrays.toString(x.key) + "@" + x.main + "." + x.sub + " vs " + Arrays.toString(y.key)
                                + "@" + y.main + "." + y.sub);
            }
        }
        // bounds: esc(k) < every entry of k < upperBound(k) <= every entry of every greater key
        for (byte[] k : TRICKY_KEYS) {
            byte[] lower = KeyCodec.escaped(k);
            byte[] upper = KeyCodec.historyKeyUpperBound(k);
            for (Entry y : entries) {
                int c = Arrays.compareUnsigned(y.key, k);
                if (c == 0) {
                    assertTrue(Arrays.compareUnsigned(lower, y.encoded) < 0);
                    assertTrue(Arrays.compareUnsigned(y.encoded, upper) < 0);
                } else if (c > 0) {
                    assertTrue(Arrays.compareUnsigned(upper, y.encoded) < 0);
                    assertTrue(Arrays.compareUnsigned(KeyCodec.escaped(y.key), lower) > 0);
                } else {
                    assertTrue(Arrays.compareUnsigned(y.encoded, lower) < 0);
                }
            }
        }
        // revision keys sort by (main, sub)
        assertTrue(Arrays.compareUnsigned(KeyCodec.revisionKey(1, 300), KeyCodec.revisionKey(2, 0)) < 0);
        assertTrue(Arrays.compareUnsigned(KeyCodec.revisionKey(255, 0), KeyCodec.revisionKey(256, 0)) < 0);
        assertTrue(Arrays.compareUnsigned(KeyCodec.revisionKey(7, 1), KeyCodec.revisionKey(7, 2)) < 0);
        assertTrue(Arrays.compareUnsigned(KeyCodec.revisionKey(1L << 40, 0), KeyCodec.revisionKey(Long.MAX_VALUE, 0)) < 0);
        // prefix successor
        assertArrayEquals(b("b"), KeyCodec.prefixUpperBound(b("a")));
        assertArrayEquals(new byte[] {1}, KeyCodec.prefixUpperBound(new byte[] {0, (byte) 0xFF}));
        assertNull(KeyCodec.prefixUpperBound(new byte[] {(byte) 0xFF, (byte) 0xFF}));
        assertNull(KeyCodec.prefixUpperBound(EMPTY));
    }

    @Test
    void valueEncodingRoundTrips() {
        byte[] key = {0, 1, 2};
        List<StoredVersion> samples = List.of(
                version(key, "", 1, 0, 1, 1, 0),
                version(key, "value\0with\u00ffbytes", 1L << 40, 70_000, 3, 1_000_000_007L, 0x7E57_1EA5_E000_0001L),
                version(key, "x", Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, -1),
                StoredVersion.tombstone(key, 42, 3),
                new StoredVersion(new KeyValue(key, b("odd"), 5, 9, 2, 77), 1, true));
        for (StoredVersion v : samples) {
            byte[] enc = KeyCodec.encodeValue(v);
            assertEquals(v, KeyCodec.decodeValue(key, enc));
            assertArrayEquals(new long[] {v.main(), v.sub()}, KeyCodec.decodeRevision(enc));
        }
        assertEquals(6 + 1, KeyCodec.encodeValue(version(key, "v", 1, 0, 1, 1, 0)).length, "compact encoding");
    }

    // ------------------------------------------------------------------------------------------ reads

    @Test
    void binaryKeysScanInUnsignedOrderAtEveryRevision() {
        List<byte[]> shuffled = new ArrayList<>(Arrays.asList(TRICKY_KEYS));
        java.util.Collections.shuffle(shuffled, new Random(7));
        long rev = 0;
        Model model = new Model();
        for (byte[] k : shuffled) {
            StoredVersion v = version(k, "v" + rev, ++rev);
            model.add(v);
            commit(backend, batch -> batch.putVersion(v));
        }
        byte[][] sorted = TRICKY_KEYS.clone();
        Arrays.sort(sorted, Arrays::compareUnsigned);
        for (ReadPath path : ReadPath.values()) {
            List<StoredVersion> all = scanLatest(backend, EMPTY, OPEN_END, rev, path);
            assertEquals(sorted.length, all.size());
            for (int i = 0; i < sorted.length; i++) {
                assertArrayEquals(sorted[i], all.get(i).key(), "position " + i + " via " + path);
            }
            for (long r = 0; r <= rev; r++) {
                assertEquals(model.scanLatest(EMPTY, OPEN_END, r), scanLatest(backend, EMPTY, OPEN_END, r, path));
                if (r != 0 && r != rev / 2 && r != rev - 1 && r != rev) continue;
                // intervals whose ends are prefixes of the keys inside
                for (byte[] start : TRICKY_KEYS) {
                    for (byte[] end : new byte[][] {{0, (byte) 0xFF}, b("a\0"), b("ab"), {(byte) 0xFF, 0}, OPEN_END, EMPTY}) {
                        assertEquals(model.scanLatest(start, end, r), scanLatest(backend, start, end, r, path));
                    }
                }
            }
        }
    }

    @Test
    void latestAndScanLatestAgreeWithTheModelOnBothColumnFamilies() {
        Random rnd = new Random(42);
        Model model = new Model();
        Map<String, long[]> live = new HashMap<>(); // key -> {create, version}
        int revisions = 80;
        for (long rev = 1; rev <= revisions; rev++) {
            long r = rev;
            List<StoredVersion> ops = new ArrayList<>();
            List<byte[]> used = new ArrayList<>();
            int n = 1 + rnd.nextInt(3);
            for (int sub = 0; sub < n; sub++) {
                byte[] k = TRICKY_KEYS[rnd.nextInt(TRICKY_KEYS.length)];
                if (used.stream().anyMatch(u -> Arrays.equals(u, k))) continue;
                used.add(k);
                String id = Arrays.toString(k);
                long[] st = live.get(id);
                StoredVersion v;
                if (st != null && rnd.nextInt(4) == 0) {
                    v = StoredVersion.tombstone(k, r, ops.size());
                    live.remove(id);
                } else {
                    if (st == null) live.put(id, st = new long[] {r, 0});
                    st[1]++;
                    v = version(k, "v" + r + "." + ops.size(), r, ops.size(), st[0], st[1], rnd.nextInt(3));
                }
                ops.add(v);
                model.add(v);
            }
            commit(backend, batch -> ops.forEach(batch::putVersion));
        }
        byte[][] starts = {EMPTY, {0}, b("a"), b("a\0"), {(byte) 0xFF}};
        byte[][] ends = {OPEN_END, EMPTY, {0, (byte) 0xFF}, b("ab"), b("b"), {(byte) 0xFF, (byte) 0xFF}};
        for (long r = 0; r <= revisions + 1; r++) {
            for (ReadPath path : ReadPath.values()) {
                for (byte[] k : TRICKY_KEYS) {
                    assertEquals(model.latest(k, r), backend.latest(k, r, path), "latest " + Arrays.toString(k) + "@" + r + " " + path);
                }
                for (byte[] s : starts) {
                    for (byte[] e : ends) {
                        assertEquals(model.scanLatest(s, e, r), scanLatest(backend, s, e, r, path), "scan@" + r + " " + path);
                    }
                }
                // early stop
                List<StoredVersion> two = new ArrayList<>();
                backend.scanLatest(EMPTY, OPEN_END, r, v -> two.add(v) && two.size() < 2, path);
                List<StoredVersion> expected = model.scanLatest(EMPTY, OPEN_END, r);
                assertEquals(expected.subList(0, Math.min(2, expected.size())), two);
            }
        }
        // the public (AUTO) methods and a view agree as well
        try (BackendView view = backend.openView()) {
            for (long r = 0; r <= revisions; r += 7) {
                assertEquals(model.scanLatest(EMPTY, OPEN_END, r), scanLatest(view, EMPTY, OPEN_END, r));
                assertEquals(model.scanLatest(EMPTY, OPEN_END, r), scanLatest((io.metastore.storage.spi.BackendReader) backend, EMPTY, OPEN_END, r));
                for (byte[] k : TRICKY_KEYS) {
                    assertEquals(model.latest(k, r), view.latest(k, r));
                }
            }
        }
    }

    @Test
    void scanKeyHistoryIsNewestFirst() {
        byte[] k = b("a\0");
        byte[] neighbour = b("a"); // a prefix of k: must never show up in k's history
        commit(backend, batch -> {
            batch.putVersion(version(neighbour, "n1", 1));
            batch.putVersion(version(k, "k1", 1, 1, 1, 1, 0));
        });
        commit(backend, batch -> batch.putVersion(version(k, "k2", 2, 0, 1, 2, 0)));
        commit(backend, batch -> batch.putVersion(version(b("a\0\0"), "other", 3)));
        commit(backend, batch -> {
            batch.putVersion(version(k, "k4a", 4, 0, 1, 3, 0));
            batch.putVersion(StoredVersion.tombstone(k, 4, 1));
        });
        commit(backend, batch -> batch.putVersion(version(k, "k5", 5, 0, 5, 1, 0)));

        List<StoredVersion> all = history(backend, k, Long.MAX_VALUE);
        assertEquals(List.of(5L, 4L, 4L, 2L, 1L), all.stream().map(StoredVersion::main).toList());
        assertEquals(List.of(0L, 1L, 0L, 0L, 1L), all.stream().map(StoredVersion::sub).toList());
        assertTrue(all.get(1).tombstone());
        assertEquals(List.of(4L, 4L, 2L, 1L), history(backend, k, 4).stream().map(StoredVersion::main).toList());
        assertEquals(List.of(2L, 1L), history(backend, k, 3).stream().map(StoredVersion::main).toList());
        assertEquals(List.of(), history(backend, k, 0));
        assertEquals(List.of(), history(backend, b("zzz"), 10));
        assertEquals(List.of(1L), history(backend, neighbour, 10).stream().map(StoredVersion::main).toList());
        List<StoredVersion> first = new ArrayList<>();
        backend.scanKeyHistory(k, 10, v -> first.add(v) && false);
        assertEquals(List.of(all.get(0)), first);
    }

    @Test
    void scanRevisionsIsInMainSubOrder() {
        // 150 revisions of up to 3 subs, keys written in an order unrelated to their revision
        Random rnd = new Random(3);
        List<StoredVersion> written = new ArrayList<>();
        for (long rev = 1; rev <= 150; rev++) {
            long r = rev;
            int subs = 1 + rnd.nextInt(3);
            List<StoredVersion> ops = new ArrayList<>();
            for (int s = 0; s < subs; s++) {
                ops.add(version(b("k" + rnd.nextInt(1000) + "/" + r + "/" + s), "v", r, s, r, 1, 0));
            }
            written.addAll(ops);
            java.util.Collections.reverse(ops); // put order inside the batch does not matter
            commit(backend, batch -> ops.forEach(batch::putVersion));
        }
        assertEquals(written, revisions(backend, 1, 150));
        assertEquals(written, revisions(backend, 0, Long.MAX_VALUE));
        List<StoredVersion> mid = written.stream().filter(v -> v.main() >= 40 && v.main() <= 100).toList();
        assertEquals(mid, revisions(backend, 40, 100));
        assertEquals(List.of(), revisions(backend, 151, 200));
        assertEquals(List.of(), revisions(backend, 50, 49));
        List<StoredVersion> firstFive = new ArrayList<>();
        backend.scanRevisions(1, 150, v -> firstFive.add(v) && firstFive.size() < 5);
        assertEquals(written.subList(0, 5), firstFive);
    }

    @Test
    void removeVersionCompactsHistoryAndKeepsCurrentConsistentWithHistory() {
        byte[] k = b("k");
        byte[] j = b("j");
        commit(backend, batch -> batch.putVersion(version(k, "k1", 1)));
        commit(backend, batch -> batch.putVersion(version(j, "j2", 2)));
        commit(backend, batch -> batch.putVersion(version(k, "k3", 3, 0, 1, 2, 0)));
        commit(backend, batch -> batch.putVersion(version(j, "j4", 4, 0, 2, 2, 0)));
        commit(backend, batch -> batch.putVersion(StoredVersion.tombstone(k, 5, 0)));

        // etcd-style compaction at 3: k@1 superseded
        commit(backend, batch -> batch.removeVersion(k, 1, 0));
        assertEquals(List.of(5L, 3L), history(backend, k, 10).stream().map(StoredVersion::main).toList());
        assertEquals(List.of(2L, 3L, 4L, 5L), revisions(backend, 1, 10).stream().map(StoredVersion::main).toList());
        for (ReadPath p : ReadPath.values()) {
            assertNull(backend.latest(k, 2, p));
            assertTrue(backend.latest(k, 10, p).tombstone());
        }

        // compaction at 5 removes the tombstone (k's current entry) and everything older of k
        commit(backend, batch -> {
            batch.removeVersion(k, 5, 0);
            batch.removeVersion(k, 3, 0);
        });
        assertEquals(List.of(), history(backend, k, 10));
        for (ReadPath p : ReadPath.values()) {
            assertNull(backend.latest(k, 10, p));
            assertEquals(List.of("j"), scanLatest(backend, EMPTY, OPEN_END, 10, p).stream().map(v -> new String(v.key(), StandardCharsets.ISO_8859_1)).toList());
        }
        assertEquals(List.of(2L, 4L), revisions(backend, 1, 10).stream().map(StoredVersion::main).toList());

        // removing j's newest version (unusual, but the engine must stay consistent): current falls back to j@2
        commit(backend, batch -> batch.removeVersion(j, 4, 0));
        for (ReadPath p : ReadPath.values()) {
            assertEquals(version(j, "j2", 2), backend.latest(j, 10, p));
            assertEquals(List.of(version(j, "j2", 2)), scanLatest(backend, EMPTY, OPEN_END, 10, p));
        }

        // put and remove of the same version inside one batch, then put again
        byte[] m = b("m");
        commit(backend, batch -> {
            batch.putVersion(version(m, "m6", 6));
            batch.putVersion(version(m, "m7", 7, 0, 6, 2, 0));
            batch.removeVersion(m, 7, 0);
        });
        assertEquals(version(m, "m6", 6), backend.latest(m, 10, ReadPath.CURRENT));
        assertEquals(version(m, "m6", 6), backend.latest(m, 10, ReadPath.HISTORY));
        commit(backend, batch -> {
            batch.removeVersion(m, 6, 0);
            batch.putVersion(version(m, "m8", 8, 0, 8, 1, 0));
        });
        assertEquals(version(m, "m8", 8), backend.latest(m, 10, ReadPath.CURRENT));
        assertEquals(List.of(8L), history(backend, m, 10).stream().map(StoredVersion::main).toList());

        // removing a version that does not exist is harmless
        commit(backend, batch -> batch.removeVersion(b("nope"), 1, 0));
        assertNull(backend.latest(b("nope"), 10));
    }

    @Test
    void olderVersionsWrittenLaterDoNotReplaceTheCurrentOne() {
        // a restore may write versions in any order, across several batches
        byte[] k = b("k");
        commit(backend, batch -> batch.putVersion(version(k, "k5", 5)));
        commit(backend, batch -> {
            batch.putVersion(version(k, "k3", 3));
            batch.putVersion(version(k, "k4", 4));
        });
        for (ReadPath p : ReadPath.values()) {
            assertEquals(version(k, "k5", 5), backend.latest(k, 10, p));
            assertEquals(version(k, "k4", 4), backend.latest(k, 4, p));
        }
        commit(backend, batch -> {
            batch.putVersion(version(k, "k9", 9));
            batch.putVersion(version(k, "k7", 7));
        });
        assertEquals(version(k, "k9", 9), backend.latest(k, 10, ReadPath.CURRENT));
        assertEquals(List.of(9L, 7L, 5L, 4L, 3L), history(backend, k, 10).stream().map(StoredVersion::main).toList());
    }

    @Test
    void metaPutGetDeleteAndPrefixScans() {
        byte[][] keys = {b("a"), b("a/1"), b("a/2"), b("a0"), b("b"), {(byte) 0xFF}, {(byte) 0xFF, 0},
                {(byte) 0xFF, (byte) 0xFF}, {0}};
        commit(backend, batch -> {
            for (byte[] k : keys) batch.putMeta(k, Arrays.copyOf(k, k.length + 1));
        });
        assertArrayEquals(new byte[] {'a', '/', '1', 0}, backend.getMeta(b("a/1")));
        assertNull(backend.getMeta(b("a/3")));
        assertEquals(List.of("a/1", "a/2"), metaKeys(backend, b("a/")));
        assertEquals(List.of("a", "a/1", "a/2", "a0"), metaKeys(backend, b("a")));
        assertEquals(List.of("\u00ff", "\u00ff\0", "\u00ff\u00ff"), metaKeys(backend, new byte[] {(byte) 0xFF}));
        assertEquals(List.of("\u00ff\u00ff"), metaKeys(backend, new byte[] {(byte) 0xFF, (byte) 0xFF}));
        assertEquals(9, metaKeys(backend, EMPTY).size());
        assertEquals("\0", metaKeys(backend, EMPTY).get(0));
        commit(backend, batch -> {
            batch.deleteMeta(b("a/1"));
            batch.putMeta(b("a/2"), b("new"));
        });
        assertNull(backend.getMeta(b("a/1")));
        assertArrayEquals(b("new"), backend.getMeta(b("a/2")));
        assertEquals(List.of("a/2"), metaKeys(backend, b("a/")));
    }

    // ------------------------------------------------------------------------------------------ views, batches

    @Test
    void viewSeesExactlyTheBatchesCommittedBeforeIt() {
        byte[] k = b("k");
        commit(backend, batch -> {
            batch.putVersion(version(k, "k1", 1));
            batch.putMeta(b("m"), b("1"));
        });
        BackendView view = backend.openView();
        commit(backend, batch -> {
            batch.putVersion(version(k, "k2", 2, 0, 1, 2, 0));
            batch.putVersion(version(b("new"), "n", 2, 1, 2, 1, 0));
            batch.putMeta(b("m"), b("2"));
            batch.putMeta(b("m2"), b("x"));
        });
        commit(backend, batch -> batch.removeVersion(k, 1, 0));

        assertEquals(version(k, "k1", 1), view.latest(k, Long.MAX_VALUE));
        assertEquals(version(k, "k1", 1), view.latest(k, 2));
        assertEquals(List.of(version(k, "k1", 1)), scanLatest(view, EMPTY, OPEN_END, 5));
        assertEquals(List.of(version(k, "k1", 1)), history(view, k, 5));
        assertEquals(List.of(version(k, "k1", 1)), revisions(view, 0, 5));
        assertArrayEquals(b("1"), view.getMeta(b("m")));
        assertEquals(List.of("m"), metaKeys(view, b("m")));

        backend.clear();
        assertEquals(List.of(version(k, "k1", 1)), scanLatest(view, EMPTY, OPEN_END, 5), "clear() after the view");
        assertNull(backend.latest(k, 5));

        view.close();
        view.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> view.latest(k, 1));
    }

    @Test
    void batchClosedWithoutCommitWritesNothing() {
        try (BackendBatch batch = backend.newBatch()) {
            batch.putVersion(version(b("k"), "v", 1));
            batch.putMeta(b("m"), b("v"));
        }
        assertNull(backend.latest(b("k"), 1));
        assertNull(backend.getMeta(b("m")));
        assertEquals(List.of(), revisions(backend, 0, 10));
        BackendBatch committed = backend.newBatch();
        committed.putVersion(version(b("k"), "v", 1));
        committed.commit();
        assertThrows(IllegalStateException.class, () -> committed.putMeta(b("m"), b("v")));
        assertThrows(IllegalStateException.class, committed::commit);
        committed.close();
    }

    @Test
    void concurrentReadersOnlyEverSeeWholeCommittedRevisions() throws Exception {
        int revisions = 400;
        int keys = 10;
        AtomicLong published = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable reader = () -> {
            try {
                while (!done.get()) {
                    long r = published.get();
                    // at revision r, key i holds the value of the newest rev <= r with rev % keys == i
                    List<StoredVersion> all = new ArrayList<>();
                    backend.scanLatest(b("k"), b("l"), r, all::add);
                    assertEquals(Math.min(r, keys), all.size());
                    for (StoredVersion v : all) {
                        assertTrue(v.main() <= r && v.main() > r - keys, () -> v + " at " + r);
                    }
                    StoredVersion one = backend.latest(b("k" + (r % keys)), r);
                    if (r > 0) assertEquals(r, one.main());
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        };
        Thread t1 = new Thread(reader);
        Thread t2 = new Thread(reader);
        t1.start();
        t2.start();
        for (long rev = 1; rev <= revisions; rev++) {
            long r = rev;
            commit(backend, batch -> batch.putVersion(version(b("k" + (r % keys)), "v" + r, r)));
            published.set(r);
        }
        done.set(true);
        t1.join();
        t2.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
    }

    // ------------------------------------------------------------------------------------------ durability

    @Test
    void reopenAfterCloseKeepsEverything() {
        Model model = new Model();
        for (long rev = 1; rev <= 30; rev++) {
            StoredVersion v = rev % 5 == 0 ? StoredVersion.tombstone(TRICKY_KEYS[(int) (rev % 7)], rev, 0)
                    : version(TRICKY_KEYS[(int) (rev % 7)], "v" + rev, rev);
            model.add(v);
            long r = rev;
            commit(backend, batch -> {
                batch.putVersion(v);
                batch.putMeta(b("applied"), b(Long.toString(r)));
            });
        }
        List<StoredVersion> revs = revisions(backend, 0, Long.MAX_VALUE);
        backend.close();
        backend.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> backend.latest(b("a"), 1));

        backend = RocksDbBackend.open(dir.resolve("db"));
        assertArrayEquals(b("30"), backend.getMeta(b("applied")));
        assertEquals(revs, revisions(backend, 0, Long.MAX_VALUE));
        for (long r = 0; r <= 31; r++) {
            for (ReadPath p : ReadPath.values()) {
                assertEquals(model.scanLatest(EMPTY, OPEN_END, r), scanLatest(backend, EMPTY, OPEN_END, r, p));
            }
        }
        // the committed max revision was recovered: an old version written now must not become current
        byte[] k = TRICKY_KEYS[1];
        commit(backend, batch -> batch.putVersion(version(k, "old", 2, 5, 2, 1, 0)));
        assertEquals(model.latest(k, 31), backend.latest(k, 31, ReadPath.CURRENT));
    }

    /**
     * kill -9 must not lose a committed batch. A child JVM ({@link CrashWriter}) commits batches (WAL on,
     * sync=false) and reports it, never closing or flushing the DB; we SIGKILL it (Process.destroyForcibly)
     * and reopen the same directory here: every committed batch is there, replayed from the WAL.
     */
    @Test
    void committedBatchSurvivesKill9() throws Exception {
        Path crashDir = dir.resolve("crash");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(), crashDir.toString(), "50")
                .redirectErrorStream(true)
                .start();
        StringBuilder output = new StringBuilder();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                output.append(line).append('\n');
                if (line.equals("COMMITTED 50")) break;
            }
            assertTrue(output.toString().contains("COMMITTED 50"), output::toString);
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        assertEquals(137, child.exitValue(), "killed by SIGKILL");
        try (Stream<Path> files = Files.list(crashDir)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".sst")), "nothing was flushed to SST");
        }
        try (RocksDbBackend reopened = RocksDbBackend.open(crashDir)) {
            assertArrayEquals(b("50"), reopened.getMeta(b("applied")));
            assertEquals(50, revisions(reopened, 0, Long.MAX_VALUE).size());
            assertEquals(7, scanLatest(reopened, b("crash/"), b("crash0"), 50).size());
            assertArrayEquals(b("value-49"), reopened.latest(b("crash/0"), 50).kv().value());
        }
    }

    // ------------------------------------------------------------------------------------------ maintenance

    @Test
    void clearRemovesEverythingAndTheBackendStaysUsable() throws Exception {
        for (long rev = 1; rev <= 20; rev++) {
            long r = rev;
            commit(backend, batch -> {
                batch.putVersion(version(TRICKY_KEYS[(int) (r % TRICKY_KEYS.length)], "v", r));
                batch.putMeta(b("m" + r), b("x"));
            });
        }
        backend.clear();
        assertEquals(List.of(), scanLatest(backend, EMPTY, OPEN_END, 100));
        assertEquals(List.of(), revisions(backend, 0, Long.MAX_VALUE));
        assertEquals(List.of(), metaKeys(backend, EMPTY));
        for (byte[] k : TRICKY_KEYS) {
            assertNull(backend.latest(k, 100));
            assertEquals(List.of(), history(backend, k, 100));
        }
        backend.clear(); // clearing an empty store is fine
        // a restore starts again from revision 1
        commit(backend, batch -> batch.putVersion(version(b("k"), "again", 1)));
        assertEquals(version(b("k"), "again", 1), backend.latest(b("k"), 1));
        assertEquals(1, revisions(backend, 0, 10).size());
        backend.defragmentAsync().get(60, TimeUnit.SECONDS);
        assertEquals(version(b("k"), "again", 1), backend.latest(b("k"), 1));
    }

    @Test
    void sizesFlushAndDefragment() throws Exception {
        byte[] value = new byte[200];
        new Random(1).nextBytes(value);
        String v = new String(value, StandardCharsets.ISO_8859_1);
        for (long rev = 1; rev <= 500; rev++) {
            long r = rev;
            commit(backend, batch -> batch.putVersion(version(b("key/" + (r % 50)), v, r)));
        }
        assertTrue(backend.sizeBytes() > 0);
        assertTrue(backend.sizeInUseBytes() > 0);
        backend.flush();
        long afterFlush = backend.sizeBytes();
        assertTrue(afterFlush > 50 * 200, "SST files hold the data: " + afterFlush);
        assertTrue(backend.sizeInUseBytes() > 0);
        try (Stream<Path> files = Files.list(dir.resolve("db"))) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().endsWith(".sst")));
        }
        // compact away everything but the newest version of each key, then defragment
        commit(backend, batch -> {
            for (long rev = 1; rev <= 450; rev++) batch.removeVersion(b("key/" + (rev % 50)), rev, 0);
        });
        backend.flush();
        backend.defragmentAsync().get(60, TimeUnit.SECONDS);
        assertEquals(50, scanLatest(backend, EMPTY, OPEN_END, 500).size());
        assertEquals(50, revisions(backend, 0, 500).size());
        long afterDefrag = backend.sizeBytes();
        assertTrue(afterDefrag < afterFlush, afterDefrag + " < " + afterFlush);
        assertTrue(backend.estimateCurrentKeys() > 0);
        backend.defragment(); // returns immediately; close() cancels whatever is still running
    }

    @Test
    void closeReleasesOpenViewsAndCancelsBackgroundWork() throws Exception {
        for (long rev = 1; rev <= 50; rev++) {
            long r = rev;
            commit(backend, batch -> batch.putVersion(version(b("k" + r), "v", r)));
        }
        BackendView view = backend.openView();
        List<StoredVersion> seen = new ArrayList<>();
        assertThrows(IllegalStateException.class, () -> view.scanLatest(EMPTY, OPEN_END, 50, v -> {
            seen.add(v);
            view.close(); // closing from inside its own read would deadlock: refused
            return true;
        }));
        assertEquals(1, seen.size());
        java.util.concurrent.CompletableFuture<Void> defrag = backend.defragmentAsync();
        backend.close();
        assertTrue(defrag.isDone(), "completed or cancelled by close()");
        assertThrows(IllegalStateException.class, () -> view.latest(b("k1"), 50));
        view.close(); // after the backend: a no-op
        assertThrows(IllegalStateException.class, backend::openView);
        assertThrows(IllegalStateException.class, backend::newBatch);
        backend = RocksDbBackend.open(dir.resolve("db")); // for @AfterEach
        assertEquals(50, revisions(backend, 0, 100).size());
    }

    @Test
    void infoLogStaysSmallAndWalIsOn() throws Exception {
        commit(backend, batch -> batch.putVersion(version(b("k"), "v", 1)));
        try (Stream<Path> files = Files.list(dir.resolve("db"))) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertTrue(names.stream().anyMatch(n -> n.endsWith(".log")), "a WAL file exists: " + names);
            assertTrue(names.stream().filter(n -> n.startsWith("LOG")).count() <= RocksDbBackend.Tuning.DEFAULT.keepLogFiles() + 1);
        }
        assertTrue(backend.durable());
        assertNotNull(RocksDbBackend.FACTORY);
    }
}
