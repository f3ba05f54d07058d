package io.metastore.server.process;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.etcdserverpb.WatchRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import io.metastore.proto.mvccpb.Event;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A watch client that never reads must not hurt anyone: 100,000 puts go through at about the speed they have
 * without it, a reading watcher on the same prefix gets every event exactly once and in order, the server's
 * memory stays bounded although the stalled streams have 100,000 undelivered events each, and once a stalled
 * client reads again it gets all of them, in order, from history.
 *
 * <p>The member runs in this JVM (TestMember, RocksDB engine, so the store itself lives off the Java heap) and
 * the memory measured is this JVM's heap after full GCs plus direct buffers. Memory checks: (1) what one stalled
 * stream holds, measured as what is freed when it is cancelled, stays under 8 MiB (the stream queue is bounded at
 * 128 messages / 8 MiB); (2) growth over the run stays under 64 MiB plus what the same number of puts costs
 * without stalled streams (Ratis keeps every request's reply in its retry cache for 60 s, about 1 KiB a put,
 * measured on a 10,000-put sample). Every client stream is on a channel of its own.
 */
class SlowWatcherIT {
    private static final int N = Integer.getInteger("slowwatcher.puts", 100_000);
    private static final int N_SAMPLE = 10_000;
    private static final int N_REFERENCE = 5_000;
    private static final int IN_FLIGHT = 512;
    private static final long MiB = 1024 * 1024;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void stalledWatcherCostsBoundedMemoryAndCatchesUpFromHistory() throws Exception {
        try (TestMember member = TestMember.start(ServerConfig.StorageEngine.ROCKSDB);
             Chan puts = new Chan(member.member().clientPort());
             Chan stalledChan1 = new Chan(member.member().clientPort());
             Chan stalledChan2 = new Chan(member.member().clientPort());
             Chan readerChan = new Chan(member.member().clientPort())) {

            // ---- warm-up (JIT, RocksDB, Ratis), then a sample of what puts alone cost in memory ----
            putAll(puts.ch, "sw/warm/", 5_000);
            long beforeSample = usedMemoryAfterGc();
            runWithReader(puts.ch, readerChan.ch, "sw/a/", N_SAMPLE);
            long baseline = usedMemoryAfterGc();
            histogram("at the baseline");
            // What the puts alone keep on the heap for a while (Ratis keeps each request's reply in its retry cache
            // for 60 s and recent entries in its log cache): measured on the sample run, scaled to N puts.
            long loadGrowth = (long) (Math.max(0, baseline - beforeSample) / (double) N_SAMPLE * N);

            // ---- two stalled streams and a reading one on the prefix "sw/b/" ----
            StalledWatcher stalled1 = new StalledWatcher(stalledChan1.ch, "sw/b/");
            StalledWatcher stalled2 = new StalledWatcher(stalledChan2.ch, "sw/b/");
            long t0 = System.nanoTime();
            long[] revs = runWithReader(puts.ch, readerChan.ch, "sw/b/", N);
            double rate = N / ((System.nanoTime() - t0) / 1e9);
            assertEquals(0, stalled1.events.get() + stalled2.events.get(), "the stalled clients requested nothing");

            long withStalled = usedMemoryAfterGc();
            histogram("with the stalled streams");
            stalled1.call.cancel("measured", null); // what one stalled stream holds on to is freed now
            Thread.sleep(500);
            long afterCancel = usedMemoryAfterGc();
            System.out.printf("[SlowWatcherIT] heap+direct after GC: %d MiB before the sample run, baseline %d MiB,"
                            + " with 2 stalled streams %d MiB (the puts alone: ~%d MiB), after cancelling one %d MiB%n",
                    beforeSample / MiB, baseline / MiB, withStalled / MiB, loadGrowth / MiB, afterCancel / MiB);
            assertTrue(withStalled - baseline < 64 * MiB + loadGrowth, "memory grew by " + (withStalled - baseline) / MiB
                    + " MiB while two streams did not read " + N + " events; the puts alone account for ~"
                    + loadGrowth / MiB + " MiB");
            assertTrue(withStalled - afterCancel < 8 * MiB, "one stalled stream held "
                    + (withStalled - afterCancel) / MiB + " MiB");

            // ---- the stalled client reads again: every event, in order, from history ----
            long c0 = System.nanoTime();
            stalled2.call.request(Integer.MAX_VALUE);
            stalled2.awaitEvents(N, 90);
            assertNull(stalled2.error.get(), () -> "stalled watcher after catch-up: " + stalled2.error.get());
            long[] sorted = revs.clone();
            Arrays.sort(sorted);
            assertEquals(N, stalled2.events.get(), "events after catching up");
            for (int j = 0; j < N; j++) {
                if (stalled2.revisions[j] != sorted[j]) {
                    throw new AssertionError("caught-up event " + j + " has revision " + stalled2.revisions[j]
                            + ", expected " + sorted[j]);
                }
            }
            Thread.sleep(300);
            assertEquals(N, stalled2.events.get(), "no duplicate events after catching up");
            System.out.printf("[SlowWatcherIT] the stalled stream caught up on %d events in %.1f s%n",
                    N, (System.nanoTime() - c0) / 1e9);
            stalled2.call.cancel("done", null);

            // ---- the same kind of put run without stalled streams (warm JIT, bigger store: a fair reference) ----
            long r0 = System.nanoTime();
            runWithReader(puts.ch, readerChan.ch, "sw/c/", N_REFERENCE);
            double refRate = N_REFERENCE / ((System.nanoTime() - r0) / 1e9);
            System.out.printf("[SlowWatcherIT] puts: %.0f/s with the stalled streams, %.0f/s without%n", rate, refRate);
            // writers were not held back by the stalled streams (a sanity bound, not a benchmark)
            assertTrue(rate >= 0.5 * refRate, String.format(
                    "puts ran at %.0f/s with stalled watchers, %.0f/s without", rate, refRate));
        }
    }

    /** n puts under prefix with a reading watcher on it that must see each of them once, in order. */
    static long[] runWithReader(ManagedChannel putChannel, ManagedChannel watchChannel, String prefix, int n)
            throws InterruptedException {
        try (ReadingWatcher reader = new ReadingWatcher(watchChannel, prefix, n)) {
            long t0 = System.nanoTime();
            long[] revs = putAll(putChannel, prefix, n);
            double secs = (System.nanoTime() - t0) / 1e9;
            reader.awaitAll(60);
            reader.verify(revs);
            System.out.printf("[SlowWatcherIT] %d puts on %s in %.1f s (%.0f/s), all seen by the reading watcher%n",
                    n, prefix, secs, n / secs);
            return revs;
        }
    }

    /** Puts n keys prefix+%06d with ~100-byte values, IN_FLIGHT at a time; their revisions by key index. */
    static long[] putAll(ManagedChannel ch, String prefix, int n) throws InterruptedException {
        KVGrpc.KVStub kv = KVGrpc.newStub(ch);
        long[] revs = new long[n];
        Semaphore window = new Semaphore(IN_FLIGHT);
        CountDownLatch done = new CountDownLatch(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < n && failure.get() == null; i++) {
            if (!window.tryAcquire(60, TimeUnit.SECONDS)) {
                throw new AssertionError("no put completed for 60 s");
            }
            int idx = i;
            kv.withDeadlineAfter(60, TimeUnit.SECONDS).put(PutRequest.newBuilder().setKey(bs(key(prefix, i)))
                    .setValue(bs(value(i))).build(), new StreamObserver<>() {
                @Override
                public void onNext(PutResponse r) {
                    revs[idx] = r.getHeader().getRevision();
                }

                @Override
                public void onError(Throwable t) {
                    failure.compareAndSet(null, t);
                    window.release();
                    done.countDown();
                }

                @Override
                public void onCompleted() {
                    window.release();
                    done.countDown();
                }
            });
        }
        assertNull(failure.get(), () -> "a put failed: " + failure.get());
        assertTrue(done.await(120, TimeUnit.SECONDS), "puts did not finish");
        assertNull(failure.get(), () -> "a put failed: " + failure.get());
        return revs;
    }

    static String key(String prefix, int i) {
        return String.format("%s%06d", prefix, i);
    }

    static String value(int i) {
        StringBuilder sb = new StringBuilder(100).append(String.format("%06d:", i));
        while (sb.length() < 100) {
            sb.append((char) ('a' + (sb.length() * 7 + i) % 26));
        }
        return sb.toString();
    }

    static ByteString bs(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    static WatchRequest createOn(String prefix) {
        return WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder().setKey(bs(prefix))
                .setRangeEnd(bs(CrashRecoveryIT.prefixEnd(prefix)))).build();
    }

    /** With -Dslowwatcher.histogram=true: the 25 biggest classes on the heap, to see what is retained. */
    static void histogram(String when) throws Exception {
        if (!Boolean.getBoolean("slowwatcher.histogram")) {
            return;
        }
        Object out = ManagementFactory.getPlatformMBeanServer().invoke(
                new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        String[] lines = out.toString().split("\n");
        System.out.println("[SlowWatcherIT] heap histogram " + when + ":\n"
                + String.join("\n", Arrays.copyOfRange(lines, 0, Math.min(lines.length, 28))));
    }

    /** Java heap used after full GCs, plus direct buffers (JDK pools and Netty's own counter). */
    static long usedMemoryAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            used += pool.getMemoryUsed();
        }
        long netty = io.netty.util.internal.PlatformDependent.usedDirectMemory();
        return used + Math.max(0, netty);
    }

    /**
     * A watch stream whose client asks gRPC for exactly one message (the "created" response) and then nothing:
     * HTTP/2 flow control stops the server once the transport window is full.
     */
    static final class StalledWatcher {
        final ClientCall<WatchRequest, WatchResponse> call;
        final long[] revisions = new long[N];
        final AtomicInteger events = new AtomicInteger();
        final AtomicReference<String> error = new AtomicReference<>();
        private final CountDownLatch created = new CountDownLatch(1);
        private long lastRev;

        StalledWatcher(ManagedChannel ch, String prefix) throws InterruptedException {
            call = ch.newCall(WatchGrpc.getWatchMethod(), CallOptions.DEFAULT);
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(WatchResponse r) {
                    if (r.getCreated()) {
                        created.countDown();
                        return;
                    }
                    if (r.getCanceled()) {
                        error.compareAndSet(null, "canceled: compact_revision=" + r.getCompactRevision() + " reason="
                                + r.getCancelReason());
                        return;
                    }
                    for (Event e : r.getEventsList()) {
                        long rev = e.getKv().getModRevision();
                        if (rev <= lastRev) {
                            error.compareAndSet(null, "event at revision " + rev + " after " + lastRev);
                        }
                        lastRev = rev;
                        int j = events.getAndIncrement();
                        if (j < N) {
                            revisions[j] = rev;
                        } else {
                            error.compareAndSet(null, "more than " + N + " events");
                        }
                    }
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    if (!status.isOk() && status.getCode() != Status.Code.CANCELLED) {
                        error.compareAndSet(null, "stream closed: " + status);
                    }
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(createOn(prefix));
            if (!created.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("stalled watcher not created within 10 s");
            }
        }

        void awaitEvents(int n, int seconds) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (events.get() < n && error.get() == null && System.nanoTime() < end) {
                Thread.sleep(20);
            }
        }
    }

    /** A watcher that reads everything at once and checks every event against what was put. */
    static final class ReadingWatcher implements AutoCloseable {
        private final String prefix;
        private final int n;
        private final long[] revisions;
        private final int[] keyIndex;
        private final AtomicInteger events = new AtomicInteger();
        private final AtomicReference<String> error = new AtomicReference<>();
        private final CountDownLatch created = new CountDownLatch(1);
        private final StreamObserver<WatchRequest> requests;
        private long lastRev;

        ReadingWatcher(ManagedChannel ch, String prefix, int n) throws InterruptedException {
            this.prefix = prefix;
            this.n = n;
            this.revisions = new long[n];
            this.keyIndex = new int[n];
            requests = WatchGrpc.newStub(ch).watch(new StreamObserver<>() {
                @Override
                public void onNext(WatchResponse r) {
                    if (r.getCreated()) {
                        created.countDown();
                        return;
                    }
                    if (r.getCanceled()) {
                        error.compareAndSet(null, "canceled: " + r);
                        return;
                    }
                    for (Event e : r.getEventsList()) {
                        onEvent(e);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    error.compareAndSet(null, "stream failed: " + t);
                }

                @Override
                public void onCompleted() {
                }
            });
            requests.onNext(createOn(prefix));
            if (!created.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("watcher not created within 10 s");
            }
        }

        private void onEvent(Event e) {
            long rev = e.getKv().getModRevision();
            if (e.getType() != Event.EventType.PUT) {
                error.compareAndSet(null, "unexpected " + e.getType());
            }
            if (rev <= lastRev) {
                error.compareAndSet(null, "event at revision " + rev + " after " + lastRev + " (out of order or repeated)");
            }
            lastRev = rev;
            String k = e.getKv().getKey().toStringUtf8();
            int idx = Integer.parseInt(k.substring(prefix.length()));
            if (!e.getKv().getValue().toStringUtf8().equals(value(idx))) {
                error.compareAndSet(null, "wrong value for " + k);
            }
            int j = events.getAndIncrement();
            if (j >= n) {
                error.compareAndSet(null, "more than " + n + " events");
                return;
            }
            revisions[j] = rev;
            keyIndex[j] = idx;
        }

        void awaitAll(int seconds) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (events.get() < n && error.get() == null && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            Thread.sleep(200); // a duplicate would show up now
            assertNull(error.get(), () -> "reading watcher on " + prefix + ": " + error.get());
            assertEquals(n, events.get(), "events seen by the reading watcher on " + prefix);
        }

        /** Every put seen once, at the revision the put was acknowledged with, in revision order. */
        void verify(long[] putRevisions) {
            for (int j = 0; j < n; j++) {
                if (putRevisions[keyIndex[j]] != revisions[j]) {
                    throw new AssertionError("event " + j + " for key " + keyIndex[j] + " has revision " + revisions[j]
                            + " but the put was acknowledged at " + putRevisions[keyIndex[j]]);
                }
            }
            boolean[] seen = new boolean[n];
            for (int j = 0; j < n; j++) {
                assertTrue(!seen[keyIndex[j]], "key " + keyIndex[j] + " seen twice");
                seen[keyIndex[j]] = true;
            }
        }

        @Override
        public void close() {
            try {
                requests.onError(new RuntimeException("test done"));
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
    }

    /** A client channel of its own, so one stream's flow control never touches another's connection. */
    static final class Chan implements AutoCloseable {
        final ManagedChannel ch;

        Chan(int port) {
            ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                    .maxInboundMessageSize(64 * 1024 * 1024).build();
        }

        @Override
        public void close() throws InterruptedException {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
