package io.metastore.storage;

import io.metastore.storage.RangeQuery.SortOrder;
import io.metastore.storage.RangeQuery.SortTarget;
import io.metastore.storage.internal.Bookkeeping;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The behaviour every engine must give {@link MvccStoreImpl}: etcd's MVCC rules (reference: etcd-api.md
 * §3.2-3.8, §8). An engine module subclasses this and implements {@link #openBackend}.
 */
public abstract class MvccStoreContractTest {

    /**
     * Opens the engine under test in {@code dir}. A durable engine must find there what a previous instance
     * committed (recovery tests); a non-durable one skips those.
     */
    protected abstract MvccBackend openBackend(Path dir);

    @TempDir
    protected Path tmp;
    protected MvccStoreImpl store;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private long appliedIndex;

    @BeforeEach
    void openMainStore() {
        store = openStore("main");
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    // ---------------------------------------------------------------- helpers

    protected MvccStoreImpl openStore(String name) {
        return track(MvccStoreImpl.open(openBackend(tmp.resolve(name))));
    }

    protected MvccStoreImpl track(MvccStoreImpl s) {
        toClose.add(s);
        return s;
    }

    protected AppliedIndex nextApplied() {
        return new AppliedIndex(3, ++appliedIndex);
    }

    protected static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    protected static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    protected long put(MvccStore s, String key, String value) {
        return put(s, key, value, 0);
    }

    protected long put(MvccStore s, String key, String value, long lease) {
        try (MvccWriteTxn t = s.beginWrite()) {
            t.put(b(key), b(value), lease);
            t.commit(nextApplied());
        }
        return s.currentRevision();
    }

    protected List<KeyValue> delete(MvccStore s, String key, String end) {
        try (MvccWriteTxn t = s.beginWrite()) {
            List<KeyValue> deleted = t.deleteRange(b(key), end == null ? KeyValue.EMPTY : b(end));
            t.commit(nextApplied());
            return deleted;
        }
    }

    protected static RangeQuery q(String key, String end) {
        return RangeQuery.of(b(key), end == null ? KeyValue.EMPTY : b(end));
    }

    protected static RangeQuery all() {
        return q("\0", "\0");
    }

    protected static List<String> keys(RangeResult r) {
        return keys(r.kvs());
    }

    protected static List<String> keys(List<KeyValue> kvs) {
        return kvs.stream().map(kv -> str(kv.key())).toList();
    }

    protected static void assertKv(KeyValue kv, String key, String value, long create, long mod, long version, long lease) {
        assertNotNull(kv, "expected a version of " + key);
        assertEquals(new KeyValue(b(key), b(value), create, mod, version, lease), kv);
    }

    protected static void assertTombstoneKv(KeyValue kv, String key, long rev) {
        assertEquals(new KeyValue(b(key), KeyValue.EMPTY, 0, rev, 0, 0), kv);
    }

    protected static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    protected static List<StoredVersion> storedHistory(MvccBackend backend, String key) {
        List<StoredVersion> out = new ArrayList<>();
        backend.scanKeyHistory(b(key), Long.MAX_VALUE, v -> out.add(v));
        return out;
    }

    protected static List<Long> storedMains(MvccBackend backend, String key) {
        return storedHistory(backend, key).stream().map(StoredVersion::main).toList();
    }

    protected static byte[] snapshot(MvccStore s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        s.writeSnapshot(out);
        return out.toByteArray();
    }

    /** An engine that a second store can be opened over after the first one is closed. */
    protected InstrumentedBackend instrumented(String name) {
        InstrumentedBackend backend = new InstrumentedBackend(openBackend(tmp.resolve(name)));
        backend.closeDelegate = false;
        toClose.add(backend.delegate);
        return backend;
    }

    /**
     * Closes {@code old} and returns the engine a restarted process would find: reopened from disk if
     * durable, else the same instance (which then exercises the store's own recovery logic).
     */
    protected MvccBackend restartEngine(MvccStoreImpl old, InstrumentedBackend backend, String name) {
        old.close();
        toClose.remove(backend.delegate); // the next store owns it
        if (backend.delegate.durable()) {
            backend.delegate.close();
            return openBackend(tmp.resolve(name));
        }
        return backend.delegate;
    }

    // ---------------------------------------------------------------- revisions and versions

    @Test
    void emptyStore() {
        assertEquals(1, store.currentRevision());
        assertEquals(0, store.compactRevision());
        assertEquals(AppliedIndex.NONE, store.appliedIndex());
        assertNull(store.get(b("a")));
        RangeResult r = store.range(all());
        assertEquals(List.of(), r.kvs());
        assertEquals(0, r.count());
        assertEquals(1, r.revision());
        assertEquals(0, store.stats().keys());
        assertEquals(List.of(), store.events(1, 10, 0, true));
    }

    @Test
    void putBumpsRevisionAndVersions() {
        assertEquals(2, put(store, "a", "1"));
        assertKv(store.get(b("a")), "a", "1", 2, 2, 1, 0);
        assertEquals(3, put(store, "a", "2"));
        assertKv(store.get(b("a")), "a", "2", 2, 3, 2, 0);
        assertEquals(4, put(store, "b", "x"));
        assertKv(store.get(b("b")), "b", "x", 4, 4, 1, 0);
        assertKv(store.get(b("a")), "a", "2", 2, 3, 2, 0);
    }

    @Test
    void putReplacesLeaseAndZeroDetaches() {
        put(store, "a", "1", 7);
        assertEquals(7, store.get(b("a")).lease());
        put(store, "a", "2", 0);
        assertEquals(0, store.get(b("a")).lease());
        put(store, "a", "3", 9);
        assertKv(store.get(b("a")), "a", "3", 2, 4, 3, 9);
    }

    @Test
    void putReturnsReplacedVersion() {
        try (MvccWriteTxn t = store.beginWrite()) {
            assertNull(t.put(b("a"), b("1"), 0));
            t.commit(nextApplied());
        }
        try (MvccWriteTxn t = store.beginWrite()) {
            assertKv(t.put(b("a"), b("2"), 5), "a", "1", 2, 2, 1, 0);
            t.commit(nextApplied());
        }
    }

    @Test
    void oneRevisionPerTxnWithSubRevisionsInCallOrder() {
        put(store, "a", "0");
        try (MvccWriteTxn t = store.beginWrite()) {
            assertEquals(3, t.writeRevision());
            t.put(b("c"), b("1"), 0);
            t.put(b("b"), b("1"), 0);
            t.deleteRange(b("a"), KeyValue.EMPTY);
            t.commit(nextApplied());
        }
        assertEquals(3, store.currentRevision());
        List<Event> events = store.events(3, 3, 0, false);
        assertEquals(List.of("c", "b", "a"), events.stream().map(e -> str(e.kv().key())).toList());
        assertEquals(List.of(Event.Type.PUT, Event.Type.PUT, Event.Type.DELETE), events.stream().map(Event::type).toList());
        events.forEach(e -> assertEquals(3, e.revision()));
    }

    @Test
    void noOpWritesDoNotBumpRevision() {
        put(store, "a", "1");
        long rev = store.currentRevision();
        try (MvccWriteTxn t = store.beginWrite()) {
            assertEquals(List.of(), t.deleteRange(b("zz"), KeyValue.EMPTY));
            assertEquals(List.of(), t.deleteRange(b("x"), b("y")));
            t.commit(new AppliedIndex(1, 10));
        }
        assertEquals(rev, store.currentRevision());
        assertEquals(new AppliedIndex(1, 10), store.appliedIndex());
        try (MvccWriteTxn t = store.beginWrite()) {
            t.putMeta(b("lease/1"), b("ttl"));
            assertEquals(List.of(), t.changes());
            t.commit(new AppliedIndex(1, 11));
        }
        assertEquals(rev, store.currentRevision());
        assertArrayEquals(b("ttl"), store.getMeta(b("lease/1")));
        try (MvccWriteTxn t = store.beginWrite()) {
            t.range(all());
            t.commit(new AppliedIndex(2, 12));
        }
        assertEquals(rev, store.currentRevision());
        assertEquals(new AppliedIndex(2, 12), store.appliedIndex());
    }

    @Test
    void deleteWritesTombstoneAndRecreationRestartsVersion() {
        put(store, "a", "1");
        put(store, "a", "2");
        List<KeyValue> deleted = delete(store, "a", null);
        assertEquals(1, deleted.size());
        assertKv(deleted.get(0), "a", "2", 2, 3, 2, 0);
        assertEquals(4, store.currentRevision());
        assertNull(store.get(b("a")));
        assertEquals(0, store.range(q("a", null)).count());
        assertKv(store.range(q("a", null).atRevision(3)).kvs().get(0), "a", "2", 2, 3, 2, 0);
        put(store, "a", "3");
        assertKv(store.get(b("a")), "a", "3", 5, 5, 1, 0);
    }

    @Test
    void deleteRangeRemovesAllKeysInOneRevision() {
        for (String k : List.of("a", "b", "c", "d")) {
            put(store, k, "v");
        }
        List<KeyValue> deleted = delete(store, "b", "d");
        assertEquals(List.of("b", "c"), keys(deleted));
        assertEquals(6, store.currentRevision());
        assertEquals(List.of("a", "d"), keys(store.range(all())));
        assertEquals(List.of("a", "d"), keys(delete(store, "\0", "\0")));
        assertEquals(7, store.currentRevision());
        assertEquals(0, store.range(all()).count());
    }

    @Test
    void emptyKeyIsRejected() {
        try (MvccWriteTxn t = store.beginWrite()) {
            assertThrows(IllegalArgumentException.class, () -> t.put(KeyValue.EMPTY, b("v"), 0));
        }
    }

    @Test
    void eventsCarryPrevKvAndDeleteShape() {
        put(store, "a", "1");          // 2
        put(store, "a", "2");          // 3
        delete(store, "a", null);      // 4
        put(store, "a", "3");          // 5
        List<Event> events = store.events(2, 5, 0, true);
        assertEquals(4, events.size());
        assertEquals(Event.Type.PUT, events.get(0).type());
        assertKv(events.get(0).kv(), "a", "1", 2, 2, 1, 0);
        assertNull(events.get(0).prevKv());
        assertKv(events.get(1).prevKv(), "a", "1", 2, 2, 1, 0);
        Event del = events.get(2);
        assertEquals(Event.Type.DELETE, del.type());
        assertTombstoneKv(del.kv(), "a", 4);
        assertEquals(4, del.revision());
        assertKv(del.prevKv(), "a", "2", 2, 3, 2, 0);
        assertNull(events.get(3).prevKv(), "re-creation has no previous version");
        store.events(2, 5, 0, false).forEach(e -> assertNull(e.prevKv()));
    }

    @Test
    void txnChangesMatchReplayedEvents() {
        put(store, "a", "1");
        put(store, "b", "1");
        List<Event> changes;
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("a"), b("2"), 0);
            t.put(b("a"), b("3"), 4);   // second write of a key in one txn: version 3, prev is the first
            t.deleteRange(b("b"), KeyValue.EMPTY);
            t.put(b("c"), b("1"), 0);
            changes = List.copyOf(t.changes());
            t.commit(nextApplied());
        }
        assertEquals(4, changes.size());
        assertKv(changes.get(0).kv(), "a", "2", 2, 4, 2, 0);
        assertKv(changes.get(1).kv(), "a", "3", 2, 4, 3, 4);
        assertKv(changes.get(1).prevKv(), "a", "2", 2, 4, 2, 0);
        assertTombstoneKv(changes.get(2).kv(), "b", 4);
        assertKv(changes.get(2).prevKv(), "b", "1", 3, 3, 1, 0);
        assertNull(changes.get(3).prevKv());
        assertEquals(changes, store.events(4, 4, 0, true));
        assertKv(store.get(b("a")), "a", "3", 2, 4, 3, 4);
    }

    // ---------------------------------------------------------------- write transactions

    @Test
    void txnReadsItsOwnWritesAndOthersDoNot() {
        put(store, "a", "1");
        put(store, "c", "1");
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("b"), b("new"), 0);
            t.put(b("a"), b("2"), 0);
            assertKv(t.get(b("b")), "b", "new", 4, 4, 1, 0);
            RangeResult inside = t.range(all());
            assertEquals(List.of("a", "b", "c"), keys(inside));
            assertEquals(3, inside.count());
            assertEquals(4, inside.revision(), "a range after a change reports the write revision");
            assertKv(inside.kvs().get(0), "a", "2", 2, 4, 2, 0);

            assertNull(store.get(b("b")));
            assertKv(store.get(b("a")), "a", "1", 2, 2, 1, 0);
            assertEquals(2, store.range(all()).count());
            assertEquals(3, store.currentRevision());
            t.commit(nextApplied());
        }
        assertEquals(4, store.currentRevision());
        assertKv(store.get(b("b")), "b", "new", 4, 4, 1, 0);
    }

    @Test
    void closingWithoutCommitDiscardsEverything() {
        put(store, "a", "1");
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("b"), b("1"), 0);
            t.deleteRange(b("a"), KeyValue.EMPTY);
            t.putMeta(b("m"), b("1"));
        }
        assertEquals(2, store.currentRevision());
        assertNull(store.get(b("b")));
        assertNotNull(store.get(b("a")));
        assertNull(store.getMeta(b("m")));
        assertEquals(1, store.appliedIndex().index());
        assertEquals(3, put(store, "c", "1"), "a new transaction starts from the committed state");
    }

    @Test
    void txnSeesOwnDeletesAndOverlappingDeletes() {
        for (String k : List.of("a", "b", "c", "d")) {
            put(store, k, "v");
        }
        try (MvccWriteTxn t = store.beginWrite()) {
            RangeResult before = t.range(all());
            assertEquals(5, before.revision(), "no change yet: current revision");
            assertEquals(List.of("a", "b"), keys(t.deleteRange(b("a"), b("c"))));
            assertEquals(List.of("c"), keys(t.deleteRange(b("b"), b("d"))), "b is already deleted");
            assertNull(t.get(b("b")));
            assertEquals(List.of("d"), keys(t.range(all())));
            assertEquals(List.of(), t.deleteRange(b("a"), KeyValue.EMPTY));
            t.put(b("a"), b("again"), 0);
            assertKv(t.get(b("a")), "a", "again", 6, 6, 1, 0);
            t.commit(nextApplied());
        }
        assertEquals(6, store.currentRevision());
        assertEquals(List.of("a", "d"), keys(store.range(all())));
        List<Event> events = store.events(6, 6, 0, false);
        assertEquals(List.of("a", "b", "c", "a"), events.stream().map(e -> str(e.kv().key())).toList());
        assertEquals(2, store.stats().keys());
    }

    @Test
    void txnRangeAtOlderRevisionAndErrors() {
        put(store, "a", "1");
        put(store, "a", "2");
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("a"), b("3"), 0);
            assertKv(t.range(q("a", null).atRevision(2)).kvs().get(0), "a", "1", 2, 2, 1, 0);
            assertEquals(4, t.range(q("a", null).atRevision(2)).revision());
            assertKv(t.range(q("a", null).atRevision(4)).kvs().get(0), "a", "3", 2, 4, 3, 0);
            assertThrows(MvccException.FutureRevision.class, () -> t.range(q("a", null).atRevision(5)));
        }
        try (MvccWriteTxn t = store.beginWrite()) {
            assertThrows(MvccException.FutureRevision.class, () -> t.range(q("a", null).atRevision(4)));
        }
    }

    @Test
    void oneTransactionAtATimeAndNoUseAfterCommit() {
        MvccWriteTxn t = store.beginWrite();
        assertThrows(IllegalStateException.class, store::beginWrite);
        t.put(b("a"), b("1"), 0);
        t.commit(nextApplied());
        assertThrows(IllegalStateException.class, () -> t.put(b("a"), b("2"), 0));
        assertThrows(IllegalStateException.class, () -> t.commit(nextApplied()));
        t.close();
        store.beginWrite().close();
    }

    // ---------------------------------------------------------------- range

    @Test
    void rangeIntervals() {
        for (String k : List.of("a", "ab", "abc", "b", "c", "c\u00ff")) {
            put(store, k, "v");
        }
        assertEquals(List.of("ab"), keys(store.range(q("ab", null))));
        assertEquals(List.of("ab", "abc"), keys(store.range(q("ab", "ac"))), "prefix");
        assertEquals(List.of("b", "c", "c\u00ff"), keys(store.range(q("b", "\0"))), "from key");
        assertEquals(List.of("a", "ab", "abc", "b", "c", "c\u00ff"), keys(store.range(all())));
        assertEquals(List.of("a", "ab", "abc"), keys(store.range(q("a", "b"))), "end exclusive");
        assertEquals(List.of(), keys(store.range(q("zz", null))));
    }

    @Test
    void rangeEndNotAfterKeyIsEmpty() {
        put(store, "a", "v");
        put(store, "b", "v");
        for (RangeQuery query : List.of(q("b", "b"), q("b", "a"), q("b", "a").withCountOnly(true))) {
            RangeResult r = store.range(query);
            assertEquals(List.of(), r.kvs());
            assertEquals(0, r.count());
            assertFalse(r.more());
            assertEquals(3, r.revision());
        }
        try (MvccWriteTxn t = store.beginWrite()) {
            assertEquals(List.of(), t.deleteRange(b("b"), b("a")));
            assertEquals(0, t.range(q("b", "b")).count());
        }
    }

    @Test
    void limitMoreAndCount() {
        for (String k : List.of("a", "b", "c", "d", "e")) {
            put(store, k, "v");
        }
        RangeResult r = store.range(all().withLimit(2));
        assertEquals(List.of("a", "b"), keys(r));
        assertTrue(r.more());
        assertEquals(5, r.count());
        r = store.range(all().withLimit(5));
        assertEquals(5, r.kvs().size());
        assertFalse(r.more());
        r = store.range(all().withLimit(0));
        assertEquals(5, r.kvs().size());
        assertFalse(r.more());
        r = store.range(q("b", "d").withLimit(1));
        assertEquals(List.of("b"), keys(r));
        assertTrue(r.more());
        assertEquals(2, r.count());
    }

    /** Builds a: create 4 mod 7 version 2 "zz"; b: create 2 mod 8 version 2 "aa"; c: create 3 mod 6 version 3 "mm". */
    private void sortFixture() {
        put(store, "b", "aa");  // 2
        put(store, "c", "x");   // 3
        put(store, "a", "x");   // 4
        put(store, "c", "x");   // 5
        put(store, "c", "mm");  // 6
        put(store, "a", "zz");  // 7
        put(store, "b", "aa");  // 8
    }

    @Test
    void sortByEveryTargetAndOrder() {
        sortFixture();
        record Case(SortOrder order, SortTarget target, List<String> expected) {}
        List<Case> cases = List.of(
                new Case(SortOrder.NONE, SortTarget.KEY, List.of("a", "b", "c")),
                new Case(SortOrder.ASCEND, SortTarget.KEY, List.of("a", "b", "c")),
                new Case(SortOrder.DESCEND, SortTarget.KEY, List.of("c", "b", "a")),
                new Case(SortOrder.ASCEND, SortTarget.VERSION, List.of("a", "b", "c")),  // a,b tie at 2: key order
                new Case(SortOrder.DESCEND, SortTarget.VERSION, List.of("c", "a", "b")),
                new Case(SortOrder.NONE, SortTarget.VERSION, List.of("a", "b", "c")),
                new Case(SortOrder.ASCEND, SortTarget.CREATE, List.of("b", "c", "a")),
                new Case(SortOrder.DESCEND, SortTarget.CREATE, List.of("a", "c", "b")),
                new Case(SortOrder.NONE, SortTarget.CREATE, List.of("b", "c", "a")),
                new Case(SortOrder.ASCEND, SortTarget.MOD, List.of("c", "a", "b")),
                new Case(SortOrder.DESCEND, SortTarget.MOD, List.of("b", "a", "c")),
                new Case(SortOrder.NONE, SortTarget.MOD, List.of("c", "a", "b")),
                new Case(SortOrder.ASCEND, SortTarget.VALUE, List.of("b", "c", "a")),
                new Case(SortOrder.DESCEND, SortTarget.VALUE, List.of("a", "c", "b")),
                new Case(SortOrder.NONE, SortTarget.VALUE, List.of("b", "c", "a")));
        for (Case c : cases) {
            RangeResult r = store.range(all().sorted(c.order(), c.target()));
            assertEquals(c.expected(), keys(r), c.order() + " " + c.target());
            assertEquals(3, r.count());
            RangeResult first = store.range(all().sorted(c.order(), c.target()).withLimit(1));
            assertEquals(c.expected().subList(0, 1), keys(first), "limit applies after sorting: " + c);
            assertTrue(first.more());
            assertEquals(3, first.count());
        }
    }

    @Test
    void sortTiesAreBrokenByKeyAscending() {
        for (String k : List.of("d", "b", "c", "a")) {
            put(store, k, "same");
        }
        assertEquals(List.of("a", "b", "c", "d"), keys(store.range(all().sorted(SortOrder.DESCEND, SortTarget.VALUE))));
        assertEquals(List.of("a", "b", "c", "d"), keys(store.range(all().sorted(SortOrder.ASCEND, SortTarget.VERSION))));
    }

    @Test
    void keysOnlyAndCountOnly() {
        put(store, "a", "1", 3);
        put(store, "b", "2");
        RangeResult r = store.range(all().withKeysOnly(true));
        assertEquals(List.of("a", "b"), keys(r));
        assertEquals(0, r.kvs().get(0).value().length);
        assertEquals(new KeyValue(b("a"), KeyValue.EMPTY, 2, 2, 1, 3), r.kvs().get(0));
        r = store.range(all().withCountOnly(true));
        assertEquals(List.of(), r.kvs());
        assertEquals(2, r.count());
        assertFalse(r.more());
        r = store.range(all().withCountOnly(true).withLimit(1));
        assertEquals(2, r.count());
        assertEquals(List.of(), r.kvs());
    }

    @Test
    void revisionFiltersAreInclusiveAndCountIgnoresThem() {
        sortFixture(); // mods: c 6, a 7, b 8; creates: b 2, c 3, a 4
        RangeResult r = store.range(all().withModRevisionBounds(7, 0));
        assertEquals(List.of("a", "b"), keys(r));
        assertEquals(3, r.count());
        assertFalse(r.more());
        assertEquals(List.of("a", "c"), keys(store.range(all().withModRevisionBounds(0, 7))));
        assertEquals(List.of("a"), keys(store.range(all().withModRevisionBounds(7, 7))));
        assertEquals(List.of("b", "c"), keys(store.range(all().withCreateRevisionBounds(2, 3))));
        assertEquals(List.of("a"), keys(store.range(all().withCreateRevisionBounds(4, 0))));
        assertEquals(List.of("c"), keys(store.range(all().withCreateRevisionBounds(0, 3).withModRevisionBounds(0, 6))));
        r = store.range(all().withModRevisionBounds(7, 0).withLimit(1));
        assertEquals(List.of("a"), keys(r));
        assertTrue(r.more(), "more counts keys that passed the filters");
        assertEquals(3, r.count());
        r = store.range(all().withModRevisionBounds(8, 0).withLimit(1));
        assertEquals(List.of("b"), keys(r));
        assertFalse(r.more());
        r = store.range(all().withModRevisionBounds(100, 0));
        assertEquals(List.of(), r.kvs());
        assertEquals(3, r.count());
    }

    @Test
    void readsAtOldRevisions() {
        put(store, "a", "1");     // 2
        put(store, "b", "1");     // 3
        put(store, "a", "2");     // 4
        delete(store, "b", null); // 5
        assertEquals(List.of(), keys(store.range(all().atRevision(1))));
        assertEquals(List.of("a"), keys(store.range(all().atRevision(2))));
        assertEquals(List.of("a", "b"), keys(store.range(all().atRevision(3))));
        assertKv(store.range(all().atRevision(3)).kvs().get(0), "a", "1", 2, 2, 1, 0);
        assertKv(store.range(all().atRevision(4)).kvs().get(0), "a", "2", 2, 4, 2, 0);
        assertEquals(List.of("a"), keys(store.range(all().atRevision(5))));
        RangeResult old = store.range(all().atRevision(2));
        assertEquals(5, old.revision(), "header revision is the current one, not the requested one");
        assertEquals(List.of("a"), keys(store.range(all().atRevision(0))));
        assertEquals(List.of("a"), keys(store.range(all().atRevision(-1))));
    }

    @Test
    void futureAndCompactedRevisions() throws Exception {
        put(store, "a", "1");
        put(store, "a", "2");
        put(store, "a", "3");
        assertThrows(MvccException.FutureRevision.class, () -> store.range(all().atRevision(5)));
        store.compact(3, nextApplied()).get(10, TimeUnit.SECONDS);
        MvccException.Compacted e = assertThrows(MvccException.Compacted.class, () -> store.range(all().atRevision(2)));
        assertEquals(3, e.compactRevision);
        assertEquals("mvcc: required revision has been compacted", e.getMessage());
        assertKv(store.range(all().atRevision(3)).kvs().get(0), "a", "2", 2, 3, 2, 0);
        assertThrows(MvccException.FutureRevision.class, () -> store.range(all().atRevision(5)));
    }

    // ---------------------------------------------------------------- compaction

    @Test
    void compactValidation() throws Exception {
        put(store, "a", "1");
        put(store, "a", "2");
        assertThrows(MvccException.FutureRevision.class, () -> store.compact(4, nextApplied()));
        store.compact(2, new AppliedIndex(4, 40)).get(10, TimeUnit.SECONDS);
        assertEquals(2, store.compactRevision());
        assertEquals(3, store.currentRevision(), "compaction does not bump the revision");
        assertEquals(new AppliedIndex(4, 40), store.appliedIndex());
        assertEquals(2, assertThrows(MvccException.Compacted.class, () -> store.compact(2, nextApplied())).compactRevision);
        assertThrows(MvccException.Compacted.class, () -> store.compact(1, nextApplied()));
        store.compact(3, nextApplied()).get(10, TimeUnit.SECONDS);
        assertEquals(3, store.compactRevision());
        assertKv(store.get(b("a")), "a", "2", 2, 3, 2, 0);
    }

    @Test
    void compactionRetainsLatestAtOrBelowAndTombstoneAtCompactRevision() throws Exception {
        InstrumentedBackend backend = instrumented("retention");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        put(s, "a", "1");        // 2
        put(s, "a", "2");        // 3
        put(s, "b", "1");        // 4
        delete(s, "b", null);    // 5
        put(s, "c", "1");        // 6
        delete(s, "c", null);    // 7
        put(s, "a", "3");        // 8
        s.compact(7, nextApplied()).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(8L, 3L), storedMains(backend, "a"));
        assertEquals(List.of(), storedMains(backend, "b"), "tombstone below the compact revision is dropped");
        assertEquals(List.of(7L), storedMains(backend, "c"), "tombstone at the compact revision is kept");
        assertTrue(storedHistory(backend, "c").get(0).tombstone());

        assertEquals(List.of("a"), keys(s.range(all().atRevision(7))));
        assertKv(s.range(all().atRevision(7)).kvs().get(0), "a", "2", 2, 3, 2, 0);
        List<Event> fromC = s.events(7, 8, 0, true);
        assertEquals(2, fromC.size(), "watching from the compact revision still sees the delete at it");
        assertEquals(Event.Type.DELETE, fromC.get(0).type());
        assertTombstoneKv(fromC.get(0).kv(), "c", 7);
        assertNull(fromC.get(0).prevKv(), "version before the compact revision is gone");
        assertKv(fromC.get(1).prevKv(), "a", "2", 2, 3, 2, 0);

        s.compact(8, nextApplied()).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), storedMains(backend, "c"));
        assertEquals(List.of(8L), storedMains(backend, "a"));
        assertEquals(1, s.stats().keys());
    }

    @Test
    void compactionKeepsAllOfTheCompactRevision() throws Exception {
        InstrumentedBackend backend = instrumented("same-revision");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        put(s, "x", "0");                       // 2
        try (MvccWriteTxn t = s.beginWrite()) { // 3: x written twice, y put and deleted
            t.put(b("x"), b("1"), 0);
            t.put(b("x"), b("2"), 0);
            t.put(b("y"), b("1"), 0);
            t.deleteRange(b("y"), KeyValue.EMPTY);
            t.commit(nextApplied());
        }
        put(s, "z", "0");                       // 4
        s.compact(3, nextApplied()).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(3L, 3L), storedMains(backend, "x"));
        List<Event> fromC = s.events(3, 3, 0, true);
        assertEquals(4, fromC.size(), "watching from the compact revision replays all of it");
        assertKv(fromC.get(0).kv(), "x", "1", 2, 3, 2, 0);
        fromC.forEach(e -> assertNull(e.prevKv(), "prevKv needs main-1 >= compact revision"));
        assertKv(s.events(3, 3, 0, false).get(1).kv(), "x", "2", 2, 3, 3, 0);
        s.compact(4, nextApplied()).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(3L), storedMains(backend, "x"));
        assertEquals(List.of(), storedMains(backend, "y"));
        assertKv(s.get(b("x")), "x", "2", 2, 3, 3, 0);
    }

    @Test
    void compactToCurrentRevisionKeepsLiveData() throws Exception {
        put(store, "a", "1");
        put(store, "b", "1");
        delete(store, "b", null);
        store.compact(store.currentRevision(), nextApplied()).get(10, TimeUnit.SECONDS);
        assertKv(store.get(b("a")), "a", "1", 2, 2, 1, 0);
        assertEquals(1, store.range(all()).count());
        assertEquals(1, store.events(4, 4, 0, false).size());
        assertEquals(5, put(store, "b", "2"));
        assertKv(store.get(b("b")), "b", "2", 5, 5, 1, 0);
    }

    @Test
    void eventsRulesAfterCompaction() throws Exception {
        put(store, "a", "1");    // 2
        put(store, "a", "2");    // 3
        put(store, "b", "1");    // 4
        put(store, "a", "3");    // 5
        put(store, "b", "2");    // 6
        store.compact(4, nextApplied()).get(10, TimeUnit.SECONDS);
        assertThrows(MvccException.Compacted.class, () -> store.events(3, 6, 0, true));
        List<Event> events = store.events(4, 100, 0, true);
        assertEquals(List.of(4L, 5L, 6L), events.stream().map(Event::revision).toList(), "to is clamped to current");
        assertNull(events.get(0).prevKv(), "main-1 is below the compact revision");
        assertKv(events.get(1).prevKv(), "a", "2", 2, 3, 2, 0);
        assertKv(events.get(2).prevKv(), "b", "1", 4, 4, 1, 0);
        assertEquals(List.of(4L, 5L), store.events(4, 6, 2, false).stream().map(Event::revision).toList());
        assertEquals(List.of(), store.events(6, 5, 0, false));
        assertEquals(List.of(), store.events(7, 9, 0, false));
    }

    @Test
    void eventsLimitCountsRevisionsNotEvents() {
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("a"), b("1"), 0);
            t.put(b("b"), b("1"), 0);
            t.commit(nextApplied());
        }
        put(store, "c", "1");
        put(store, "d", "1");
        assertEquals(List.of("a", "b"), store.events(1, 4, 1, false).stream().map(e -> str(e.kv().key())).toList());
        assertEquals(3, store.events(2, 4, 2, false).size());
        assertEquals(4, store.events(2, 4, 0, false).size());
    }

    @Test
    void readersSeeConsistentDataDuringPhysicalCompaction() throws Exception {
        InstrumentedBackend backend = instrumented("concurrent");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        int n = 2500;
        for (int round = 0; round < 2; round++) {
            try (MvccWriteTxn t = s.beginWrite()) {
                for (int i = 0; i < n; i++) {
                    t.put(b(String.format("k%05d", i)), b("v" + round), 0);
                }
                t.commit(nextApplied());
            }
        }
        delete(s, "k", "k01000");   // revision 4: 1000 tombstones
        put(s, "z", "1");           // 5
        CountDownLatch gate = new CountDownLatch(1);
        backend.compactorGate = gate;
        CompletableFuture<Void> physical;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch readOnce = new CountDownLatch(2);
        List<Thread> readers = new ArrayList<>();
        try {
            physical = s.compact(4, nextApplied()); // 3500 removals over 2500 keys: several batches
            HashResult expectedHash = s.hashKv(5);
            for (int r = 0; r < 2; r++) {
                Thread t = new Thread(() -> {
                    try {
                        do {
                            RangeResult atC = s.range(all().atRevision(4).withLimit(10));
                            assertEquals(n - 1000, atC.count());
                            assertEquals("k01000", str(atC.kvs().get(0).key()));
                            assertEquals("v1", str(atC.kvs().get(0).value()));
                            assertEquals(1001, s.events(4, 5, 0, true).size());
                            assertEquals(expectedHash, s.hashKv(5));
                            readOnce.countDown();
                        } while (!stop.get());
                    } catch (Throwable e) {
                        failure.set(e);
                        readOnce.countDown();
                    }
                });
                t.start();
                readers.add(t);
            }
            assertTrue(readOnce.await(10, TimeUnit.SECONDS));
        } finally {
            gate.countDown();
        }
        physical.get(30, TimeUnit.SECONDS);
        stop.set(true);
        for (Thread t : readers) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("reader failed during compaction", failure.get());
        }
        assertEquals(List.of(), storedMains(backend, "k00001").stream().filter(m -> m < 4).toList());
        assertEquals(List.of(3L), storedMains(backend, "k02000"));
        assertEquals(n - 1000 + 1, s.range(all()).count());
        assertEquals(n - 1000 + 1, s.stats().keys());
    }

    @Test
    void applyThreadReadsAreUnaffectedByPhysicalCompaction() throws Exception {
        int n = 3000;
        try (MvccWriteTxn t = store.beginWrite()) {
            for (int i = 0; i < n; i++) {
                t.put(b(String.format("k%05d", i)), b("v"), 0);
            }
            t.commit(nextApplied());
        }
        delete(store, "k", "l");       // 3: tombstones that compaction to 4 removes with the puts below them
        put(store, "z", "1");          // 4
        CompletableFuture<Void> physical = store.compact(4, nextApplied());
        int rounds = 0;
        // the apply thread reads without the history lock: every intermediate state of a removal batch
        // must read the same as before and after it
        while (!physical.isDone() || rounds < 3) {
            try (MvccWriteTxn t = store.beginWrite()) {
                assertEquals(List.of("z"), keys(t.range(all())));
                assertNull(t.get(b(String.format("k%05d", rounds * 7 % n))));
            }
            rounds++;
        }
        physical.get(10, TimeUnit.SECONDS);
        assertEquals(5, put(store, "k00001", "again"));
        assertKv(store.get(b("k00001")), "k00001", "again", 5, 5, 1, 0);
    }

    @Test
    void physicalRemovalWaitsForReadsInProgress() throws Exception {
        InstrumentedBackend backend = instrumented("blocked");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        put(s, "a", "1");   // 2
        put(s, "b", "1");   // 3
        put(s, "a", "2");   // 4
        put(s, "b", "2");   // 5
        AtomicReference<RangeResult> result = new AtomicReference<>();
        Thread reader = new Thread(() -> result.set(s.range(all().atRevision(3))));
        backend.pauseThread = reader;
        reader.start();
        assertTrue(backend.paused.await(10, TimeUnit.SECONDS));
        CompletableFuture<Void> physical = s.compact(5, nextApplied()); // the apply thread is not blocked
        Thread.sleep(150);
        assertFalse(physical.isDone(), "removal must wait for the range that validated revision 3");
        backend.resume.countDown();
        reader.join(10_000);
        assertEquals(List.of("a", "b"), keys(result.get()));
        assertEquals("1", str(result.get().kvs().get(1).value()));
        physical.get(10, TimeUnit.SECONDS);
        assertEquals(List.of(5L), storedMains(backend, "b"));
    }

    @Test
    void unfinishedPhysicalCompactionResumesOnOpen() throws Exception {
        InstrumentedBackend backend = instrumented("resume");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        put(s, "a", "1");
        put(s, "a", "2");
        put(s, "a", "3");
        backend.failRemovals = true;
        CompletableFuture<Void> physical = s.compact(3, new AppliedIndex(2, 99));
        assertThrows(ExecutionException.class, () -> physical.get(10, TimeUnit.SECONDS));
        assertEquals(List.of(4L, 3L, 2L), storedMains(backend, "a"));

        MvccBackend engine = restartEngine(s, backend, "resume");
        MvccStoreImpl reopened = track(MvccStoreImpl.open(engine));
        assertEquals(3, reopened.compactRevision());
        assertEquals(4, reopened.currentRevision());
        assertEquals(new AppliedIndex(2, 99), reopened.appliedIndex());
        assertThrows(MvccException.Compacted.class, () -> reopened.range(all().atRevision(2)));
        waitFor("resumed compaction", () -> storedMains(engine, "a").equals(List.of(4L, 3L)));
        assertKv(reopened.range(all().atRevision(3)).kvs().get(0), "a", "2", 2, 3, 2, 0);
    }

    // ---------------------------------------------------------------- hash

    private void hashHistory(MvccStore s) {
        put(s, "a", "1");
        put(s, "b", "1", 5);
        put(s, "a", "2");
        delete(s, "b", null);
        try (MvccWriteTxn t = s.beginWrite()) {
            t.put(b("c"), b("1"), 0);
            t.put(b("d"), b("1"), 0);
            t.commit(nextApplied());
        }
        delete(s, "c", null);
        put(s, "a", "3");
    }

    @Test
    void hashIsEqualForEqualHistories() {
        MvccStoreImpl other = openStore("other");
        hashHistory(store);
        hashHistory(other);
        for (long rev = 0; rev <= store.currentRevision(); rev++) {
            assertEquals(store.hashKv(rev), other.hashKv(rev), "revision " + rev);
        }
        HashResult h = store.hashKv(0);
        assertEquals(store.currentRevision(), h.hashRevision());
        assertEquals(0, h.compactRevision());
        assertNotEquals(store.hashKv(4).hash(), store.hashKv(5).hash());
        put(other, "a", "different");
        put(store, "a", "differenT");
        assertNotEquals(store.hashKv(0).hash(), other.hashKv(0).hash());
    }

    @Test
    void hashDoesNotDependOnPhysicalCompactionProgress() throws Exception {
        InstrumentedBackend backend = instrumented("hash");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        MvccStoreImpl reference = openStore("reference");
        hashHistory(s);
        hashHistory(reference);
        reference.compact(6, nextApplied()).get(10, TimeUnit.SECONDS);

        CountDownLatch gate = new CountDownLatch(1);
        backend.compactorGate = gate;
        try {
            CompletableFuture<Void> physical = s.compact(6, nextApplied());
            HashResult beforeRemoval = s.hashKv(0);
            HashResult atCompact = s.hashKv(6);
            assertEquals(6, atCompact.compactRevision());
            assertFalse(physical.isDone());
            assertEquals(reference.hashKv(0), beforeRemoval);
            gate.countDown();
            physical.get(10, TimeUnit.SECONDS);
            assertEquals(beforeRemoval, s.hashKv(0));
            assertEquals(atCompact, s.hashKv(6));
        } finally {
            gate.countDown();
        }
        assertThrows(MvccException.Compacted.class, () -> s.hashKv(5));
        assertThrows(MvccException.FutureRevision.class, () -> s.hashKv(s.currentRevision() + 1));
    }

    // ---------------------------------------------------------------- snapshots

    private void richHistory(MvccStore s) throws Exception {
        for (int i = 0; i < 30; i++) {
            put(s, "key/" + (i % 7), "value-" + i, i % 3);
        }
        delete(s, "key/2", null);
        delete(s, "key/5", "key/7");
        try (MvccWriteTxn t = s.beginWrite()) {
            t.putMeta(b("lease/1"), b("ttl=10"));
            t.putMeta(b("auth/enabled"), b("true"));
            t.put(b("other"), new byte[] {0, (byte) 0xff, 1}, 0);
            t.commit(nextApplied());
        }
        s.compact(20, nextApplied()).get(10, TimeUnit.SECONDS);
        put(s, "key/0", "after-compact");
        try (MvccWriteTxn t = s.beginWrite()) {
            t.commit(new AppliedIndex(9, 777));
        }
    }

    private void assertSameStore(MvccStore expected, MvccStore actual) {
        assertEquals(expected.currentRevision(), actual.currentRevision());
        assertEquals(expected.compactRevision(), actual.compactRevision());
        assertEquals(expected.appliedIndex(), actual.appliedIndex());
        assertEquals(expected.stats().keys(), actual.stats().keys());
        for (long rev = expected.compactRevision(); rev <= expected.currentRevision(); rev++) {
            assertEquals(expected.range(all().atRevision(rev)), actual.range(all().atRevision(rev)), "revision " + rev);
            assertEquals(expected.hashKv(rev), actual.hashKv(rev), "hash at " + rev);
        }
        assertEquals(expected.events(expected.compactRevision(), Long.MAX_VALUE, 0, true),
                actual.events(actual.compactRevision(), Long.MAX_VALUE, 0, true));
        assertEquals(metaDump(expected), metaDump(actual));
    }

    private static List<String> metaDump(MvccStore s) {
        List<String> out = new ArrayList<>();
        s.scanMeta(KeyValue.EMPTY, (k, v) -> out.add(str(k) + "=" + Arrays.toString(v)));
        return out;
    }

    @Test
    void snapshotRoundTrip() throws Exception {
        richHistory(store);
        byte[] image = snapshot(store);
        MvccStoreImpl target = openStore("target");
        put(target, "stale", "data");
        try (MvccWriteTxn t = target.beginWrite()) {
            t.putMeta(b("stale-meta"), b("x"));
            t.commit(nextApplied());
        }
        target.restore(new ByteArrayInputStream(image));
        assertSameStore(store, target);
        assertNull(target.get(b("stale")));
        assertNull(target.getMeta(b("stale-meta")));
        assertArrayEquals(image, snapshot(target), "an image re-encodes to the same bytes");

        assertEquals(store.currentRevision() + 1, put(target, "key/1", "next"));
        assertEquals(store.currentRevision() + 1, put(store, "key/1", "next"));
        assertEquals(store.hashKv(0), target.hashKv(0));
    }

    @Test
    void snapshotOfEmptyStoreRestores() throws Exception {
        MvccStoreImpl target = openStore("target");
        put(target, "a", "1");
        target.restore(new ByteArrayInputStream(snapshot(store)));
        assertSameStore(store, target);
        assertEquals(1, target.currentRevision());
    }

    @Test
    void corruptOrTruncatedImagesAreRefused() throws Exception {
        richHistory(store);
        byte[] image = snapshot(store);
        MvccStoreImpl target = openStore("target");
        put(target, "keep", "me");
        List<byte[]> bad = new ArrayList<>();
        for (int pos : new int[] {0, 5, 9, 30, image.length / 3, image.length / 2, image.length - 20, image.length - 1}) {
            byte[] flipped = image.clone();
            flipped[pos] ^= 0x10;
            bad.add(flipped);
        }
        for (int len : new int[] {0, 3, 40, image.length / 2, image.length - 4, image.length - 1}) {
            bad.add(Arrays.copyOf(image, len));
        }
        bad.add(Arrays.copyOf(image, image.length + 1));
        for (byte[] b : bad) {
            assertThrows(IOException.class, () -> target.restore(new ByteArrayInputStream(b)),
                    "image of " + b.length + " bytes must be refused");
        }
        assertEquals(2, target.currentRevision(), "a refused image leaves the store as it was");
        assertKv(target.get(b("keep")), "keep", "me", 2, 2, 1, 0);
        target.restore(new ByteArrayInputStream(image));
        assertSameStore(store, target);
    }

    @Test
    void snapshotIsConsistentWhileWritesContinue() throws Exception {
        put(store, "seed", "0");
        CountDownLatch snapshotted = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                int i = 0;
                int after = 0;
                while (snapshotted.getCount() > 0 || after++ < 50) {
                    try (MvccWriteTxn t = store.beginWrite()) {
                        t.put(b("k" + (i % 50)), b("v" + i), 0);
                        t.put(b("n" + (i % 13)), b("w" + i), 0);
                        if (i % 7 == 0) {
                            t.deleteRange(b("k" + (i % 3)), b("k" + (i % 3) + "\uffff"));
                        }
                        t.putMeta(b("m"), b("" + i));
                        t.commit(nextApplied());
                    }
                    i++;
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        writer.start();
        waitFor("some writes", () -> store.currentRevision() > 200);
        byte[] image = snapshot(store);
        snapshotted.countDown();
        writer.join(30_000);
        assertNull(failure.get());
        MvccStoreImpl target = openStore("target");
        target.restore(new ByteArrayInputStream(image));
        long r = target.currentRevision();
        assertTrue(r > 200 && r < store.currentRevision());
        assertEquals(store.range(all().atRevision(r)).kvs(), target.range(all()).kvs());
        assertEquals(store.hashKv(r).hash(), target.hashKv(r).hash());
        assertEquals(store.events(2, r, 0, true), target.events(2, r, 0, true));
        assertEquals(target.appliedIndex().index(), Long.parseLong(str(target.getMeta(b("m")))) + 2,
                "meta and applied index come from the same committed batch");
    }

    @Test
    void restoreResumesPhysicalCompactionFromTheImage() throws Exception {
        InstrumentedBackend source = instrumented("source");
        MvccStoreImpl s = track(MvccStoreImpl.open(source));
        put(s, "a", "1");
        put(s, "a", "2");
        put(s, "a", "3");
        CountDownLatch gate = new CountDownLatch(1);
        source.compactorGate = gate;
        byte[] image;
        try {
            s.compact(3, nextApplied());
            image = snapshot(s); // physical compaction has not run yet: the image holds revision 2
        } finally {
            gate.countDown();
        }
        InstrumentedBackend targetBackend = instrumented("target");
        MvccStoreImpl target = track(MvccStoreImpl.open(targetBackend));
        target.restore(new ByteArrayInputStream(image));
        assertEquals(3, target.compactRevision());
        waitFor("compaction resumed after restore", () -> storedMains(targetBackend, "a").equals(List.of(4L, 3L)));
        assertEquals(s.hashKv(0), target.hashKv(0));
    }

    // ---------------------------------------------------------------- metadata, applied index, stats

    @Test
    void metadata() {
        try (MvccWriteTxn t = store.beginWrite()) {
            t.putMeta(b("lease/1"), b("a"));
            t.putMeta(b("lease/2"), b("b"));
            t.putMeta(b("member/1"), b("m"));
            assertNull(store.getMeta(b("lease/1")), "invisible before commit");
            t.commit(nextApplied());
        }
        assertArrayEquals(b("a"), store.getMeta(b("lease/1")));
        List<String> leases = new ArrayList<>();
        store.scanMeta(b("lease/"), (k, v) -> leases.add(str(k) + "=" + str(v)));
        assertEquals(List.of("lease/1=a", "lease/2=b"), leases);
        try (MvccWriteTxn t = store.beginWrite()) {
            t.deleteMeta(b("lease/1"));
            t.putMeta(b("lease/2"), b("c"));
            t.commit(nextApplied());
        }
        assertNull(store.getMeta(b("lease/1")));
        assertArrayEquals(b("c"), store.getMeta(b("lease/2")));
        assertEquals(1, store.currentRevision());
    }

    @Test
    void bookkeepingPrefixIsReservedAndHidden() {
        put(store, "a", "1");
        store.compact(2, nextApplied());
        byte[] reserved = {0, 'x'};
        try (MvccWriteTxn t = store.beginWrite()) {
            assertThrows(IllegalArgumentException.class, () -> t.putMeta(reserved, b("v")));
            assertThrows(IllegalArgumentException.class, () -> t.deleteMeta(reserved));
            t.putMeta(b("app"), b("v"));
            t.commit(nextApplied());
        }
        assertThrows(IllegalArgumentException.class, () -> store.getMeta(reserved));
        assertEquals(List.of("app=" + Arrays.toString(b("v"))), metaDump(store));
        List<byte[]> hidden = new ArrayList<>();
        store.scanMeta(new byte[] {0}, (k, v) -> hidden.add(k));
        assertEquals(List.of(), hidden);
    }

    @Test
    void appliedIndexFollowsEveryCommitAndCompaction() throws Exception {
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("a"), b("1"), 0);
            t.commit(new AppliedIndex(1, 5));
        }
        assertEquals(new AppliedIndex(1, 5), store.appliedIndex());
        try (MvccWriteTxn t = store.beginWrite()) {
            t.commit(new AppliedIndex(1, 6));
        }
        assertEquals(new AppliedIndex(1, 6), store.appliedIndex());
        store.compact(2, new AppliedIndex(2, 7)).get(10, TimeUnit.SECONDS);
        assertEquals(new AppliedIndex(2, 7), store.appliedIndex());
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("a"), b("2"), 0);
        }
        assertEquals(new AppliedIndex(2, 7), store.appliedIndex(), "an abandoned transaction changes nothing");
    }

    @Test
    void statsCountLiveKeys() {
        assertEquals(0, store.stats().keys());
        put(store, "a", "1");
        put(store, "a", "2");
        put(store, "b", "1");
        assertEquals(2, store.stats().keys());
        assertTrue(store.stats().sizeBytes() > 0);
        assertTrue(store.stats().sizeInUseBytes() > 0);
        delete(store, "a", null);
        assertEquals(1, store.stats().keys());
        try (MvccWriteTxn t = store.beginWrite()) {
            t.put(b("c"), b("1"), 0);
            t.deleteRange(b("c"), KeyValue.EMPTY);
            t.put(b("d"), b("1"), 0);
            t.deleteRange(b("b"), KeyValue.EMPTY);
            t.put(b("b"), b("again"), 0);
            t.commit(nextApplied());
        }
        assertEquals(2, store.stats().keys());
        store.defragment();
        store.flush();
        assertEquals(2, store.stats().keys());
    }

    // ---------------------------------------------------------------- recovery

    @Test
    void interruptedRestoreIsDetectedOnOpen() {
        InstrumentedBackend backend = instrumented("interrupted");
        MvccStoreImpl s = track(MvccStoreImpl.open(backend));
        put(s, "a", "1");
        try (BackendBatch batch = backend.delegate.newBatch()) {
            Bookkeeping.markRestoreInProgress(batch); // what a crash half-way through restore leaves behind
            batch.commit();
        }
        MvccStoreImpl reopened = track(MvccStoreImpl.open(restartEngine(s, backend, "interrupted")));
        assertEquals(1, reopened.currentRevision());
        assertEquals(AppliedIndex.NONE, reopened.appliedIndex());
        assertNull(reopened.get(b("a")));
    }

    /** Recovery from the engine's own files; skipped for engines that keep nothing across a restart. */
    @Nested
    class Recovery {
        @Test
        void everythingIsRecoveredAfterReopen() throws Exception {
            assumeTrue(store.durable(), "engine is not durable: it is rebuilt from snapshot images, not reopened");
            richHistory(store);
            MvccStoreImpl expected = openStore("expected");
            expected.restore(new ByteArrayInputStream(snapshot(store)));
            store.flush();
            store.close();
            MvccStoreImpl reopened = openStore("main");
            assertSameStore(expected, reopened);
            assertEquals(expected.currentRevision() + 1, put(reopened, "new", "1"));
        }

        @Test
        void uncommittedTransactionIsLostOnReopen() {
            assumeTrue(store.durable(), "engine is not durable: it is rebuilt from snapshot images, not reopened");
            put(store, "a", "1");
            MvccWriteTxn t = store.beginWrite();
            t.put(b("b"), b("1"), 0);
            store.close();
            MvccStoreImpl reopened = openStore("main");
            assertEquals(2, reopened.currentRevision());
            assertNull(reopened.get(b("b")));
            assertEquals(1, reopened.stats().keys());
        }
    }
}
