package io.metastore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.metastore.server.e2e.Etcdctl;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * etcd's split listeners: with --listen-client-http-urls the client URLs serve gRPC only and the HTTP URLs HTTP only;
 * --listen-metrics-urls serve only the ops routes.
 */
class ClientPortListenersTest {

    @Test
    void httpAndMetricsUrlsServeHttpOnlyAndTheClientUrlGrpcOnly() throws Exception {
        int httpPort = TestMember.freePort();
        int metricsPort = TestMember.freePort();
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> {
            b.listenClientHttpUrls = List.of("http://127.0.0.1:" + httpPort);
            b.listenMetricsUrls = List.of("http://127.0.0.1:" + metricsPort);
        })) {
            // an ops route (what /health will be) is on both the HTTP and the metrics URLs
            m.member().opsHttpRoutes().exact("/test/ops", (req, res) -> res.respond(200, "text/plain",
                    "ops".getBytes(StandardCharsets.UTF_8)));
            int clientPort = m.member().clientPort();

            m.client().getKVClient().put(ClientPortTest.bs("g"), ClientPortTest.bs("1")).get(10, TimeUnit.SECONDS);
            assertThrows(IOException.class, () -> ClientPortTest.get(clientPort, "/version"),
                    "the client URL serves gRPC only");

            assertEquals(200, ClientPortTest.get(httpPort, "/version").statusCode());
            assertEquals("ops", ClientPortTest.get(httpPort, "/test/ops").body());
            Etcdctl.Result grpcOnHttp = new Etcdctl("127.0.0.1:" + httpPort).run(Duration.ofSeconds(20), null,
                    List.of("--dial-timeout=2s", "--command-timeout=3s", "get", "g"));
            assertNotEquals(0, grpcOnHttp.exitCode(), grpcOnHttp::toString);

            assertEquals("ops", ClientPortTest.get(metricsPort, "/test/ops").body());
            assertEquals(404, ClientPortTest.get(metricsPort, "/version").statusCode());
            assertTrue(ClientPortTest.get(metricsPort, "/test/ops").headers()
                    .firstValue("access-control-allow-origin").isEmpty(), "etcd's metrics listener has no CORS headers");
            assertEquals("*", ClientPortTest.get(httpPort, "/test/ops").headers()
                    .firstValue("access-control-allow-origin").orElseThrow());

            // an idle keep-alive connection on an HTTP-only listener is closed with the member
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), httpPort)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET /version HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                assertTrue(ClientPortTest.readResponse(in).startsWith("HTTP/1.1 200"));
                m.member().close();
                assertEquals(-1, in.read(), "the server closed the connection");
            }
        }
    }
}
