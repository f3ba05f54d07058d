package io.metastore.server.http.gateway;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import io.metastore.server.e2e.RealEtcd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.http.gateway.GatewayCalls.b64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same gateway requests to real etcd 3.4 (over HTTP to its client port) and to our route: the JSON must
 * have the same field names and nesting (values such as IDs and revisions differ and are ignored), errors the
 * same HTTP status, gRPC code and message.
 *
 * <p>Known, intended differences, because we answer as etcd 3.6 (grpc-gateway v2) and Debian's etcd is 3.4
 * (grpc-gateway v1): the error body is {@code {"code","message","details"}} here and
 * {@code {"error","code","message"}} there; a stream that fails before its first message is
 * {@code {"error":{"code","message","details"}}} here and {@code {"error":{"grpc_code","http_code","message",
 * "http_status"}}} there; FailedPrecondition is HTTP 400 here and 412 there; an unknown path or a wrong method
 * answers a JSON body here and text/plain there. Status has fields 3.4 lacks, so for it etcd's names must be a
 * subset of ours.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JsonGatewayEtcdComparisonTest {
    private static RealEtcd etcd;
    private static TestMember member;
    private static GatewayCalls gw;
    private static HttpClient http;

    @BeforeAll
    static void start() throws InterruptedException {
        RealEtcd.requireBinaries();
        etcd = RealEtcd.start();
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY).awaitLeader();
        gw = new GatewayCalls(member.member().jsonGateway());
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (member != null) {
            member.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    /** One answer: status and either a whole JSON body or the lines of a stream. */
    record Answer(int status, String body) {
        JsonObject json() {
            return JsonParser.parseString(body).getAsJsonObject();
        }

        List<JsonObject> lines() {
            List<JsonObject> out = new ArrayList<>();
            for (String l : body.split("\n")) {
                if (!l.isBlank()) {
                    out.add(JsonParser.parseString(l).getAsJsonObject());
                }
            }
            return out;
        }
    }

    private static Answer etcd(String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(etcd.clientUrl() + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }

    private static Answer etcdMethod(String method, String path) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(etcd.clientUrl() + path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> a = http.send(r, HttpResponse.BodyHandlers.ofString());
        return new Answer(a.statusCode(), a.body());
    }

    /** The first {@code n} lines of a stream that does not end by itself (a watch), then the stream is closed. */
    private static List<JsonObject> etcdStreamLines(String path, String body, int n, Runnable afterFirst)
            throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(etcd.clientUrl() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        InputStream in = r.body();
        try {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            CompletableFuture<List<JsonObject>> lines = CompletableFuture.supplyAsync(() -> {
                List<JsonObject> out = new ArrayList<>();
                try {
                    while (out.size() < n) {
                        String l = reader.readLine();
                        if (l == null) {
                            break;
                        }
                        if (!l.isBlank()) {
                            out.add(JsonParser.parseString(l).getAsJsonObject());
                            if (out.size() == 1) {
                                afterFirst.run();
                            }
                        }
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return out;
            });
            return lines.get(10, TimeUnit.SECONDS);
        } finally {
            in.close();
        }
    }

    private static Answer ours(String path, String body, String token) throws Exception {
        CollectingResponder r = gw.send("POST", path, body, token == null ? Map.of() : Map.of("Authorization", token))
                .awaitEnd();
        if (r.streamed()) {
            StringBuilder sb = new StringBuilder();
            r.lines().forEach(l -> sb.append(l).append('\n'));
            return new Answer(r.status(), sb.toString());
        }
        return new Answer(r.status(), r.bodyText());
    }

    /** Field paths of a JSON value ("kvs[].create_revision"), values ignored. */
    static Set<String> shape(JsonElement e) {
        Set<String> out = new TreeSet<>();
        collect("", e, out);
        return out;
    }

    private static void collect(String prefix, JsonElement e, Set<String> out) {
        if (e.isJsonObject()) {
            for (Map.Entry<String, JsonElement> f : e.getAsJsonObject().entrySet()) {
                String p = prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey();
                out.add(p);
                collect(p, f.getValue(), out);
            }
        } else if (e.isJsonArray()) {
            for (JsonElement item : e.getAsJsonArray()) {
                collect(prefix + "[]", item, out);
            }
        }
    }

    /** Both answer 200 with the same field names. */
    private static void sameShape(String path, String body) throws Exception {
        Answer theirs = etcd(path, body, null);
        Answer mine = ours(path, body, null);
        assertEquals(200, theirs.status(), () -> "etcd: " + theirs.body());
        assertEquals(200, mine.status(), () -> "ours: " + mine.body());
        assertEquals(shape(theirs.json()), shape(mine.json()),
                () -> path + " " + body + "\n etcd: " + theirs.body() + "\n ours: " + mine.body());
    }

    /** Same HTTP status, gRPC code and message (the v1 and v2 bodies both carry "code" and "message"). */
    private static void sameError(String path, String body, String etcdToken, String ourToken) throws Exception {
        Answer theirs = etcd(path, body, etcdToken);
        Answer mine = ours(path, body, ourToken);
        String both = path + " " + body + "\n etcd: " + theirs.body() + "\n ours: " + mine.body();
        assertEquals(theirs.status(), mine.status(), both);
        assertEquals(theirs.json().get("code"), mine.json().get("code"), both);
        assertEquals(theirs.json().get("message"), mine.json().get("message"), both);
        assertEquals(Set.of("code", "message", "details"), mine.json().keySet(), both);
    }

    private static String put(String key, String value, String extra) {
        return "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"" + extra + "}";
    }

    @Test
    @Order(1)
    void kvAnswersHaveEtcdsFieldNames() throws Exception {
        sameShape("/v3/kv/put", put("c/a", "1", ""));
        sameShape("/v3/kv/put", put("c/a", "2", ",\"prev_kv\":true"));
        sameShape("/v3/kv/put", put("c/b", "3", ",\"prev_kv\":true"));
        sameShape("/v3/kv/range", "{\"key\":\"" + b64("c/a") + "\"}");
        sameShape("/v3/kv/range", "{\"key\":\"" + b64("c/") + "\",\"range_end\":\"" + b64("c0") + "\",\"limit\":1}");
        sameShape("/v3/kv/range", "{\"key\":\"" + b64("c/") + "\",\"rangeEnd\":\"" + b64("c0") + "\",\"count_only\":true,"
                + "\"unknown\":[1]}");
        sameShape("/v3/kv/range", "{\"key\":\"" + b64("nothing") + "\"}");
        sameShape("/v3/kv/txn", "{\"compare\":[{\"key\":\"" + b64("c/a") + "\",\"target\":\"VERSION\",\"result\":\"GREATER\","
                + "\"version\":\"0\"}],\"success\":[{\"request_range\":{\"key\":\"" + b64("c/a") + "\"}},"
                + "{\"request_put\":{\"key\":\"" + b64("c/t") + "\",\"prev_kv\":true}},"
                + "{\"request_delete_range\":{\"key\":\"" + b64("c/b") + "\",\"prev_kv\":true}}]}");
        sameShape("/v3/kv/txn", "{\"compare\":[{\"key\":\"" + b64("c/a") + "\",\"target\":\"VALUE\",\"result\":\"EQUAL\","
                + "\"value\":\"" + b64("nope") + "\"}],\"failure\":[{\"request_range\":{\"key\":\"" + b64("c/a") + "\"}}]}");
        sameShape("/v3/kv/deleterange", "{\"key\":\"" + b64("c/") + "\",\"range_end\":\"" + b64("c0") + "\",\"prev_kv\":true}");
    }

    @Test
    @Order(2)
    void leaseAnswersHaveEtcdsFieldNames() throws Exception {
        Answer theirs = etcd("/v3/lease/grant", "{\"TTL\":60}", null);
        Answer mine = ours("/v3/lease/grant", "{\"TTL\":60}", null);
        assertEquals(shape(theirs.json()), shape(mine.json()), theirs.body() + " / " + mine.body());
        String theirId = theirs.json().get("ID").getAsString();
        String ourId = mine.json().get("ID").getAsString();
        etcd("/v3/kv/put", "{\"key\":\"" + b64("l/a") + "\",\"lease\":\"" + theirId + "\"}", null);
        ours("/v3/kv/put", "{\"key\":\"" + b64("l/a") + "\",\"lease\":\"" + ourId + "\"}", null);

        for (String path : List.of("/v3/lease/timetolive", "/v3/kv/lease/timetolive")) {
            Answer t = etcd(path, "{\"ID\":\"" + theirId + "\",\"keys\":true}", null);
            Answer o = ours(path, "{\"ID\":\"" + ourId + "\",\"keys\":true}", null);
            assertEquals(shape(t.json()), shape(o.json()), t.body() + " / " + o.body());
        }
        Answer tk = etcd("/v3/lease/keepalive", "{\"ID\":\"" + theirId + "\"}", null);
        Answer ok = ours("/v3/lease/keepalive", "{\"ID\":\"" + ourId + "\"}", null);
        assertEquals(1, tk.lines().size(), tk.body());
        assertEquals(1, ok.lines().size(), ok.body());
        assertEquals(shape(tk.lines().get(0)), shape(ok.lines().get(0)), tk.body() + " / " + ok.body());

        sameShape("/v3/lease/leases", "{}");
        sameShape("/v3/kv/lease/leases", "{}");
        Answer rt = etcd("/v3/kv/lease/revoke", "{\"ID\":\"" + theirId + "\"}", null);
        Answer ro = ours("/v3/kv/lease/revoke", "{\"ID\":\"" + ourId + "\"}", null);
        assertEquals(shape(rt.json()), shape(ro.json()));
        sameError("/v3/lease/revoke", "{\"ID\":\"" + ourId + "\"}", null, null);
    }

    @Test
    @Order(3)
    void watchLinesHaveEtcdsFieldNames() throws Exception {
        String create = "{\"create_request\":{\"key\":\"" + b64("w/a") + "\",\"prev_kv\":true}}";
        List<JsonObject> theirs = etcdStreamLines("/v3/watch", create, 3, () -> {
            try {
                etcd("/v3/kv/put", put("w/a", "1", ""), null);
                etcd("/v3/kv/put", put("w/a", "2", ""), null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        CollectingResponder watch = gw.send("/v3/watch", create);
        watch.awaitChunks(1);
        ours("/v3/kv/put", put("w/a", "1", ""), null);
        ours("/v3/kv/put", put("w/a", "2", ""), null);
        List<JsonObject> mine = watch.awaitChunks(3);
        watch.clientGoesAway();
        assertEquals(3, theirs.size(), theirs.toString());
        // events may arrive batched in one response; compare the created line and the event shapes
        assertEquals(shape(theirs.get(0)), shape(mine.get(0)), theirs + " / " + mine);
        assertEquals(shape(theirs.get(2)), shape(mine.get(2)), theirs + " / " + mine);
    }

    @Test
    @Order(4)
    void errorsHaveEtcdsStatusCodeAndMessage() throws Exception {
        sameError("/v3/kv/range", "{\"key\":\"\"}", null, null);
        sameError("/v3/kv/put", "", null, null);
        sameError("/v3/kv/range", "{\"key\":\"" + b64("a") + "\",\"revision\":\"99999\"}", null, null);
        sameShape("/v3/lease/timetolive", "{\"ID\":\"12345\"}"); // an unknown lease is TTL -1, not an error
        // malformed JSON: same status and code; the parser's message differs (Go's encoding/json vs Gson)
        Answer theirs = etcd("/v3/kv/range", "{bad", null);
        Answer mine = ours("/v3/kv/range", "{bad", null);
        assertEquals(theirs.status(), mine.status());
        assertEquals(theirs.json().get("code"), mine.json().get("code"));
        assertEquals(etcdMethod("GET", "/v3/kv/range").status(), gw.send("GET", "/v3/kv/range", "", Map.of())
                .awaitEnd().status());
        assertEquals(etcdMethod("POST", "/v3/kv/nope").status(), gw.send("/v3/kv/nope", "{}").awaitEnd().status());
    }

    @Test
    @Order(5)
    void clusterAndMaintenanceAnswersHaveEtcdsFieldNames() throws Exception {
        sameShape("/v3/cluster/member/list", "{}");
        Answer theirs = etcd("/v3/maintenance/status", "{}", null);
        Answer mine = ours("/v3/maintenance/status", "{}", null);
        assertTrue(shape(mine.json()).containsAll(shape(theirs.json())), theirs.body() + " / " + mine.body());
        // etcd 3.4 leaves the header out of an Alarm answer ({}); 3.6 fills it, as we do
        Answer alarms = ours("/v3/maintenance/alarm", "{}", null);
        assertEquals("{}", etcd("/v3/maintenance/alarm", "{}", null).body());
        assertEquals(Set.of("header"), alarms.json().keySet(), alarms.body());
        // etcd 3.4 has HashKV at /v3/maintenance/hash too (its rpc.proto bound both RPCs there); 3.5+ at .../hashkv
        JsonObject hashKv = gw.post("/v3/maintenance/hashkv", "{}");
        assertTrue(hashKv.has("hash") && hashKv.has("hash_revision"), hashKv.toString());
        assertTrue(gw.post("/v3/maintenance/hash", "{}").has("hash"));
        Answer ts = etcd("/v3/maintenance/snapshot", "{}", null);
        Answer os = ours("/v3/maintenance/snapshot", "{}", null);
        assertEquals(200, os.status());
        assertTrue(shape(os.lines().get(0)).containsAll(shape(ts.lines().get(0))), ts.lines().get(0) + " / "
                + os.lines().get(0));
    }

    @Test
    @Order(6)
    void lockAndElectionAnswersHaveEtcdsFieldNames() throws Exception {
        String theirLease = etcd("/v3/lease/grant", "{\"TTL\":30}", null).json().get("ID").getAsString();
        String ourLease = ours("/v3/lease/grant", "{\"TTL\":30}", null).json().get("ID").getAsString();
        Answer tl = etcd("/v3/lock/lock", "{\"name\":\"" + b64("lk") + "\",\"lease\":\"" + theirLease + "\"}", null);
        Answer ol = ours("/v3/lock/lock", "{\"name\":\"" + b64("lk") + "\",\"lease\":\"" + ourLease + "\"}", null);
        assertEquals(shape(tl.json()), shape(ol.json()), tl.body() + " / " + ol.body());
        Answer tu = etcd("/v3/lock/unlock", "{\"key\":\"" + tl.json().get("key").getAsString() + "\"}", null);
        Answer ou = ours("/v3/lock/unlock", "{\"key\":\"" + ol.json().get("key").getAsString() + "\"}", null);
        assertEquals(shape(tu.json()), shape(ou.json()));

        String campaign = "{\"name\":\"" + b64("el") + "\",\"value\":\"" + b64("v") + "\",\"lease\":\"%s\"}";
        Answer tc = etcd("/v3/election/campaign", campaign.formatted(theirLease), null);
        Answer oc = ours("/v3/election/campaign", campaign.formatted(ourLease), null);
        assertEquals(shape(tc.json()), shape(oc.json()), tc.body() + " / " + oc.body());
        sameShape("/v3/election/leader", "{\"name\":\"" + b64("el") + "\"}");
        List<JsonObject> theirObserve = etcdStreamLines("/v3/election/observe", "{\"name\":\"" + b64("el") + "\"}", 1,
                () -> { });
        CollectingResponder observe = gw.send("/v3/election/observe", "{\"name\":\"" + b64("el") + "\"}");
        List<JsonObject> ourObserve = observe.awaitChunks(1);
        observe.clientGoesAway();
        assertEquals(shape(theirObserve.get(0)), shape(ourObserve.get(0)));
        Answer tr = etcd("/v3/election/resign", "{\"leader\":" + tc.json().get("leader") + "}", null);
        Answer or = ours("/v3/election/resign", "{\"leader\":" + oc.json().get("leader") + "}", null);
        assertEquals(shape(tr.json()), shape(or.json()));
    }

    /** Last: it leaves auth enabled on both. */
    @Test
    @Order(7)
    void authThroughTheGatewayAsEtcd() throws Exception {
        for (String[] call : new String[][] {
                {"/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"rootpw\"}"},
                {"/v3/auth/role/add", "{\"name\":\"root\"}"},
                {"/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}"},
                {"/v3/auth/user/add", "{\"name\":\"bob\",\"password\":\"bobpw\"}"},
                // (not role root: etcd 3.5+ lists its implicit all-keys permission, 3.4 lists none)
                {"/v3/auth/role/add", "{\"name\":\"reader\"}"},
                {"/v3/auth/role/grant", "{\"name\":\"reader\",\"perm\":{\"permType\":\"READ\",\"key\":\"" + b64("r/")
                        + "\",\"range_end\":\"" + b64("r0") + "\"}}"},
                {"/v3/auth/role/get", "{\"role\":\"reader\"}"},
                {"/v3/auth/role/list", "{}"},
                {"/v3/auth/user/get", "{\"name\":\"root\"}"},
                {"/v3/auth/user/list", "{}"},
                {"/v3/auth/enable", "{}"}}) {
            sameShape(call[0], call[1]);
        }
        // AuthStatus came with etcd 3.5: 3.4 has no /v3/auth/status
        JsonObject status = gw.post("/v3/auth/status", "{}");
        assertTrue(status.get("enabled").getAsBoolean(), status.toString());
        sameError("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"wrong\"}", null, null);
        String theirRoot = etcd("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"rootpw\"}", null)
                .json().get("token").getAsString();
        Answer ourAuth = ours("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"rootpw\"}", null);
        assertEquals(Set.of("header", "token"), ourAuth.json().keySet());
        String ourRoot = ourAuth.json().get("token").getAsString();
        String theirBob = etcd("/v3/auth/authenticate", "{\"name\":\"bob\",\"password\":\"bobpw\"}", null)
                .json().get("token").getAsString();
        String ourBob = ours("/v3/auth/authenticate", "{\"name\":\"bob\",\"password\":\"bobpw\"}", null)
                .json().get("token").getAsString();

        String range = "{\"key\":\"" + b64("a") + "\"}";
        assertEquals(200, ours("/v3/kv/range", range, ourRoot).status(), "the root token is accepted");
        assertEquals(200, etcd("/v3/kv/range", range, theirRoot).status());
        sameError("/v3/kv/range", range, null, null);                          // 400 user name is empty
        sameError("/v3/kv/range", range, "not-a-token", "not-a-token");        // 401 invalid auth token
        sameError("/v3/kv/range", range, theirBob, ourBob);                    // 403 permission denied
        sameError("/v3/auth/user/list", "{}", theirBob, ourBob);               // 403, an admin RPC
        // (Status without a token: etcd 3.4 answers, 3.6 wants a user, as our auth rule table does)
        assertEquals(400, ours("/v3/maintenance/status", "{}", null).status());
        // through the recipes: same text; etcd 3.4 reports the recipe's client error as code 2 (Unknown, HTTP 500)
        // where our Lock service passes the KV call's PermissionDenied on (a Lock service matter, not the gateway's)
        String lock = "{\"name\":\"" + b64("lk2") + "\"}";
        assertEquals(etcd("/v3/lock/lock", lock, theirBob).json().get("message"),
                ours("/v3/lock/lock", lock, ourBob).json().get("message"));
        Answer disabled = ours("/v3/auth/disable", "{}", ourRoot);
        assertEquals(200, disabled.status(), disabled.body());
        etcd("/v3/auth/disable", "{}", theirRoot);
    }
}
