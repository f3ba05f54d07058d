package io.metastore.server.http.gateway;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.metastore.server.http.gateway.GatewayCalls.b64;
import static io.metastore.server.http.gateway.GatewayCalls.unb64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway route of a real member, called through its {@code HttpRoute} interface as the transport calls
 * it: JSON in and out as etcd's gateway, streams as {"result":...} lines, errors as grpc-gateway v2.
 */
class JsonGatewayTest {
    private static TestMember member;
    private static GatewayCalls gw;

    @BeforeAll
    static void start() throws InterruptedException {
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY).awaitLeader();
        gw = new GatewayCalls(member.member().jsonGateway());
    }

    @AfterAll
    static void stop() {
        member.close();
    }

    @Test
    void putAndRangeSpeakProtoFieldNamesWithStringIntegersAndBase64() throws Exception {
        JsonObject put = gw.post("/v3/kv/put", "{\"key\":\"" + b64("pr/a") + "\",\"value\":\"" + b64("v1") + "\"}");
        JsonObject header = put.getAsJsonObject("header");
        assertTrue(header.get("cluster_id").isJsonPrimitive() && header.get("cluster_id").getAsJsonPrimitive().isString());
        assertTrue(header.get("revision").getAsJsonPrimitive().isString(), "int64 as a string: " + put);
        assertFalse(put.has("prev_kv"), "no prev_kv unless asked: " + put);

        JsonObject again = gw.post("/v3/kv/put",
                "{\"key\":\"" + b64("pr/a") + "\",\"value\":\"" + b64("v2") + "\",\"prev_kv\":true}");
        JsonObject prev = again.getAsJsonObject("prev_kv");
        assertEquals("v1", unb64(prev.get("value").getAsString()));
        assertEquals("1", prev.get("version").getAsString());
        assertTrue(prev.has("create_revision") && prev.has("mod_revision"), prev.toString());
        assertFalse(prev.has("lease"), "default values are left out: " + prev);

        JsonObject range = gw.post("/v3/kv/range", "{\"key\":\"" + b64("pr/a") + "\"}");
        JsonArray kvs = range.getAsJsonArray("kvs");
        assertEquals(1, kvs.size());
        assertEquals("pr/a", unb64(kvs.get(0).getAsJsonObject().get("key").getAsString()));
        assertEquals("v2", unb64(kvs.get(0).getAsJsonObject().get("value").getAsString()));
        assertEquals("1", range.get("count").getAsString());
        assertFalse(range.has("more"), range.toString());
    }

    @Test
    void rangeEndInBothSpellingsCountOnlyAndUnknownFields() throws Exception {
        for (String k : List.of("ro/a", "ro/b", "ro/c")) {
            gw.post("/v3/kv/put", "{\"key\":\"" + b64(k) + "\",\"value\":\"" + b64("x") + "\"}");
        }
        JsonObject snake = gw.post("/v3/kv/range",
                "{\"key\":\"" + b64("ro/") + "\",\"range_end\":\"" + b64("ro0") + "\",\"count_only\":true}");
        assertEquals("3", snake.get("count").getAsString());
        assertFalse(snake.has("kvs"), "count_only returns no kvs: " + snake);

        JsonObject camel = gw.post("/v3/kv/range",
                "{\"key\":\"" + b64("ro/") + "\",\"rangeEnd\":\"" + b64("ro0") + "\",\"keysOnly\":true,"
                        + "\"no_such_field\":{\"x\":[1,2]}}");
        assertEquals(3, camel.getAsJsonArray("kvs").size());
        assertFalse(camel.getAsJsonArray("kvs").get(0).getAsJsonObject().has("value"), "keys_only");
    }

    @Test
    void txnAndDeleteRange() throws Exception {
        gw.post("/v3/kv/put", "{\"key\":\"" + b64("tx/a") + "\",\"value\":\"" + b64("1") + "\"}");
        JsonObject txn = gw.post("/v3/kv/txn", "{\"compare\":[{\"key\":\"" + b64("tx/a") + "\",\"result\":\"EQUAL\","
                + "\"target\":\"VALUE\",\"value\":\"" + b64("1") + "\"}],"
                + "\"success\":[{\"request_put\":{\"key\":\"" + b64("tx/b") + "\",\"value\":\"" + b64("2") + "\"}},"
                + "{\"request_range\":{\"key\":\"" + b64("tx/a") + "\"}}]}");
        assertTrue(txn.get("succeeded").getAsBoolean(), txn.toString());
        JsonArray responses = txn.getAsJsonArray("responses");
        assertTrue(responses.get(0).getAsJsonObject().has("response_put"), txn.toString());
        assertEquals("1", unb64(responses.get(1).getAsJsonObject().getAsJsonObject("response_range")
                .getAsJsonArray("kvs").get(0).getAsJsonObject().get("value").getAsString()));

        JsonObject del = gw.post("/v3/kv/deleterange",
                "{\"key\":\"" + b64("tx/") + "\",\"range_end\":\"" + b64("tx0") + "\",\"prev_kv\":true}");
        assertEquals("2", del.get("deleted").getAsString());
        assertEquals(2, del.getAsJsonArray("prev_kvs").size());
    }

    @Test
    void leaseGrantTimeToLiveAndOneShotKeepAlive() throws Exception {
        JsonObject grant = gw.post("/v3/lease/grant", "{\"TTL\":60}");
        String id = grant.get("ID").getAsString();
        assertEquals("60", grant.get("TTL").getAsString());
        gw.post("/v3/kv/put", "{\"key\":\"" + b64("ls/a") + "\",\"lease\":\"" + id + "\"}");

        JsonObject ttl = gw.post("/v3/kv/lease/timetolive", "{\"ID\":\"" + id + "\",\"keys\":true}");
        assertEquals(id, ttl.get("ID").getAsString());
        assertEquals("60", ttl.get("grantedTTL").getAsString());
        assertEquals("ls/a", unb64(ttl.getAsJsonArray("keys").get(0).getAsString()));
        assertEquals(ttl, gw.post("/v3/lease/timetolive", "{\"ID\":\"" + id + "\",\"keys\":true}"));

        // Patroni: one request, read the first result, and the server ends the stream after it
        CollectingResponder keepAlive = gw.send("/v3/lease/keepalive", "{\"ID\":\"" + id + "\"}").awaitEnd();
        assertEquals(200, keepAlive.status());
        assertTrue(keepAlive.streamed());
        List<JsonObject> lines = keepAlive.lines();
        assertEquals(1, lines.size(), lines.toString());
        JsonObject result = lines.get(0).getAsJsonObject("result");
        assertEquals(id, result.get("ID").getAsString());
        assertEquals("60", result.get("TTL").getAsString());

        JsonObject leases = gw.post("/v3/lease/leases", "");
        assertTrue(leases.toString().contains("\"ID\":\"" + id + "\""), leases.toString());
        gw.post("/v3/kv/lease/revoke", "{\"ID\":\"" + id + "\"}");
        assertFalse(gw.post("/v3/kv/range", "{\"key\":\"" + b64("ls/a") + "\"}").has("kvs"), "revoked with its key");
    }

    @Test
    void watchStaysOpenAfterTheBodyAndEndsWhenTheClientGoesAway() throws Exception {
        CollectingResponder watch = gw.send("/v3/watch", "{\"create_request\":{\"key\":\"" + b64("wt/a") + "\"}}");
        List<JsonObject> created = watch.awaitChunks(1);
        assertTrue(created.get(0).getAsJsonObject("result").get("created").getAsBoolean(), created.toString());
        assertEquals(200, watch.status());

        // the gateway half-closed after the create request: the server keeps watching (etcd does)
        gw.post("/v3/kv/put", "{\"key\":\"" + b64("wt/a") + "\",\"value\":\"" + b64("w1") + "\"}");
        List<JsonObject> lines = watch.awaitChunks(2);
        JsonObject event = lines.get(1).getAsJsonObject("result").getAsJsonArray("events").get(0).getAsJsonObject();
        assertFalse(event.has("type"), "PUT is the default and left out: " + event);
        assertEquals("w1", unb64(event.getAsJsonObject("kv").get("value").getAsString()));
        assertFalse(watch.ended());

        gw.post("/v3/kv/deleterange", "{\"key\":\"" + b64("wt/a") + "\"}");
        JsonObject delete = watch.awaitChunks(3).get(2).getAsJsonObject("result").getAsJsonArray("events").get(0)
                .getAsJsonObject();
        assertEquals("DELETE", delete.get("type").getAsString());

        watch.clientGoesAway();
        // the call is cancelled: later events reach nobody (give a stray one time to show up)
        gw.post("/v3/kv/put", "{\"key\":\"" + b64("wt/a") + "\",\"value\":\"" + b64("w2") + "\"}");
        Thread.sleep(300);
        assertEquals(0, watch.lateChunks(), "nothing written after the client went away");
    }

    @Test
    void errorsAsGrpcGatewayV2() throws Exception {
        CollectingResponder empty = gw.send("/v3/kv/range", "{\"key\":\"\"}").awaitEnd();
        assertEquals(400, empty.status());
        assertEquals("{\"code\":3,\"message\":\"etcdserver: key is not provided\",\"details\":[]}", empty.bodyText());

        CollectingResponder noBody = gw.send("/v3/kv/put", "").awaitEnd();
        assertEquals(400, noBody.status(), "an empty body is the empty message");
        assertEquals("etcdserver: key is not provided", noBody.json().get("message").getAsString());

        CollectingResponder malformed = gw.send("/v3/kv/range", "{bad").awaitEnd();
        assertEquals(400, malformed.status());
        assertEquals(3, malformed.json().get("code").getAsInt());
        assertEquals("application/json", malformed.contentType());

        CollectingResponder wrongType = gw.send("/v3/kv/range", "{\"key\":\"" + b64("a") + "\",\"limit\":\"abc\"}")
                .awaitEnd();
        assertEquals(400, wrongType.status());

        CollectingResponder get = gw.send("GET", "/v3/kv/range", "", Map.of()).awaitEnd();
        assertEquals(405, get.status());
        assertEquals(12, get.json().get("code").getAsInt());

        CollectingResponder unknown = gw.send("/v3/kv/nope", "{}").awaitEnd();
        assertEquals(404, unknown.status());
        assertEquals(5, unknown.json().get("code").getAsInt());

        CollectingResponder compacted = gw.send("/v3/kv/range", "{\"key\":\"" + b64("a") + "\",\"revision\":\"999999\"}")
                .awaitEnd();
        assertEquals(400, compacted.status(), compacted.bodyText());
        assertEquals("etcdserver: mvcc: required revision is a future revision", compacted.json().get("message").getAsString());
    }

    @Test
    void gatewayCallsAreCountedAsGrpcCalls() throws Exception {
        // etcd's gateway is a gRPC client of its own server: its calls show in go-grpc-prometheus's metrics
        gw.post("/v3/kv/range", "{\"key\":\"" + b64("mt/a") + "\"}");
        CollectingResponder scrape = new GatewayCalls(member.member().opsRoutes().get("/metrics"))
                .send("GET", "/metrics", "", Map.of()).awaitEnd();
        assertTrue(scrape.bodyText().lines().anyMatch(l -> l.startsWith("grpc_server_handled_total{")
                && l.contains("grpc_method=\"Range\"") && l.contains("grpc_code=\"OK\"")), scrape.bodyText());
    }

    @Test
    void olderPrefixesAreAliases() throws Exception {
        gw.post("/v3beta/kv/put", "{\"key\":\"" + b64("al/a") + "\",\"value\":\"" + b64("b") + "\"}");
        assertEquals("1", gw.post("/v3alpha/kv/range", "{\"key\":\"" + b64("al/a") + "\"}").get("count").getAsString());
    }

    @Test
    void memberListAndStatusFieldNames() throws Exception {
        JsonObject list = gw.post("/v3/cluster/member/list", "{}");
        JsonObject m = list.getAsJsonArray("members").get(0).getAsJsonObject();
        assertTrue(m.get("ID").getAsJsonPrimitive().isString(), m.toString());
        assertEquals("m1", m.get("name").getAsString());
        assertEquals(member.config().listenClientUrls().get(0), m.getAsJsonArray("clientURLs").get(0).getAsString());
        assertTrue(m.getAsJsonArray("peerURLs").size() == 1, m.toString());

        JsonObject status = gw.post("/v3/maintenance/status", "");
        assertTrue(status.has("version") && status.has("dbSize") && status.has("leader") && status.has("raftIndex")
                && status.has("raftTerm"), status.toString());
        assertTrue(status.get("dbSize").getAsJsonPrimitive().isString(), status.toString());
    }

    @Test
    void snapshotStreamsBase64Blobs() throws Exception {
        gw.post("/v3/kv/put", "{\"key\":\"" + b64("sn/a") + "\",\"value\":\"" + b64("s") + "\"}");
        CollectingResponder snap = gw.send("/v3/maintenance/snapshot", "{}").awaitEnd();
        assertEquals(200, snap.status());
        List<JsonObject> lines = snap.lines();
        assertFalse(lines.isEmpty());
        long total = 0;
        for (JsonObject line : lines) {
            JsonObject r = line.getAsJsonObject("result");
            if (r.has("blob")) {
                total += java.util.Base64.getDecoder().decode(r.get("blob").getAsString()).length;
            }
        }
        assertTrue(total > 0, "snapshot bytes arrive as base64 blobs");
        assertFalse(lines.get(lines.size() - 1).getAsJsonObject("result").has("remaining_bytes"),
                "the last chunk has nothing remaining");
    }

    @Test
    void lockAndUnlock() throws Exception {
        String lease = gw.post("/v3/lease/grant", "{\"TTL\":30}").get("ID").getAsString();
        JsonObject lock = gw.post("/v3/lock/lock", "{\"name\":\"" + b64("lk") + "\",\"lease\":\"" + lease + "\"}");
        String key = lock.get("key").getAsString();
        assertTrue(unb64(key).startsWith("lk/"), unb64(key));
        assertEquals("1", gw.post("/v3/kv/range", "{\"key\":\"" + key + "\"}").get("count").getAsString());
        gw.post("/v3/lock/unlock", "{\"key\":\"" + key + "\"}");
        assertFalse(gw.post("/v3/kv/range", "{\"key\":\"" + key + "\"}").has("kvs"), "unlock deletes the key");
    }

    @Test
    void electionCampaignAndObserve() throws Exception {
        String lease = gw.post("/v3/lease/grant", "{\"TTL\":30}").get("ID").getAsString();
        JsonObject campaign = gw.post("/v3/election/campaign",
                "{\"name\":\"" + b64("el") + "\",\"lease\":\"" + lease + "\",\"value\":\"" + b64("one") + "\"}");
        JsonObject leader = campaign.getAsJsonObject("leader");
        assertEquals("el", unb64(leader.get("name").getAsString()));
        assertEquals(lease, leader.get("lease").getAsString());

        CollectingResponder observe = gw.send("/v3/election/observe", "{\"name\":\"" + b64("el") + "\"}");
        JsonObject first = observe.awaitChunks(1).get(0).getAsJsonObject("result");
        assertEquals("one", unb64(first.getAsJsonObject("kv").get("value").getAsString()));

        gw.post("/v3/election/proclaim", "{\"leader\":" + leader + ",\"value\":\"" + b64("two") + "\"}");
        JsonObject second = observe.awaitChunks(2).get(1).getAsJsonObject("result");
        assertEquals("two", unb64(second.getAsJsonObject("kv").get("value").getAsString()));
        assertEquals("two", unb64(gw.post("/v3/election/leader", "{\"name\":\"" + b64("el") + "\"}")
                .getAsJsonObject("kv").get("value").getAsString()));
        observe.clientGoesAway();
        gw.post("/v3/election/resign", "{\"leader\":" + leader + "}");
    }
}
