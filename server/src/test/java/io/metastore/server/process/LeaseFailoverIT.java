package io.metastore.server.process;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveRequest;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveResponse;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.mvccpb.KeyValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.metastore.server.process.CrashRecoveryIT.bs;
import static io.metastore.server.process.FaultChecks.secondsSince;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Leases across a kill -9 of the leader. Lease A is kept alive through a follower (a LeaseKeepAlive stream on the
 * follower's client port, renewed every second and reopened when it fails, as etcd clients do); lease B is granted
 * and abandoned; both have a 5 s TTL and a key attached. After the leader is killed: B's key must be gone on every
 * member within B's TTL plus the time to elect a leader plus slack, while A and its key must still exist more than
 * 2 x TTL after the kill, on every member (the killed one restarted too).
 */
class LeaseFailoverIT {
    private static final long TTL = 5;
    private static final String KEY_A = "lf/a";
    private static final String KEY_B = "lf/b";
    /** B's key is gone within TTL + new-leader bound + the promotion's election-timeout extension + slack. */
    private static final Duration B_GONE_BOUND = Duration.ofSeconds(TTL).plus(LeaderKillIT.NEW_LEADER_BOUND)
            .plus(ClusterProcesses.ELECTION_TIMEOUT).plusSeconds(3);

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void keptAliveLeaseSurvivesLeaderKillAndAbandonedOneExpires() throws Exception {
        try (ClusterProcesses c = ClusterProcesses.onLoopback("LeaseFailoverIT", 3, "rocksdb").startAll()) {
            int leader = c.awaitLeader(Duration.ofSeconds(20));
            int follower = (leader + 1) % c.size();
            int other = (leader + 2) % c.size();
            long a = LeaseGrpc.newBlockingStub(c.channel(follower)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(TTL).build()).getID();
            c.kv(follower, Duration.ofSeconds(10)).put(PutRequest.newBuilder().setKey(bs(KEY_A)).setValue(bs("a"))
                    .setLease(a).build());
            try (KeepAliver keeper = new KeepAliver(c.member(follower).channel(), a)) {
                long b = LeaseGrpc.newBlockingStub(c.channel(other)).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(TTL).build()).getID();
                c.kv(other, Duration.ofSeconds(10)).put(PutRequest.newBuilder().setKey(bs(KEY_B)).setValue(bs("b"))
                        .setLease(b).build());
                long tGrantB = System.nanoTime();
                Thread.sleep(1000);
                assertTrue(keeper.responses() > 0, "no keep-alive response through the follower: " + keeper.errors());

                int killed = c.awaitLeader(Duration.ofSeconds(5));
                c.member(killed).kill9();
                long tKill = System.nanoTime();
                List<Integer> survivors = c.allBut(killed);
                int elected = c.awaitLeader(survivors, i -> true, Duration.ofSeconds(30));
                System.out.printf("[lease] killed leader %s %.2f s after granting B; %s leads after %.2f s%n",
                        ClusterProcesses.name(killed), (tKill - tGrantB) / 1e9, ClusterProcesses.name(elected),
                        secondsSince(tKill));

                // B's key goes away on the survivors
                long end = tKill + B_GONE_BOUND.toNanos() + TimeUnit.SECONDS.toNanos(10);
                while (survivors.stream().anyMatch(i -> c.localKeys(i, KEY_B).containsKey(KEY_B))
                        && System.nanoTime() < end) {
                    Thread.sleep(50);
                }
                double bGone = secondsSince(tKill);
                assertTrue(survivors.stream().noneMatch(i -> c.localKeys(i, KEY_B).containsKey(KEY_B)),
                        KEY_B + " still there " + bGone + " s after the kill");
                System.out.printf("[lease] B's key gone on the survivors %.2f s after the kill (%.2f s after the"
                        + " grant)%n", bGone, secondsSince(tGrantB));
                assertTrue(bGone <= B_GONE_BOUND.toMillis() / 1000.0, "B's key outlived the bound " + B_GONE_BOUND
                        + ": " + bGone + " s after the kill");

                // A outlives 2 x TTL after the kill
                long aCheck = tKill + TimeUnit.SECONDS.toNanos(2 * TTL + 1);
                while (System.nanoTime() < aCheck) {
                    for (int i : survivors) {
                        assertTrue(c.localKeys(i, KEY_A).containsKey(KEY_A), KEY_A + " gone on "
                                + ClusterProcesses.name(i) + " " + secondsSince(tKill) + " s after the kill;"
                                + " keep-alive errors: " + keeper.errors());
                    }
                    Thread.sleep(250);
                }
                LeaseTimeToLiveResponse ttlA = LeaseGrpc.newBlockingStub(c.channel(follower))
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(a).setKeys(true).build());
                assertTrue(ttlA.getTTL() > 0, "lease A after the failover: " + ttlA);
                assertEquals(List.of(KEY_A), ttlA.getKeysList().stream().map(k -> k.toStringUtf8()).toList());

                // the killed member comes back with the same view
                c.restart(killed);
                c.awaitConverged(c.all(), Duration.ofSeconds(20));
                for (int i : c.all()) {
                    KeyValue kvA = c.localKeys(i, KEY_A).get(KEY_A);
                    assertTrue(kvA != null && kvA.getLease() == a, KEY_A + " on " + ClusterProcesses.name(i) + ": "
                            + FaultChecks.brief(kvA));
                    assertTrue(!c.localKeys(i, KEY_B).containsKey(KEY_B), KEY_B + " back on "
                            + ClusterProcesses.name(i));
                }
                LeaseTimeToLiveResponse ttlB = LeaseGrpc.newBlockingStub(c.channel(killed))
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(b).build());
                assertEquals(-1, ttlB.getTTL(), "lease B should be gone: " + ttlB);
                System.out.printf("[lease] keep-alive through %s: %d responses, longest gap %.2f s, last TTL %d,"
                                + " stream failures (reopened): %s%n", ClusterProcesses.name(follower),
                        keeper.responses(), keeper.longestGapSeconds(), keeper.lastTtl(), keeper.errors());
                assertEquals(TTL, keeper.lastTtl(), "the last keep-alive response's TTL");
            }
        }
    }

    /** Renews one lease every second on a stream; after the stream fails the next renewal opens a new one. */
    static final class KeepAliver implements AutoCloseable {
        private final ManagedChannel channel;
        private final long id;
        private final Thread thread;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<String> errors = new ArrayList<>();
        private long lastResponse;
        private long longestGap;
        private long lastTtl = -2;
        private int responses;
        private StreamObserver<LeaseKeepAliveRequest> stream;
        private final long t0 = System.nanoTime();

        KeepAliver(ManagedChannel channel, long id) {
            this.channel = channel;
            this.id = id;
            this.thread = new Thread(this::run, "keep-alive-" + id);
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            while (!stop.get()) {
                try {
                    StreamObserver<LeaseKeepAliveRequest> s = stream();
                    s.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
                } catch (RuntimeException e) {
                    failed(e);
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private synchronized StreamObserver<LeaseKeepAliveRequest> stream() {
            if (stream == null) {
                stream = LeaseGrpc.newStub(channel).leaseKeepAlive(new StreamObserver<>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse r) {
                        synchronized (KeepAliver.this) {
                            long now = System.nanoTime();
                            if (lastResponse != 0) {
                                longestGap = Math.max(longestGap, now - lastResponse);
                            }
                            lastResponse = now;
                            lastTtl = r.getTTL();
                            responses++;
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        failed(t);
                    }

                    @Override
                    public void onCompleted() {
                        failed(new IllegalStateException("completed by the server"));
                    }
                });
            }
            return stream;
        }

        private synchronized void failed(Throwable t) {
            String what = t instanceof StatusRuntimeException e ? ClusterLoad.describe(e) : t.toString();
            errors.add(String.format("+%.1fs %s", (System.nanoTime() - t0) / 1e9, what));
            stream = null; // the next renewal opens a new stream
        }

        synchronized int responses() {
            return responses;
        }

        synchronized long lastTtl() {
            return lastTtl;
        }

        synchronized double longestGapSeconds() {
            return longestGap / 1e9;
        }

        synchronized List<String> errors() {
            return List.copyOf(errors);
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.interrupt();
            thread.join(5000);
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
