package io.metastore.server.process;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveRequest;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveResponse;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.etcdserverpb.WatchRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import io.metastore.proto.mvccpb.KeyValue;
import io.metastore.server.process.CrashRecoveryIT.Ack;
import io.metastore.server.process.CrashRecoveryIT.Closer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static io.metastore.server.process.CrashRecoveryIT.bs;
import static io.metastore.server.process.CrashRecoveryIT.prefixEnd;
import static io.metastore.server.process.CrashRecoveryIT.readyCounts;
import static io.metastore.server.process.CrashRecoveryIT.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM stops a member process gracefully (exit 0, bounded) without losing an acknowledged write; a second
 * SIGTERM during the shutdown ends the process at once, still without losing one; a process frozen (SIGSTOP)
 * for longer than a lease's TTL keeps that lease, and a SIGTERM that arrives while it is frozen is acted on when
 * it resumes. Each start must log "ready to serve client requests" exactly once.
 */
class GracefulShutdownIT {
    private static final String PREFIX = "term/";
    private static final Duration GRACEFUL_BOUND = Duration.ofSeconds(15);
    private static final Duration AT_ONCE_BOUND = Duration.ofSeconds(5);
    private static final String STOPPED_LINE = "stopped \\(name=m1\\)";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rocksdb", "memory"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sigtermUnderLoadExitsZeroAndKeepsEveryAcknowledgedWrite(String engine) throws Exception {
        try (MemberProcess member = new MemberProcess("GracefulShutdownIT-term-" + engine, engine)) {
            member.start();
            ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
            try (Closer ch = new Closer(member.channel()); Closer wch = new Closer(member.channel());
                 Load load = new Load(ch.channel, acks)) {
                // an open watch stream, as every real deployment has: it must not hold the shutdown up
                CountDownLatch watchEnded = new CountDownLatch(1);
                AtomicInteger watchEvents = new AtomicInteger();
                StreamObserver<WatchRequest> watch = WatchGrpc.newStub(wch.channel).watch(new StreamObserver<>() {
                    @Override
                    public void onNext(WatchResponse r) {
                        watchEvents.addAndGet(r.getEventsCount());
                    }

                    @Override
                    public void onError(Throwable t) {
                        watchEnded.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        watchEnded.countDown();
                    }
                });
                watch.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                        .setKey(bs(PREFIX)).setRangeEnd(bs(prefixEnd(PREFIX)))).build());
                CrashRecoveryIT.awaitAcks(acks, 40, 5000);
                load.signalled.set(true);
                long t0 = System.nanoTime();
                member.sigterm();
                Integer code = member.awaitExit(GRACEFUL_BOUND);
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf("[%s] SIGTERM under load with an open watch: exit %s after %.2f s, %d writes"
                        + " acknowledged, %d watch events received%n", engine, code, secs, acks.size(), watchEvents.get());
                assertTrue(watchEnded.await(5, TimeUnit.SECONDS), "the watch stream did not end with the process");
                assertNotNull(code, "still running " + GRACEFUL_BOUND.toSeconds() + " s after SIGTERM; log:\n"
                        + MemberProcess.tail(member.currentLog(), 40));
                assertEquals(0, code, "exit code after SIGTERM; log:\n" + MemberProcess.tail(member.currentLog(), 40));
                load.stopAndCheck();
            }
            assertEquals(1, MemberProcess.count(member.currentLog(), STOPPED_LINE), "the graceful stop was logged");
            assertTrue(acks.size() > 5, "too little load: " + acks.size());

            member.start();
            verifyAfterRestart(member, acks);
            assertEquals(List.of(1, 1), readyCounts(member), "'" + MemberProcess.READY_LINE + "' once per start");
        }
    }

    /**
     * SIGTERM on the leader of three: it hands leadership to a follower before it stops (etcd's Stop does the
     * same), so the other two have an agreed leader while the old one is still shutting down, it exits 0, and no
     * acknowledged write is lost.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sigtermOnTheLeaderHandsLeadershipOverAndExitsZero() throws Exception {
        try (ClusterProcesses c = ClusterProcesses.onLoopback("GracefulShutdownIT-leader", 3, "rocksdb").startAll()) {
            int leader = c.awaitLeader(Duration.ofSeconds(30));
            MemberProcess old = c.member(leader);
            List<Integer> others = c.allBut(leader);
            ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
            try (Closer ch = new Closer(c.member(others.get(0)).channel()); Load load = new Load(ch.channel, acks)) {
                CrashRecoveryIT.awaitAcks(acks, 40, 5000);
                long t0 = System.nanoTime();
                old.sigterm();
                Integer code = old.awaitExit(GRACEFUL_BOUND);
                double secs = (System.nanoTime() - t0) / 1e9;
                assertEquals(0, code, "exit code; log:\n" + MemberProcess.tail(old.currentLog(), 40));
                assertEquals(1, MemberProcess.count(old.currentLog(), "handed leadership to"),
                        "the leader handed over before stopping; log:\n" + MemberProcess.tail(old.currentLog(), 40));
                int next = c.awaitLeader(others, i -> true, Duration.ofSeconds(5));
                System.out.printf("[leader term] exit 0 %.2f s after SIGTERM; %s leads now%n", secs,
                        ClusterProcesses.name(next));
                // the writer's member forwarded through the hand-off: not one of its writes failed, and they go on
                int before = acks.size();
                CrashRecoveryIT.awaitAcks(acks, before + 20, 10_000);
                assertTrue(acks.size() >= before + 20, "writes go on through the new leader: " + load.errors());
                load.stopAndCheck();
            }
            for (Ack a : acks) {
                RangeResponse r = c.kv(others.get(1), Duration.ofSeconds(5)).range(RangeRequest.newBuilder()
                        .setKey(bs(a.key())).build());
                assertEquals(1, r.getCount(), "acknowledged write " + a.key() + " survives the leader's stop");
            }
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void secondSigtermExitsAtOnceAndLosesNothing() throws Exception {
        try (MemberProcess member = new MemberProcess("GracefulShutdownIT-term-twice", "rocksdb")) {
            member.start();
            ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
            try (Closer ch = new Closer(member.channel()); Load load = new Load(ch.channel, acks)) {
                CrashRecoveryIT.awaitAcks(acks, 40, 5000);
                load.signalled.set(true);
                member.sigterm();
                Thread.sleep(50);
                long t0 = System.nanoTime();
                try {
                    member.sigterm();
                } catch (IllegalStateException e) {
                    assertFalse(member.isAlive(), "second SIGTERM failed: " + e);  // the first one was quicker
                }
                Integer code = member.awaitExit(AT_ONCE_BOUND);
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf("[term twice] exit %s %.2f s after the second SIGTERM, %d writes acknowledged%n",
                        code, secs, acks.size());
                assertNotNull(code, "still running " + AT_ONCE_BOUND.toSeconds() + " s after a second SIGTERM; log:\n"
                        + MemberProcess.tail(member.currentLog(), 40));
                load.stopAndCheck();
            }
            member.start();
            verifyAfterRestart(member, acks);
            assertEquals(List.of(1, 1), readyCounts(member), "'" + MemberProcess.READY_LINE + "' once per start");
        }
    }

    /**
     * SIGSTOP longer than a lease's TTL, then SIGCONT: the lease's owner could not renew while the member was
     * frozen, so the lease must survive and a keep-alive right after must renew it (docs/architecture.md, Leases);
     * then a SIGTERM that arrives while the process is frozen is acted on when it resumes.
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void frozenProcessKeepsLeasesAndHandlesSigtermOnResume() throws Exception {
        try (MemberProcess member = new MemberProcess("GracefulShutdownIT-stop-cont", "rocksdb")) {
            member.start();
            List<Ack> acks = new ArrayList<>();
            try (Closer ch = new Closer(member.channel())) {
                for (int i = 0; i < 20; i++) {
                    String k = PREFIX + "frozen/" + i;
                    String v = value("frozen", i);
                    long rev = MemberProcess.kv(ch.channel).put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v))
                            .build()).getHeader().getRevision();
                    acks.add(new Ack(k, v, rev, 0));
                }
                long ttl = 4;
                long lease = MemberProcess.lease(ch.channel).leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttl).build())
                        .getID();
                String lk = PREFIX + "frozen/leased";
                long rev = MemberProcess.kv(ch.channel).put(PutRequest.newBuilder().setKey(bs(lk)).setValue(bs("v"))
                        .setLease(lease).build()).getHeader().getRevision();

                member.sigstop();
                Thread.sleep(TimeUnit.SECONDS.toMillis(ttl) + 2000);
                member.sigcont();
                Thread.sleep(1000); // the member notices the stall on its next timer tick
                LeaseTimeToLiveResponse left = MemberProcess.lease(ch.channel).leaseTimeToLive(
                        LeaseTimeToLiveRequest.newBuilder().setID(lease).setKeys(true).build());
                assertTrue(left.getTTL() > 0, "lease after a " + (ttl + 2) + " s freeze: TTL " + left.getTTL()
                        + " (-1: revoked; 0: expired although its owner could not renew)");
                assertEquals(List.of(bs(lk)), left.getKeysList(), "keys of the lease");
                assertEquals(ttl, keepAlive(ch.channel, lease), "keep-alive right after the freeze renews the lease");
                RangeResponse r = MemberProcess.kv(ch.channel).range(RangeRequest.newBuilder().setKey(bs(lk)).build());
                assertEquals(1, r.getCount(), "the leased key after the freeze");
                assertEquals(rev, r.getKvs(0).getModRevision());
                MemberProcess.lease(ch.channel).leaseRevoke(LeaseRevokeRequest.newBuilder().setID(lease).build());
            }
            member.sigstop();
            member.sigterm();
            assertNull(member.awaitExit(Duration.ofSeconds(2)), "a SIGSTOPped process exited");
            member.sigcont();
            Integer code = member.awaitExit(GRACEFUL_BOUND);
            assertEquals(Integer.valueOf(0), code, "exit after SIGCONT; log:\n" + MemberProcess.tail(member.currentLog(), 40));
            assertEquals(1, MemberProcess.count(member.currentLog(), STOPPED_LINE), "the graceful stop was logged");
            member.start();
            verifyAfterRestart(member, acks);
            assertEquals(List.of(1, 1), readyCounts(member), "'" + MemberProcess.READY_LINE + "' once per start");
        }
    }

    /** One LeaseKeepAlive round trip; the TTL the member answers (0: lease unknown or expired). */
    private static long keepAlive(ManagedChannel ch, long lease) throws InterruptedException {
        CountDownLatch got = new CountDownLatch(1);
        AtomicLong ttl = new AtomicLong(Long.MIN_VALUE);
        StreamObserver<LeaseKeepAliveRequest> req = LeaseGrpc.newStub(ch).withDeadlineAfter(15, TimeUnit.SECONDS)
                .leaseKeepAlive(new StreamObserver<>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse r) {
                        ttl.set(r.getTTL());
                        got.countDown();
                    }

                    @Override
                    public void onError(Throwable t) {
                        got.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        got.countDown();
                    }
                });
        req.onNext(LeaseKeepAliveRequest.newBuilder().setID(lease).build());
        assertTrue(got.await(15, TimeUnit.SECONDS), "no keep-alive answer");
        req.onCompleted();
        return ttl.get();
    }

    /** Every acknowledged write is there with its value and revision; the member writes at the next revision. */
    private static void verifyAfterRestart(MemberProcess member, Iterable<Ack> acks) throws InterruptedException {
        try (Closer ch = new Closer(member.channel())) {
            RangeResponse all = MemberProcess.kv(ch.channel).range(RangeRequest.newBuilder().setKey(bs(PREFIX))
                    .setRangeEnd(bs(prefixEnd(PREFIX))).build());
            long current = all.getHeader().getRevision();
            Map<String, KeyValue> stored = new HashMap<>();
            all.getKvsList().forEach(kv -> stored.put(kv.getKey().toStringUtf8(), kv));
            long maxAck = 0;
            List<String> problems = new ArrayList<>();
            int n = 0;
            for (Ack a : acks) {
                n++;
                maxAck = Math.max(maxAck, a.revision());
                KeyValue kv = stored.get(a.key());
                if (kv == null || !kv.getValue().toStringUtf8().equals(a.value()) || kv.getModRevision() != a.revision()) {
                    if (problems.size() < 20) {
                        problems.add(a + " -> " + (kv == null ? "missing" : kv.getValue().toStringUtf8() + "@" + kv.getModRevision()));
                    }
                }
            }
            assertTrue(problems.isEmpty(), "acknowledged writes lost or changed (of " + n + "): " + problems);
            assertTrue(current >= maxAck, "revision went backwards: " + current + " < acknowledged " + maxAck);
            long next = MemberProcess.kv(ch.channel).put(PutRequest.newBuilder().setKey(bs(PREFIX + "after-restart"))
                    .setValue(bs("x")).build()).getHeader().getRevision();
            assertEquals(current + 1, next, "first write after the restart");
        }
    }

    /** Two clients writing sequentially with short pauses: light load that is in flight when the signal lands. */
    private static final class Load implements AutoCloseable {
        final AtomicBoolean signalled = new AtomicBoolean();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final List<String> errors = new ArrayList<>();

        Load(ManagedChannel ch, ConcurrentLinkedQueue<Ack> acks) {
            for (int t = 0; t < 2; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    long last = 0;
                    for (int i = 0; !stop.get(); i++) {
                        String k = PREFIX + "c" + id + "/" + i;
                        String v = value("c" + id, i);
                        try {
                            long rev = MemberProcess.kv(ch).put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v))
                                    .build()).getHeader().getRevision();
                            if (rev <= last) {
                                throw new AssertionError("revision " + rev + " after " + last);
                            }
                            last = rev;
                            acks.add(new Ack(k, v, rev, 0));
                            Thread.sleep(10);
                        } catch (InterruptedException e) {
                            return;
                        } catch (RuntimeException | AssertionError e) {
                            if (!signalled.get() || e instanceof AssertionError) {
                                synchronized (errors) {
                                    errors.add("client " + id + " op " + i + ": " + e);
                                }
                            }
                            return; // the member is going away
                        }
                    }
                }, "load-" + t);
                th.setDaemon(true);
                threads.add(th);
                th.start();
            }
        }

        String errors() {
            synchronized (errors) {
                return errors.toString();
            }
        }

        void stopAndCheck() throws InterruptedException {
            stop.set(true);
            for (Thread th : threads) {
                th.join(30_000);
                assertFalse(th.isAlive(), th.getName() + " still running");
            }
            synchronized (errors) {
                assertTrue(errors.isEmpty(), "writes failed before the signal: " + errors);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread th : threads) {
                th.interrupt();
                th.join(5_000);
            }
        }
    }
}
