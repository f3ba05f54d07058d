package io.metastore.server.process;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.etcdserverpb.WatchRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import io.metastore.proto.mvccpb.Event;
import io.metastore.proto.mvccpb.KeyValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.process.CrashRecoveryIT.bs;
import static io.metastore.server.process.CrashRecoveryIT.prefixEnd;
import static io.metastore.server.process.FaultChecks.secondsSince;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A watch opened on a follower's client port stays open across a kill -9 of the leader and its restart, while
 * writers put keys through every member. The watcher must see each change exactly once: event revisions strictly
 * increase, no (key, revision) twice, and for every key in the final store (read on the follower after all members
 * converged) its events are exactly its versions, the last one at its mod revision with its value. Every
 * acknowledged put is in the store.
 */
class FollowerWatchFailoverIT {
    private static final String PREFIX = "wf/";

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void followerWatchSeesEveryChangeOnceAcrossALeaderKill() throws Exception {
        try (ClusterProcesses c = ClusterProcesses.onLoopback("FollowerWatchFailoverIT", 3, "rocksdb").startAll()) {
            int leader = c.awaitLeader(Duration.ofSeconds(20));
            int watched = (leader + 1) % c.size();
            ManagedChannel wch = c.member(watched).channel();
            Watcher w = new Watcher();
            try {
                StreamObserver<WatchRequest> req = WatchGrpc.newStub(wch).watch(w);
                req.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                        .setKey(bs(PREFIX)).setRangeEnd(bs(prefixEnd(PREFIX)))).build());
                assertTrue(w.created.await(10, TimeUnit.SECONDS), "watch not created on the follower");

                int killed;
                try (ClusterLoad load = new ClusterLoad(c, PREFIX, 3).start()) {
                    assertTrue(load.awaitAcks(200, Duration.ofSeconds(30)), "slow load");
                    killed = c.awaitLeader(Duration.ofSeconds(5));
                    assertNotEquals(watched, killed, "the watched follower became leader before the kill");
                    c.member(killed).kill9();
                    long tKill = System.nanoTime();
                    int elected = c.awaitLeader(c.allBut(killed), i -> true, Duration.ofSeconds(30));
                    System.out.printf("[watch] killed leader %s with %d acks, %d events seen on %s; %s leads after"
                                    + " %.2f s%n", ClusterProcesses.name(killed), load.acked(), w.eventCount(),
                            ClusterProcesses.name(watched), ClusterProcesses.name(elected), secondsSince(tKill));
                    assertTrue(load.awaitAcks(load.acked() + 200, Duration.ofSeconds(30)), "load stalled after kill");
                    c.restart(killed);
                    assertTrue(load.awaitAcks(load.acked() + 200, Duration.ofSeconds(30)), "load stalled after"
                            + " restart");
                    load.stop();
                    assertTrue(load.abandoned.isEmpty(), "puts given up: " + load.abandoned);
                    FaultChecks.Converged r = FaultChecks.assertConvergedWithEveryAck(c, c.all(), PREFIX, load.acks,
                            Duration.ofSeconds(30));
                    System.out.printf("[watch] %d puts acknowledged (%d retried, %d applied twice); store at revision"
                                    + " %d with %d keys%n", load.acked(), r.retriedAcks(), r.appliedTwice(),
                            r.revision(), r.keys());
                }

                // the watcher catches up with the final store
                Map<String, KeyValue> store = c.localKeys(watched, PREFIX);
                long maxMod = store.values().stream().mapToLong(KeyValue::getModRevision).max().orElseThrow();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (w.lastRevision() < maxMod && w.error == null && System.nanoTime() < end) {
                    Thread.sleep(20);
                }
                assertNull(w.error, "the follower's watch stream failed: " + w.error);
                assertTrue(!w.completed, "the follower's watch stream was closed by the server");
                assertTrue(w.canceled.isEmpty(), "the watch was canceled: " + w.canceled);

                List<Event> events = w.events();
                long prev = 0;
                Set<String> seen = new HashSet<>();
                Map<String, List<KeyValue>> byKey = new HashMap<>();
                List<String> problems = new ArrayList<>();
                for (Event e : events) {
                    KeyValue kv = e.getKv();
                    String k = kv.getKey().toStringUtf8();
                    if (e.getType() != Event.EventType.PUT) {
                        problems.add("unexpected " + e.getType() + " of " + k);
                    }
                    if (kv.getModRevision() <= prev) {
                        problems.add("revision " + kv.getModRevision() + " (" + k + ") after " + prev);
                    }
                    if (!seen.add(k + "@" + kv.getModRevision())) {
                        problems.add("twice: " + k + "@" + kv.getModRevision());
                    }
                    prev = Math.max(prev, kv.getModRevision());
                    byKey.computeIfAbsent(k, x -> new ArrayList<>()).add(kv);
                    if (problems.size() > 10) {
                        break;
                    }
                }
                long total = 0;
                for (Map.Entry<String, KeyValue> s : store.entrySet()) {
                    KeyValue kv = s.getValue();
                    total += kv.getVersion();
                    List<KeyValue> got = byKey.getOrDefault(s.getKey(), List.of());
                    if (got.size() != kv.getVersion()) {
                        problems.add(s.getKey() + ": " + got.size() + " events, version " + kv.getVersion());
                    } else if (!got.get(got.size() - 1).equals(kv)) {
                        problems.add(s.getKey() + ": last event " + FaultChecks.brief(got.get(got.size() - 1))
                                + " vs stored " + FaultChecks.brief(kv));
                    }
                    if (problems.size() > 20) {
                        break;
                    }
                }
                for (String k : byKey.keySet()) {
                    if (!store.containsKey(k)) {
                        problems.add("event for " + k + ", which is not in the store");
                    }
                }
                long first = events.isEmpty() ? 0 : events.get(0).getKv().getModRevision();
                boolean dense = events.size() == prev - first + 1;
                System.out.printf("[watch] %d events on %s over revisions %d..%d (%s), %d expected from the store's"
                                + " versions; %d watch responses%n", events.size(), ClusterProcesses.name(watched),
                        first, prev, dense ? "no revision missing" : "some revisions are not under the prefix", total,
                        w.responses);
                assertTrue(problems.isEmpty(), "watch vs store: " + problems);
                assertEquals(total, events.size(), "events vs sum of versions");
            } finally {
                wch.shutdownNow();
                wch.awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /** Collects the events of one watch stream. */
    static final class Watcher implements StreamObserver<WatchResponse> {
        final CountDownLatch created = new CountDownLatch(1);
        private final List<Event> events = new ArrayList<>();
        final List<String> canceled = new ArrayList<>();
        volatile Throwable error;
        volatile boolean completed;
        volatile int responses;

        @Override
        public synchronized void onNext(WatchResponse r) {
            responses++;
            if (r.getCreated()) {
                created.countDown();
            }
            if (r.getCanceled()) {
                canceled.add(r.getCancelReason() + " compact=" + r.getCompactRevision());
            }
            events.addAll(r.getEventsList());
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onCompleted() {
            completed = true;
        }

        synchronized int eventCount() {
            return events.size();
        }

        synchronized long lastRevision() {
            return events.isEmpty() ? 0 : events.get(events.size() - 1).getKv().getModRevision();
        }

        synchronized List<Event> events() {
            return List.copyOf(events);
        }
    }
}
