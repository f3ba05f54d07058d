package io.metastore.server.ops;

import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import io.metastore.server.e2e.RealEtcd;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same questions to real etcd 3.4 (over HTTP) and to a MetaStore member (through its routes). 3.4 differs from
 * the 3.6 we answer as in documented ways: its /health has no "reason", its /version no "storage", it has no
 * /livez or /readyz, and it is version 3.4.x.
 */
class OpsVsEtcdTest {

    @Test
    void metricTypesHealthAndVersionMatchEtcd() throws Exception {
        try (RealEtcd etcd = RealEtcd.start();
             TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY).awaitLeader()) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

            // every etcd_* and grpc_server_* family both expose has the same TYPE
            Map<String, String> theirs = types(get(http, etcd.clientUrl() + "/metrics").body());
            Map<String, String> ours = Scrape.of(m.member()).types;
            Map<String, String> mismatched = new TreeMap<>();
            List<String> shared = new ArrayList<>();
            for (var e : ours.entrySet()) {
                String name = e.getKey();
                if ((name.startsWith("etcd_") || name.startsWith("grpc_server_")) && theirs.containsKey(name)) {
                    shared.add(name);
                    if (!theirs.get(name).equals(e.getValue())) {
                        mismatched.put(name, "etcd " + theirs.get(name) + ", ours " + e.getValue());
                    }
                }
            }
            assertEquals(Map.of(), mismatched);
            assertTrue(shared.size() >= 30, "families shared with etcd 3.4: " + shared);

            HttpResponse<String> health = get(http, etcd.clientUrl() + "/health");
            RouteCall.Answer ourHealth = RouteCall.get(m.member(), "/health");
            assertEquals(200, health.statusCode());
            assertEquals(health.statusCode(), ourHealth.status());
            assertEquals(health.headers().firstValue("content-type").orElse(""), ourHealth.contentType());
            assertEquals("{\"health\":\"true\"}", health.body()); // 3.6 adds ,"reason":""

            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(etcd.clientUrl() + "/health"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            RouteCall.Answer ourPost = RouteCall.call(m.member(), "POST", "/health", "");
            assertEquals(post.statusCode(), ourPost.status());
            assertEquals(post.body(), ourPost.body());

            HttpResponse<String> version = get(http, etcd.clientUrl() + "/version");
            RouteCall.Answer ourVersion = RouteCall.get(m.member(), "/version");
            assertEquals(version.headers().firstValue("content-type").orElse(""), ourVersion.contentType());
            assertTrue(version.body().matches("\\{\"etcdserver\":\"3\\.4\\.\\d+\",\"etcdcluster\":\"3\\.4\\.0\"}"),
                    version.body());
            assertTrue(ourVersion.body().startsWith("{\"etcdserver\":\"3.6.0\",\"etcdcluster\":\"3.6.0\""));
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static Map<String, String> types(String text) {
        Map<String, String> out = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                out.put(p[2], p[3]);
            }
        }
        return out;
    }
}
