package io.metastore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.metastore.server.ClientPortTest.Curl;
import io.metastore.server.e2e.Etcdctl;
import io.metastore.server.grpc.ClientCertificates;
import io.metastore.server.tls.TestCerts;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC and HTTP/1.1 on the same TLS client port with client certificates (--client-cert-auth): gRPC clients keep
 * h2, curl and Python requests get HTTP/1.1, and both sides see the client certificate.
 */
class ClientPortTlsTest {
    @TempDir
    static Path certDir;
    static TestCerts ca;
    static TestCerts.Pair alice;
    static TestMember m;
    static String base;
    static String metricsUrl;

    @BeforeAll
    static void start() throws Exception {
        ca = new TestCerts(certDir, "port");
        TestCerts.Pair member = ca.server("member");
        alice = ca.client("alice");
        String url = "https://127.0.0.1:" + TestMember.freePort();
        metricsUrl = "https://127.0.0.1:" + TestMember.freePort();
        m = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> {
            b.listenMetricsUrls = List.of(metricsUrl);
            b.listenClientUrls = List.of(url);
            b.advertiseClientUrls = List.of(url);
            b.tls.certFile = member.cert();
            b.tls.keyFile = member.key();
            b.tls.trustedCaFile = ca.caFile();
            b.tls.clientCertAuth = true;
        });
        // what the HTTP side sees of the TLS session: the client certificate's CN
        m.member().clientHttpRoutes().exact("/test/cn", (req, res) -> res.respond(200, "text/plain",
                ClientCertificates.commonName(req.sslSession()).orElse("<none>").getBytes(StandardCharsets.UTF_8)));
        m.member().opsHttpRoutes().exact("/test/ops-cn", (req, res) -> res.respond(200, "text/plain",
                ClientCertificates.commonName(req.sslSession()).orElse("<none>").getBytes(StandardCharsets.UTF_8)));
        base = "https://127.0.0.1:" + m.member().clientPort();
    }

    @AfterAll
    static void stop() {
        m.close();
    }

    @Test
    void grpcClientsKeepH2() throws Exception {
        try (Client c = ca.jetcd(m.endpoint(), alice)) {
            c.getKVClient().put(ClientPortTest.bs("tk"), ClientPortTest.bs("tv")).get(10, TimeUnit.SECONDS);
            assertEquals(1, c.getKVClient().get(ClientPortTest.bs("tk")).get(10, TimeUnit.SECONDS).getCount());
        }
        Etcdctl ctl = new Etcdctl(m.endpoint());
        Etcdctl.Result get = ctl.run("--cacert=" + ca.caFile(), "--cert=" + alice.cert(), "--key=" + alice.key(),
                "get", "--print-value-only", "tk");
        assertEquals("tv\n", get.stdout(), get::toString);
    }

    @Test
    void curlGetsHttp11AndTheClientCertificate() throws Exception {
        String[] tls = {"--cacert", ca.caFile().toString(), "--cert", alice.cert().toString(), "--key",
                alice.key().toString()};
        // curl offers "h2, http/1.1": the port picks http/1.1, as JSON over HTTP/2 would reach grpc-java
        Curl.Result cn = Curl.run(concat(tls, "-sS", "-w", " %{http_version}", base + "/test/cn"));
        assertEquals("alice 1.1", cn.stdout(), cn::toString);
        Curl.Result h2 = Curl.run(concat(tls, "-sS", "--http2", "-w", " %{http_version}", base + "/version"));
        assertTrue(h2.stdout().endsWith("\"} 1.1"), h2::toString);
        Curl.Result missing = Curl.run(concat(tls, "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/v3/nope"));
        assertEquals("404", missing.stdout(), missing::toString);
    }

    @Test
    void theJsonGatewayAndHealthServeOverTlsOnTheSamePort() throws Exception {
        String[] tls = {"--cacert", ca.caFile().toString(), "--cert", alice.cert().toString(), "--key",
                alice.key().toString()};
        Curl.Result put = Curl.run(concat(tls, "-sS", "-d", "{\"key\":\"dGxzL2s=\",\"value\":\"dHY=\"}",
                base + "/v3/kv/put"));
        assertTrue(put.stdout().startsWith("{\"header\":{\"cluster_id\":"), put::toString);
        Curl.Result range = Curl.run(concat(tls, "-sS", "-d", "{\"key\":\"dGxzL2s=\"}", base + "/v3/kv/range"));
        assertTrue(range.stdout().endsWith("\"value\":\"dHY=\"}],\"count\":\"1\"}"), range::toString);
        Curl.Result health = Curl.run(concat(tls, "-sS", base + "/health"));
        assertEquals("{\"health\":\"true\",\"reason\":\"\"}", health.stdout(), health::toString);
    }

    @Test
    void anHttpsMetricsUrlUsesTheClientCertificateSettings() throws Exception {
        String[] tls = {"--cacert", ca.caFile().toString(), "--cert", alice.cert().toString(), "--key",
                alice.key().toString()};
        Curl.Result ops = Curl.run(concat(tls, "-sS", "--http2", "-w", " %{http_version}", metricsUrl + "/test/ops-cn"));
        assertEquals("alice 1.1", ops.stdout(), ops::toString);
        Curl.Result noCert = Curl.run("-sS", "--cacert", ca.caFile().toString(), metricsUrl + "/test/ops-cn");
        assertTrue(noCert.exitCode() != 0, "--client-cert-auth applies to the metrics URL too: " + noCert);
    }

    @Test
    void pythonRequestsWorks() throws Exception {
        // what matters is a client that offers only http/1.1 in ALPN (as Patroni's and etcd3gw's urllib3 do): checked
        // with curl first, so the behaviour is proved even where Python's requests package is absent
        Curl.Result h1 = Curl.run("-sS", "--http1.1", "-w", " %{http_version}", "--cacert", ca.caFile().toString(),
                "--cert", alice.cert().toString(), "--key", alice.key().toString(), base + "/test/cn");
        assertEquals("alice 1.1", h1.stdout(), h1::toString);
        Process p = new ProcessBuilder("python3", "-c", "import requests,sys; r=requests.get(sys.argv[1], "
                + "verify=sys.argv[2], cert=(sys.argv[3], sys.argv[4]), timeout=10); print(r.status_code, r.text)",
                base + "/test/cn", ca.caFile().toString(), alice.cert().toString(), alice.key().toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "python finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // requests is a third-party package (on these machines' Python, not part of a fresh Debian): the real-client
        // check below is skipped without it; the http/1.1-only path itself was asserted with curl above
        org.junit.jupiter.api.Assumptions.assumeFalse(out.contains("No module named 'requests'"),
                "Python requests is not installed here");
        assertEquals("200 alice\n", out);
    }

    static String[] concat(String[] first, String... rest) {
        String[] out = java.util.Arrays.copyOf(first, first.length + rest.length);
        System.arraycopy(rest, 0, out, first.length, rest.length);
        return out;
    }
}
