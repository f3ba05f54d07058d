package io.metastore.storage;

import io.metastore.storage.RangeQuery.SortOrder;
import io.metastore.storage.RangeQuery.SortTarget;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Randomized model-based test: thousands of random operations against the store and against a deliberately
 * naive reference model (one full immutable key map per revision plus the list of every version ever
 * written), comparing every answer. The seed is printed on failure; rerun it with
 * {@code -Dmetastore.model.seed=<seed>}.
 */
public abstract class MvccStoreModelTest {

    /** Opens the engine under test in {@code dir} (see {@link MvccStoreContractTest#openBackend}). */
    protected abstract MvccBackend openBackend(Path dir);

    /** Per test; raise with -Dmetastore.model.operations=N for a longer soak. */
    private static final int OPERATIONS = Integer.getInteger("metastore.model.operations", 2500);
    /** Latin-1 keys: one char per byte, so String order equals etcd's unsigned byte order. */
    private static final List<String> KEYS = List.of("a", "ab", "abc", "b", "ba", "c", "d", "da", "e", "f", "\u00ff", "z");

    @TempDir
    Path tmp;
    private final List<MvccStore> stores = new ArrayList<>();

    @AfterEach
    void closeStores() {
        stores.forEach(MvccStore::close);
    }

    @Test
    void randomSeed() {
        run(Long.getLong("metastore.model.seed", System.nanoTime()));
    }

    @Test
    void fixedSeed() {
        run(20240611L);
    }

    private void run(long seed) {
        Runner runner = new Runner(seed);
        try {
            runner.run(OPERATIONS);
        } catch (Throwable t) {
            String msg = "model test failed with seed " + seed + " at operation " + runner.step + " (" + runner.op
                    + "); rerun with -Dmetastore.model.seed=" + seed;
            System.err.println(msg);
            throw new AssertionError(msg, t);
        }
    }

    private MvccStoreImpl newStore() {
        MvccStoreImpl s = MvccStoreImpl.open(openBackend(tmp.resolve("store" + stores.size())));
        stores.add(s);
        return s;
    }

    // ------------------------------------------------------------------------------------------ runner

    private final class Runner {
        final Random rnd;
        final Model model = new Model();
        MvccStoreImpl store = newStore();
        final List<CompletableFuture<Void>> compactions = new ArrayList<>();
        long appliedIndex;
        int step;
        String op = "start";

        Runner(long seed) {
            rnd = new Random(seed);
        }

        void run(int operations) throws Exception {
            for (step = 0; step < operations; step++) {
                int p = rnd.nextInt(100);
                if (p < 18) {
                    writeTxn(1);
                } else if (p < 26) {
                    deleteTxn();
                } else if (p < 44) {
                    writeTxn(1 + rnd.nextInt(6));
                } else if (p < 49) {
                    compact();
                } else if (p < 72) {
                    range();
                } else if (p < 83) {
                    events();
                } else if (p < 89) {
                    hash();
                } else if (p < 93) {
                    get();
                } else if (p < 96) {
                    metaOnly();
                } else if (p < 97) {
                    snapshotRestore();
                } else {
                    awaitCompactions();
                }
            }
            op = "final checks";
            awaitCompactions();
            for (long rev = Math.max(1, model.compact); rev <= model.current(); rev++) {
                checkRange(randomQuery().atRevision(rev));
                long r = rev;
                same(() -> model.hash(r), () -> store.hashKv(r));
            }
        }

        AppliedIndex nextApplied() {
            appliedIndex += 1 + rnd.nextInt(2);
            return new AppliedIndex(1 + appliedIndex / 100, appliedIndex);
        }

        String key() {
            return KEYS.get(rnd.nextInt(KEYS.size()));
        }

        String rangeEnd(String key) {
            return switch (rnd.nextInt(5)) {
                case 0 -> "";
                case 1 -> "\0";
                case 2 -> prefixEnd(key);
                default -> key();   // may be <= key: the empty-range rule
            };
        }

        String value() {
            return rnd.nextInt(10) == 0 ? "" : Integer.toString(rnd.nextInt(1000), 36);
        }

        long revision() {
            long current = model.current();
            return switch (rnd.nextInt(6)) {
                case 0 -> 0;
                case 1 -> current + 1 + rnd.nextInt(2);           // future
                case 2 -> Math.max(1, model.compact - rnd.nextInt(3)); // around the compact revision
                default -> 1 + (long) rnd.nextInt((int) current);
            };
        }

        RangeQuery randomQuery() {
            String key = rnd.nextInt(8) == 0 ? "\0" : key();
            long current = model.current();
            long lo = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt((int) current) : 0;
            long hi = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt((int) current) : 0;
            long clo = rnd.nextInt(5) == 0 ? 1 + rnd.nextInt((int) current) : 0;
            long chi = rnd.nextInt(5) == 0 ? 1 + rnd.nextInt((int) current) : 0;
            return new RangeQuery(bytes(key), bytes(rangeEnd(key)), revision(),
                    rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(5),
                    SortOrder.values()[rnd.nextInt(3)], SortTarget.values()[rnd.nextInt(5)],
                    rnd.nextInt(4) == 0, rnd.nextInt(8) == 0, lo, hi, clo, chi);
        }

        void writeTxn(int ops) {
            op = "write txn of " + ops + " ops";
            Model.Txn expected = model.begin();
            try (MvccWriteTxn actual = store.beginWrite()) {
                for (int i = 0; i < ops; i++) {
                    int kind = rnd.nextInt(10);
                    if (kind < 5) {
                        String k = key();
                        String v = value();
                        long lease = rnd.nextInt(3);
                        op = "txn put " + k;
                        assertEquals(expected.put(k, v, lease), actual.put(bytes(k), bytes(v), lease), op);
                    } else if (kind < 7) {
                        String k = key();
                        String end = rangeEnd(k);
                        op = "txn delete " + k + ".." + end;
                        assertEquals(expected.delete(k, end), actual.deleteRange(bytes(k), bytes(end)), op);
                    } else if (kind < 9) {
                        RangeQuery q = randomQuery();
                        op = "txn range " + describe(q);
                        same(() -> expected.range(q), () -> actual.range(q));
                    } else {
                        String k = key();
                        op = "txn get " + k;
                        assertEquals(expected.get(k), actual.get(bytes(k)), op);
                    }
                }
                if (rnd.nextBoolean()) {
                    String mk = "meta/" + key();
                    if (rnd.nextBoolean()) {
                        expected.putMeta(mk, value());
                        actual.putMeta(bytes(mk), bytes(expected.meta.get(mk)));
                    } else {
                        expected.putMeta(mk, null);
                        actual.deleteMeta(bytes(mk));
                    }
                }
                op = "txn changes";
                assertEquals(expected.changes, actual.changes());
                if (rnd.nextInt(10) == 0) {
                    op = "txn abort";
                    return;
                }
                AppliedIndex applied = nextApplied();
                op = "txn commit";
                actual.commit(applied);
                expected.commit(applied);
            }
            checkState();
        }

        void deleteTxn() {
            String k = rnd.nextInt(4) == 0 ? "\0" : key();
            String end = rnd.nextInt(4) == 0 ? "\0" : rangeEnd(k);
            op = "delete " + k + ".." + end;
            Model.Txn expected = model.begin();
            try (MvccWriteTxn actual = store.beginWrite()) {
                assertEquals(expected.delete(k, end), actual.deleteRange(bytes(k), bytes(end)), op);
                AppliedIndex applied = nextApplied();
                actual.commit(applied);
                expected.commit(applied);
            }
            checkState();
        }

        void metaOnly() {
            op = "meta-only txn";
            Model.Txn expected = model.begin();
            try (MvccWriteTxn actual = store.beginWrite()) {
                String mk = "meta/" + key();
                expected.putMeta(mk, value());
                actual.putMeta(bytes(mk), bytes(expected.meta.get(mk)));
                AppliedIndex applied = nextApplied();
                actual.commit(applied);
                expected.commit(applied);
            }
            checkState();
        }

        void compact() {
            long current = model.current();
            long rev = Math.max(0, model.compact - 1) + rnd.nextInt((int) (current - model.compact) + 3);
            op = "compact " + rev;
            AppliedIndex applied = nextApplied();
            Object expected = outcome(() -> model.compact(rev, applied));
            Object actual = outcome(() -> {
                compactions.add(store.compact(rev, applied));
                return "ok";
            });
            assertEquals(expected, actual, op);
            if (!"ok".equals(expected)) {
                appliedIndex = model.applied.index(); // a refused compaction applies nothing
            }
            checkState();
        }

        void range() {
            RangeQuery q = randomQuery();
            checkRange(q);
        }

        void checkRange(RangeQuery q) {
            op = "range " + describe(q);
            same(() -> model.range(q), () -> store.range(q));
        }

        void get() {
            String k = key();
            op = "get " + k;
            assertEquals(model.states.get((int) model.current()).get(k), store.get(bytes(k)), op);
        }

        void events() {
            long from = Math.max(0, model.compact - 1 + rnd.nextInt((int) (model.current() - model.compact) + 3));
            long to = from - 1 + rnd.nextInt(8);
            int max = rnd.nextInt(4);
            boolean prev = rnd.nextBoolean();
            op = "events " + from + ".." + to + " max " + max + " prevKv " + prev;
            same(() -> model.events(from, to, max, prev), () -> store.events(from, to, max, prev));
        }

        void hash() {
            long rev = rnd.nextInt(3) == 0 ? 0 : revision();
            op = "hash " + rev;
            same(() -> model.hash(rev), () -> store.hashKv(rev));
        }

        void snapshotRestore() throws IOException {
            op = "snapshot and restore";
            ByteArrayOutputStream image = new ByteArrayOutputStream();
            store.writeSnapshot(image);
            MvccStoreImpl target = rnd.nextBoolean() ? store : newStore();
            target.restore(new ByteArrayInputStream(image.toByteArray()));
            if (target != store) {
                store.close();
                store = target;
            }
            compactions.clear(); // the old store's pending compactions were cancelled or are moot
            checkState();
        }

        void awaitCompactions() throws Exception {
            op = "await compactions";
            for (CompletableFuture<Void> f : compactions) {
                try {
                    f.get(20, TimeUnit.SECONDS);
                } catch (CancellationException ignored) {
                    // cancelled by a restore
                }
            }
            compactions.clear();
        }

        void checkState() {
            assertEquals(model.current(), store.currentRevision(), "current revision after " + op);
            assertEquals(model.compact, store.compactRevision(), "compact revision after " + op);
            assertEquals(model.applied, store.appliedIndex(), "applied index after " + op);
            assertEquals(model.states.get((int) model.current()).size(), store.stats().keys(), "live keys after " + op);
            List<String> meta = new ArrayList<>();
            store.scanMeta(bytes("meta/"), (k, v) -> meta.add(string(k) + "=" + string(v)));
            List<String> expectedMeta = new ArrayList<>();
            model.meta.forEach((k, v) -> expectedMeta.add(k + "=" + v));
            assertEquals(expectedMeta, meta, "meta after " + op);
        }

        <T> void same(Supplier<T> expected, Supplier<T> actual) {
            assertEquals(outcome(expected), outcome(actual), op);
        }
    }

    /** A result or the etcd error it stands for, so that both sides compare with equals. */
    private static Object outcome(Supplier<?> s) {
        try {
            return s.get();
        } catch (MvccException.Compacted e) {
            return "Compacted(" + e.compactRevision + ")";
        } catch (MvccException.FutureRevision e) {
            return "FutureRevision";
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String string(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static String prefixEnd(String key) {
        byte[] b = bytes(key);
        for (int i = b.length - 1; i >= 0; i--) {
            if (b[i] != (byte) 0xff) {
                byte[] end = Arrays.copyOf(b, i + 1);
                end[i]++;
                return string(end);
            }
        }
        return "\0";
    }

    static String describe(RangeQuery q) {
        return "[" + string(q.key()) + ", " + string(q.rangeEnd()) + ") rev " + q.revision() + " limit " + q.limit()
                + " " + q.sortOrder() + "/" + q.sortTarget() + (q.keysOnly() ? " keysOnly" : "")
                + (q.countOnly() ? " countOnly" : "") + " mod[" + q.minModRevision() + "," + q.maxModRevision()
                + "] create[" + q.minCreateRevision() + "," + q.maxCreateRevision() + "]";
    }

    // ------------------------------------------------------------------------------------------ model

    /** The naive reference: etcd's rules written as directly as possible, no cleverness, no sharing with main code. */
    static final class Model {
        /** states.get(r) = every live key at revision r (index 0 unused; revision 1 is the empty store). */
        final List<NavigableMap<String, KeyValue>> states = new ArrayList<>(List.of(new TreeMap<>(), new TreeMap<>()));
        /** Every version ever written, in (main, sub) order. */
        final List<StoredVersion> history = new ArrayList<>();
        final NavigableMap<String, String> meta = new TreeMap<>();
        long compact;
        AppliedIndex applied = AppliedIndex.NONE;

        long current() {
            return states.size() - 1;
        }

        Txn begin() {
            return new Txn();
        }

        Object compact(long rev, AppliedIndex a) {
            if (rev <= compact) {
                throw new MvccException.Compacted(compact);
            }
            if (rev > current()) {
                throw new MvccException.FutureRevision();
            }
            compact = rev;
            applied = a;
            return "ok";
        }

        RangeResult range(RangeQuery q) {
            long rev = q.revision() <= 0 ? current() : q.revision();
            if (rev > current()) {
                throw new MvccException.FutureRevision();
            }
            if (rev < compact) {
                throw new MvccException.Compacted(compact);
            }
            return evaluate(q, states.get((int) rev), current());
        }

        static RangeResult evaluate(RangeQuery q, NavigableMap<String, KeyValue> state, long header) {
            List<KeyValue> inRange = new ArrayList<>(interval(state, string(q.key()), string(q.rangeEnd())).values());
            long count = inRange.size();
            if (q.countOnly()) {
                return new RangeResult(List.of(), false, count, header);
            }
            List<KeyValue> matched = new ArrayList<>();
            for (KeyValue kv : inRange) {
                if ((q.minModRevision() == 0 || kv.modRevision() >= q.minModRevision())
                        && (q.maxModRevision() == 0 || kv.modRevision() <= q.maxModRevision())
                        && (q.minCreateRevision() == 0 || kv.createRevision() >= q.minCreateRevision())
                        && (q.maxCreateRevision() == 0 || kv.createRevision() <= q.maxCreateRevision())) {
                    matched.add(kv);
                }
            }
            Comparator<KeyValue> byKey = Comparator.comparing(kv -> string(kv.key()));
            Comparator<KeyValue> byTarget = switch (q.sortTarget()) {
                case KEY -> byKey;
                case VERSION -> Comparator.comparingLong(KeyValue::version);
                case CREATE -> Comparator.comparingLong(KeyValue::createRevision);
                case MOD -> Comparator.comparingLong(KeyValue::modRevision);
                case VALUE -> Comparator.comparing(kv -> string(kv.value()));
            };
            if (q.sortOrder() == SortOrder.DESCEND) {
                byTarget = byTarget.reversed();
            }
            matched.sort(byTarget.thenComparing(byKey));
            boolean more = q.limit() > 0 && matched.size() > q.limit();
            if (more) {
                matched = matched.subList(0, (int) q.limit());
            }
            List<KeyValue> kvs = matched.stream().map(kv -> q.keysOnly()
                    ? new KeyValue(kv.key(), KeyValue.EMPTY, kv.createRevision(), kv.modRevision(), kv.version(), kv.lease())
                    : kv).toList();
            return new RangeResult(kvs, more, count, header);
        }

        static NavigableMap<String, KeyValue> interval(NavigableMap<String, KeyValue> state, String key, String end) {
            if (end.isEmpty()) {
                return state.subMap(key, true, key, true);
            }
            if (end.equals("\0")) {
                return state.tailMap(key, true);
            }
            if (end.compareTo(key) <= 0) {
                return Collections.emptyNavigableMap();
            }
            return state.subMap(key, true, end, false);
        }

        List<Event> events(long from, long to, int max, boolean withPrevKv) {
            if (from < compact) {
                throw new MvccException.Compacted(compact);
            }
            long upTo = Math.min(to, current());
            List<Event> out = new ArrayList<>();
            long lastMain = -1;
            int revisions = 0;
            for (int i = 0; i < history.size(); i++) {
                StoredVersion v = history.get(i);
                if (v.main() < from || v.main() > upTo) {
                    continue;
                }
                if (v.main() != lastMain) {
                    if (max > 0 && revisions == max) {
                        break;
                    }
                    revisions++;
                    lastMain = v.main();
                }
                KeyValue prev = null;
                if (withPrevKv && v.main() - 1 >= compact) {
                    prev = states.get((int) v.main() - 1).get(string(v.key()));
                    for (int j = i - 1; j >= 0 && history.get(j).main() == v.main(); j--) {
                        if (Arrays.equals(history.get(j).key(), v.key())) {
                            prev = history.get(j).tombstone() ? null : history.get(j).kv();
                            break;
                        }
                    }
                }
                out.add(new Event(v.tombstone() ? Event.Type.DELETE : Event.Type.PUT, v.kv(), prev));
            }
            return out;
        }

        HashResult hash(long revision) {
            long rev = revision <= 0 ? current() : revision;
            if (rev > current()) {
                throw new MvccException.FutureRevision();
            }
            if (rev < compact) {
                throw new MvccException.Compacted(compact);
            }
            Map<String, StoredVersion> latestAtCompact = new HashMap<>();
            for (StoredVersion v : history) {
                if (v.main() <= compact) {
                    latestAtCompact.put(string(v.key()), v);
                }
            }
            CRC32C crc = new CRC32C();
            for (StoredVersion v : history) {
                if (v.main() > rev) {
                    break;
                }
                boolean retained = v.main() >= compact
                        || (latestAtCompact.get(string(v.key())) == v && !v.tombstone());
                if (!retained) {
                    continue;
                }
                KeyValue kv = v.kv();
                ByteBuffer buf = ByteBuffer.allocate(8 + 8 + 1 + 4 + kv.key().length + 4 + kv.value().length + 24);
                buf.putLong(v.main()).putLong(v.sub()).put((byte) (v.tombstone() ? 1 : 0))
                        .putInt(kv.key().length).put(kv.key()).putInt(kv.value().length).put(kv.value())
                        .putLong(kv.createRevision()).putLong(kv.version()).putLong(kv.lease());
                crc.update(buf.array());
            }
            return new HashResult((int) crc.getValue(), compact, rev);
        }

        final class Txn {
            final TreeMap<String, KeyValue> state = new TreeMap<>(states.get((int) current()));
            final long rev = current() + 1;
            final List<StoredVersion> writes = new ArrayList<>();
            final List<Event> changes = new ArrayList<>();
            final Map<String, String> meta = new LinkedHashMap<>();

            KeyValue get(String key) {
                return state.get(key);
            }

            KeyValue put(String key, String value, long lease) {
                KeyValue prev = state.get(key);
                KeyValue kv = prev == null
                        ? new KeyValue(bytes(key), bytes(value), rev, rev, 1, lease)
                        : new KeyValue(bytes(key), bytes(value), prev.createRevision(), rev, prev.version() + 1, lease);
                state.put(key, kv);
                writes.add(new StoredVersion(kv, writes.size(), false));
                changes.add(new Event(Event.Type.PUT, kv, prev));
                return prev;
            }

            List<KeyValue> delete(String key, String end) {
                List<KeyValue> deleted = new ArrayList<>(interval(state, key, end).values());
                for (KeyValue prev : deleted) {
                    state.remove(string(prev.key()));
                    StoredVersion t = StoredVersion.tombstone(prev.key(), rev, writes.size());
                    writes.add(t);
                    changes.add(new Event(Event.Type.DELETE, t.kv(), prev));
                }
                return deleted;
            }

            RangeResult range(RangeQuery q) {
                long txnRev = writes.isEmpty() ? current() : rev;
                long r = q.revision() <= 0 ? txnRev : q.revision();
                if (r > txnRev) {
                    throw new MvccException.FutureRevision();
                }
                if (r < compact) {
                    throw new MvccException.Compacted(compact);
                }
                return evaluate(q, r == txnRev ? state : states.get((int) r), txnRev);
            }

            void putMeta(String key, String value) {
                meta.put(key, value);
            }

            void commit(AppliedIndex a) {
                if (!writes.isEmpty()) {
                    states.add(Collections.unmodifiableNavigableMap(state));
                    history.addAll(writes);
                }
                meta.forEach((k, v) -> {
                    if (v == null) {
                        Model.this.meta.remove(k);
                    } else {
                        Model.this.meta.put(k, v);
                    }
                });
                applied = a;
            }
        }
    }
}
