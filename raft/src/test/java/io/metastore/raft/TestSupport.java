package io.metastore.raft;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.Event;
import io.metastore.storage.HashResult;
import io.metastore.storage.KeyValue;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccStoreImpl;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.RangeQuery;
import io.metastore.storage.RangeResult;
import io.metastore.storage.StoreStats;
import io.metastore.storage.memory.MemoryBackend;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

final class TestSupport {
    private TestSupport() {}

    static final String HOST = "127.0.0.1";

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
            return s.getLocalPort();
        }
    }

    static boolean canBind(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static List<RaftPeerSpec> peers(int n) throws IOException {
        List<RaftPeerSpec> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(new RaftPeerSpec("m" + i, HOST, freePort()));
        }
        return out;
    }

    static RaftConfig.Builder config(String local, List<RaftPeerSpec> peers, Path dir) {
        return RaftConfig.builder()
                .localName(local)
                .peers(peers)
                .storageDir(dir.resolve(local))
                .clusterToken("test-cluster")
                .heartbeatInterval(Duration.ofMillis(50))
                .electionTimeout(Duration.ofMillis(400));
    }

    static MvccStore memoryStore() {
        return MvccStoreImpl.open(MemoryBackend.open());
    }

    static void await(String what, Duration max, BooleanSupplier cond) {
        long deadline = System.nanoTime() + max.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + max + " waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    static byte[] put(String key, String value) {
        return (key + "=" + value).getBytes(StandardCharsets.UTF_8);
    }

    static String value(MvccStore store, String key) {
        KeyValue kv = store.get(key.getBytes(StandardCharsets.UTF_8));
        return kv == null ? null : new String(kv.value(), StandardCharsets.UTF_8);
    }

    /** key -> value of every live key. */
    static Map<String, String> content(MvccStore store) {
        RangeResult r = store.range(RangeQuery.of(new byte[] {0}, new byte[] {0}));
        Map<String, String> out = new TreeMap<>();
        for (KeyValue kv : r.kvs()) {
            out.put(new String(kv.key(), StandardCharsets.UTF_8), new String(kv.value(), StandardCharsets.UTF_8));
        }
        return out;
    }

    /** Compares two key/value maps, reporting only the first few differences. */
    static void assertSameContent(Map<String, String> expected, Map<String, String> actual) {
        if (expected.equals(actual)) {
            return;
        }
        List<String> diffs = new ArrayList<>();
        java.util.Set<String> keys = new java.util.TreeSet<>(expected.keySet());
        keys.addAll(actual.keySet());
        for (String k : keys) {
            String e = expected.get(k);
            String a = actual.get(k);
            if (!java.util.Objects.equals(e, a)) {
                diffs.add(k + ": expected " + abbreviate(e) + " but was " + abbreviate(a));
            }
        }
        fail(diffs.size() + " differences (" + expected.size() + " vs " + actual.size() + " keys), first: "
                + diffs.subList(0, Math.min(5, diffs.size())));
    }

    private static String abbreviate(String s) {
        return s == null ? "null" : s.length() > 16 ? s.substring(0, 16) + "..." : s;
    }

    static long asLong(byte[] b) {
        return ByteBuffer.wrap(b).getLong();
    }

    /**
     * The test applier: a command "k=v" puts k through one write transaction committed at the entry's index and
     * returns the new revision (8 bytes); "boom" throws. Counts applies per index.
     */
    static final class Recorder implements CommandApplier {
        final MvccStore store;
        final Map<Long, AtomicInteger> appliesPerIndex = new ConcurrentHashMap<>();
        final List<Long> order = Collections.synchronizedList(new ArrayList<>());
        final Set<String> threads = ConcurrentHashMap.newKeySet();
        final AtomicInteger resets = new AtomicInteger();

        Recorder(MvccStore store) {
            this.store = store;
        }

        @Override
        public byte[] apply(AppliedIndex at, byte[] command) {
            threads.add(Thread.currentThread().getName());
            appliesPerIndex.computeIfAbsent(at.index(), k -> new AtomicInteger()).incrementAndGet();
            order.add(at.index());
            String s = new String(command, StandardCharsets.UTF_8);
            if (s.equals("boom")) {
                throw new IllegalStateException("boom at " + at);
            }
            int eq = s.indexOf('=');
            try (MvccWriteTxn txn = store.beginWrite()) {
                txn.put(s.substring(0, eq).getBytes(StandardCharsets.UTF_8),
                        s.substring(eq + 1).getBytes(StandardCharsets.UTF_8), 0);
                long rev = txn.writeRevision();
                txn.commit(at);
                return ByteBuffer.allocate(8).putLong(rev).array();
            }
        }

        @Override
        public void onStoreReset() {
            resets.incrementAndGet();
        }

        int applies() {
            return order.size();
        }

        long minAppliedIndex() {
            synchronized (order) {
                return order.stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
            }
        }

        boolean eachAppliedOnce() {
            return appliesPerIndex.values().stream().allMatch(c -> c.get() == 1);
        }
    }

    /** Simulates a durable engine over the memory engine: the same object survives a RaftNode restart. */
    static final class DurableStore implements MvccStore {
        final MvccStore d;
        final AtomicInteger flushes = new AtomicInteger();

        DurableStore(MvccStore delegate) {
            this.d = delegate;
        }

        @Override public boolean durable() { return true; }
        @Override public void flush() { flushes.incrementAndGet(); d.flush(); }
        @Override public long currentRevision() { return d.currentRevision(); }
        @Override public long compactRevision() { return d.compactRevision(); }
        @Override public AppliedIndex appliedIndex() { return d.appliedIndex(); }
        @Override public RangeResult range(RangeQuery q) { return d.range(q); }
        @Override public KeyValue get(byte[] key) { return d.get(key); }
        @Override public MvccWriteTxn beginWrite() { return d.beginWrite(); }
        @Override public CompletableFuture<Void> compact(long revision, AppliedIndex applied) { return d.compact(revision, applied); }
        @Override public List<Event> events(long from, long to, int max, boolean prev) { return d.events(from, to, max, prev); }
        @Override public HashResult hashKv(long revision) { return d.hashKv(revision); }
        @Override public byte[] getMeta(byte[] key) { return d.getMeta(key); }
        @Override public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> v) { d.scanMeta(prefix, v); }
        @Override public StoreStats stats() { return d.stats(); }
        @Override public void defragment() { d.defragment(); }
        @Override public void writeSnapshot(OutputStream out) throws IOException { d.writeSnapshot(out); }
        @Override public void restore(InputStream in) throws IOException { d.restore(in); }
        @Override public void close() { d.close(); }
    }
}
