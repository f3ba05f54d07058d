package io.metastore.server;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.metastore.server.ClientPortTest.Curl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operations surface as an operator reaches it, with curl over real HTTP: /health, /version, /metrics and
 * the JSON gateway on the client port next to gRPC, and the --listen-metrics-urls listener serving only the
 * ops endpoints (etcd's split).
 */
class OpsHttpEndToEndTest {
    private static TestMember m;
    private static String client;
    private static String metricsUrl;

    @BeforeAll
    static void start() throws Exception {
        int metricsPort = TestMember.freePort();
        metricsUrl = "http://127.0.0.1:" + metricsPort;
        m = TestMember.start(ServerConfig.StorageEngine.ROCKSDB, b -> b.listenMetricsUrls = List.of(metricsUrl))
                .awaitLeader();
        client = "http://127.0.0.1:" + m.member().clientPort();
    }

    @AfterAll
    static void stop() {
        m.close();
    }

    private static String curl(String... args) throws Exception {
        String[] all = new String[args.length + 1];
        all[0] = "-sS";
        System.arraycopy(args, 0, all, 1, args.length);
        Curl.Result r = Curl.run(all);
        assertEquals(0, r.exitCode(), r::toString);
        return r.stdout();
    }

    private static int status(String url) throws Exception {
        return Integer.parseInt(curl("-o", "/dev/null", "-w", "%{http_code}", url));
    }

    private static double sample(String metrics, String line) {
        Matcher mt = Pattern.compile("(?m)^" + Pattern.quote(line) + " (\\S+)$").matcher(metrics);
        assertTrue(mt.find(), "no sample " + line);
        return Double.parseDouble(mt.group(1));
    }

    @Test
    void healthVersionAndGatewayOnTheClientPort() throws Exception {
        assertEquals("{\"health\":\"true\",\"reason\":\"\"}", curl(client + "/health"));
        assertEquals("{\"etcdserver\":\"3.6.0\",\"etcdcluster\":\"3.6.0\",\"storage\":\"3.6.0\"}",
                curl(client + "/version"));
        // curl -d sends a form content type; etcd's gateway ignores it and so do we
        String put = curl("-d", "{\"key\":\"b3BzL2s=\",\"value\":\"djE=\"}", client + "/v3/kv/put");
        assertTrue(put.startsWith("{\"header\":{\"cluster_id\":\""), put);
        String headers = curl("-D", "-", "-o", "/dev/null", "-d", "{\"key\":\"b3BzL2s=\"}", client + "/v3/kv/range");
        assertTrue(headers.contains("Grpc-Metadata-Content-Type: application/grpc\r\n"), headers);
        assertTrue(headers.contains("Content-Type: application/json\r\n"), headers);
        String range = curl("-d", "{\"key\":\"b3BzL2s=\"}", client + "/v3/kv/range");
        assertTrue(range.contains("\"kvs\":[{\"key\":\"b3BzL2s=\",\"create_revision\":\""), range);
        assertTrue(range.endsWith("\"value\":\"djE=\"}],\"count\":\"1\"}"), range);
    }

    @Test
    void metricsMoveWithGatewayWritesAndTheMetricsListenerServesOnlyOpsEndpoints() throws Exception {
        String before = curl(client + "/metrics");
        assertEquals(1.0, sample(before, "etcd_server_has_leader"));
        String handled = "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\","
                + "grpc_type=\"unary\"}";
        double puts = sample(before, handled);
        curl("-d", "{\"key\":\"b3BzL20=\",\"value\":\"MQ==\"}", client + "/v3/kv/put");
        String after = curl(metricsUrl + "/metrics"); // the same registry on the metrics listener
        assertEquals(puts + 1, sample(after, handled), "a gateway Put is counted like a gRPC one, as in etcd");
        assertTrue(sample(after, "etcd_debugging_mvcc_keys_total") >= 1);

        assertEquals("{\"health\":\"true\",\"reason\":\"\"}", curl(metricsUrl + "/health"));
        assertEquals("ok\n", curl(metricsUrl + "/livez"));
        assertEquals("ok\n", curl(metricsUrl + "/readyz"));
        String refused = curl("-X", "POST", "-D", "-", "-o", "/dev/null", metricsUrl + "/health");
        assertTrue(refused.startsWith("HTTP/1.1 405 ") && refused.contains("Allow: GET\r\n"), refused);
        assertEquals(404, status(metricsUrl + "/version"));
        assertEquals(404, status(metricsUrl + "/v3/kv/range"));
    }

    @Test
    void grpcHealthServesOnTheSamePort() throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", m.member().clientPort()).usePlaintext().build();
        try {
            HealthCheckResponse r = HealthGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance());
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, r.getStatus());
        } finally {
            ch.shutdownNow();
        }
    }
}
