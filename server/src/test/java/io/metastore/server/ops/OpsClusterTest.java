package io.metastore.server.ops;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.metastore.server.MetaStore;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestCluster;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Metrics and health that need peers: round trips, a leader change, and a member left without a quorum. */
class OpsClusterTest {

    @Test
    void leaderChangeRoundTripsAndLossOfQuorum() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            await(() -> c.leader() >= 0, "a leader");
            int leader = c.leader();
            int follower = (leader + 1) % 3;
            int other = (leader + 2) % 3;
            MetaStore l = c.member(leader);
            for (int i = 0; i < 5; i++) {
                l.server().put(io.metastore.auth.AuthInfo.NONE, io.metastore.proto.etcdserverpb.PutRequest.newBuilder()
                        .setKey(com.google.protobuf.ByteString.copyFromUtf8("k" + i)).build()).get(10, TimeUnit.SECONDS);
            }

            // the leader measures each follower's AppendEntries round trip, labelled with the follower's member ID
            String to = "To=\"" + Long.toHexString(c.member(follower).server().memberId()) + "\"";
            Scrape atLeader = Scrape.of(l);
            atLeader.assertType("etcd_network_peer_round_trip_time_seconds", "histogram");
            assertTrue(atLeader.sum("etcd_network_peer_round_trip_time_seconds_count", to) > 0, atLeader.text);
            // etcd's first bucket, 0.1 ms; the Java client writes le="1.0E-4" where Go writes "0.0001" (the same float
            // to Prometheus, which parses le, and Prometheus 3 normalizes it on ingestion)
            assertTrue(atLeader.samples.containsKey(
                    "etcd_network_peer_round_trip_time_seconds_bucket{To=\"" + Long.toHexString(
                            c.member(follower).server().memberId()) + "\",le=\"1.0E-4\"}"), atLeader.text);
            Scrape atFollower = Scrape.of(c.member(follower));
            assertEquals(0, atFollower.value("etcd_server_is_leader"));
            assertEquals(1, atFollower.value("etcd_server_has_leader"));
            double changesBefore = atFollower.value("etcd_server_leader_changes_seen_total");
            assertTrue(changesBefore >= 1);

            // a leader change is seen by the follower that stays a follower
            l.server().members().moveLeader(c.member(other).server().memberId()).get(30, TimeUnit.SECONDS);
            await(() -> c.leader() == other, "leadership moved");
            await(() -> Scrape.of(c.member(follower)).value("etcd_server_leader_changes_seen_total") > changesBefore,
                    "leader_changes_seen_total grew");
            assertEquals(1, Scrape.of(c.member(other)).value("etcd_server_is_leader"));

            // without its two peers the survivor has no leader: /health says so, serializable health still reads
            c.stop(leader);
            c.stop(other);
            MetaStore survivor = c.member(follower);
            await(() -> survivor.server().leaderName() == null, "the survivor lost its leader");
            assertEquals(new RouteCall.Answer(503, "text/plain; charset=utf-8",
                    "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}\n"), RouteCall.get(survivor, "/health"));
            assertEquals(200, RouteCall.get(survivor, "/health", "serializable=true").status());
            assertEquals("ok\n", RouteCall.get(survivor, "/livez").body());
            assertEquals(0, Scrape.of(survivor).value("etcd_server_has_leader"));
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", survivor.clientPort()).usePlaintext().build();
            try {
                HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(ch);
                await(() -> health.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance())
                        .getStatus() == ServingStatus.NOT_SERVING, "gRPC health NOT_SERVING");
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /** Polls (bounded, 30 s). */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
