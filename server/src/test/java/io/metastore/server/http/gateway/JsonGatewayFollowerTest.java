package io.metastore.server.http.gateway;

import com.google.gson.JsonObject;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestCluster;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.http.gateway.GatewayCalls.b64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway of a follower: writes and lease renewals are relayed to the leader, and a one-shot keep-alive
 * (Patroni's) still gets its answer before the stream ends, although the client half-closed at once.
 */
class JsonGatewayFollowerTest {

    @Test
    void oneShotKeepAliveOnAFollowerAnswersBeforeItEnds() throws Exception {
        try (TestCluster cluster = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            int leader = awaitLeader(cluster);
            int follower = (leader + 1) % cluster.size();
            GatewayCalls gw = new GatewayCalls(cluster.member(follower).jsonGateway());

            gw.post("/v3/kv/put", "{\"key\":\"" + b64("f/a") + "\",\"value\":\"" + b64("1") + "\"}");
            String id = gw.post("/v3/lease/grant", "{\"TTL\":60}").get("ID").getAsString();
            for (int round = 0; round < 3; round++) {
                CollectingResponder keepAlive = gw.send("/v3/lease/keepalive", "{\"ID\":\"" + id + "\"}").awaitEnd();
                assertEquals(200, keepAlive.status());
                List<JsonObject> lines = keepAlive.lines();
                assertEquals(1, lines.size(), "round " + round + ": " + lines);
                assertEquals(id, lines.get(0).getAsJsonObject("result").get("ID").getAsString());
                assertEquals("60", lines.get(0).getAsJsonObject("result").get("TTL").getAsString());
            }
            JsonObject ttl = gw.post("/v3/lease/timetolive", "{\"ID\":\"" + id + "\"}");
            assertTrue(Long.parseLong(ttl.get("TTL").getAsString()) > 50, ttl.toString());
        }
    }

    private static int awaitLeader(TestCluster cluster) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            int l = cluster.leader();
            if (l >= 0) {
                boolean allKnow = true;
                for (int i = 0; i < cluster.size(); i++) {
                    allKnow &= cluster.member(i).server().leaderName() != null;
                }
                if (allKnow) {
                    return l;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no leader known to all members within 30 s");
    }
}
