package io.metastore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.metastore.server.e2e.Etcdctl;
import io.metastore.server.http.HttpResponder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * gRPC and HTTP/1.1 on the same plaintext client port, as etcd serves them: jetcd and etcdctl next to
 * java.net.http, curl and a raw socket, on a real member.
 */
class ClientPortTest {
    static TestMember m;
    static final AtomicReference<HttpResponder> stream = new AtomicReference<>();
    static final AtomicReference<CountDownLatch> streamClosed = new AtomicReference<>(new CountDownLatch(1));

    @BeforeAll
    static void start() {
        m = TestMember.start(ServerConfig.StorageEngine.MEMORY);
        registerTestRoutes(m.member());
    }

    @AfterAll
    static void stop() {
        m.close();
    }

    /** Routes only tests have: an echo, one that throws, and a stream the test feeds. */
    static void registerTestRoutes(MetaStore member) {
        member.clientHttpRoutes()
                .exact("/test/echo", (req, res) -> res.respond(200, "text/plain",
                        (req.method() + " " + req.path() + " " + req.query() + " "
                                + new String(req.body(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8)))
                .exact("/test/throw", (req, res) -> {
                    throw new IllegalStateException("a broken route (expected by the test)");
                })
                .exact("/test/stream", (req, res) -> {
                    CountDownLatch closed = streamClosed.get();
                    res.onClose(closed::countDown);
                    res.startStream(200, "application/json");
                    res.writeChunk("{\"n\":1}\n".getBytes(StandardCharsets.UTF_8));
                    stream.set(res);
                });
    }

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void grpcAndHttpShareThePort() throws Exception {
        int port = m.member().clientPort();
        m.client().getKVClient().put(bs("k1"), bs("v1")).get(10, TimeUnit.SECONDS);
        assertEquals("v1", m.client().getKVClient().get(bs("k1")).get(10, TimeUnit.SECONDS).getKvs().get(0)
                .getValue().toString(StandardCharsets.UTF_8));

        Etcdctl etcdctl = new Etcdctl(m.endpoint());
        try (Etcdctl.Background watch = etcdctl.background("watch", "wk", "--rev=1")) {
            Etcdctl.Result put = etcdctl.run("put", "wk", "from-etcdctl");
            assertTrue(put.ok(), put::toString);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!watch.stdout().contains("from-etcdctl") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(watch.stdout().contains("PUT\nwk\nfrom-etcdctl"), watch.stdout());
        }
        Etcdctl.Result got = etcdctl.run("get", "k1", "--print-value-only");
        assertEquals("v1\n", got.stdout(), got::toString);

        HttpResponse<String> version = get(port, "/version");
        assertEquals(200, version.statusCode());
        assertEquals("{\"etcdserver\":\"" + EtcdServer.VERSION + "\",\"etcdcluster\":\"" + EtcdServer.VERSION
                + "\",\"storage\":\"" + EtcdServer.STORAGE_VERSION + "\"}",
                version.body());
        assertEquals("application/json", version.headers().firstValue("content-type").orElseThrow());

        Curl.Result curl = Curl.run("-sS", "-X", "POST", "--data", "hello", "http://127.0.0.1:" + port
                + "/test/echo?a=1&b=x%20y");
        assertEquals("POST /test/echo a=1&b=x%20y hello", curl.stdout(), curl::toString);
        assertEquals(0, curl.exitCode(), curl::toString);
    }

    @Test
    void keepAliveServesTwoRequestsOnOneConnection() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), m.member().clientPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(("GET /version HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String first = readResponse(in);
            assertTrue(first.startsWith("HTTP/1.1 200 OK\r\n"), first);
            assertTrue(first.endsWith("\"storage\":\"" + EtcdServer.STORAGE_VERSION + "\"}"), first);
            // the same connection, a second request, plus a pipelined third one behind it
            out.write(("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /test/echo?third HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String second = readResponse(in);
            assertTrue(second.startsWith("HTTP/1.1 200 OK\r\n"), second);
            assertTrue(second.endsWith("POST /test/echo  abc"), second);
            String third = readResponse(in);
            assertTrue(third.endsWith("GET /test/echo third "), third);
        }
    }

    @Test
    void unknownPathIsGosNotFound() throws Exception {
        HttpResponse<String> r = get(m.member().clientPort(), "/no/such/path");
        assertEquals(404, r.statusCode());
        assertEquals("404 page not found\n", r.body());
        assertEquals("text/plain; charset=utf-8", r.headers().firstValue("content-type").orElseThrow());
        assertEquals("nosniff", r.headers().firstValue("x-content-type-options").orElseThrow());
        // etcd's client port: CORS headers on every response, and Go's Date
        assertEquals("*", r.headers().firstValue("access-control-allow-origin").orElseThrow());
        assertEquals("POST, GET, OPTIONS, PUT, DELETE",
                r.headers().firstValue("access-control-allow-methods").orElseThrow());
        assertTrue(r.headers().firstValue("date").orElseThrow().endsWith(" GMT"));
        Curl.Result curl = Curl.run("-s", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:" + m.member().clientPort() + "/v2/keys");
        assertEquals("404", curl.stdout(), curl::toString);
    }

    @Test
    void aThrowingRouteGets500AndTheServerCarriesOn() throws Exception {
        for (int i = 0; i < 3; i++) { // more often than the port's one event loop per connection could hide
            HttpResponse<String> r = get(m.member().clientPort(), "/test/throw");
            assertEquals(500, r.statusCode());
        }
        assertEquals(200, get(m.member().clientPort(), "/version").statusCode());
        m.client().getKVClient().put(bs("after-500"), bs("ok")).get(10, TimeUnit.SECONDS);
    }

    @Test
    void aStreamDeliversChunksBeforeItEndsAndLearnsWhenTheClientGoes() throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        streamClosed.set(closed);
        stream.set(null);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), m.member().clientPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /test/stream HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String head = readUntil(in, "{\"n\":1}\n");
            assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
            assertTrue(head.toLowerCase().contains("transfer-encoding: chunked"), head);
            HttpResponder r = awaitStream();
            r.writeChunk("{\"n\":2}\n".getBytes(StandardCharsets.UTF_8)); // from a thread that is not Netty's
            readUntil(in, "{\"n\":2}\n");
            assertEquals(1, closed.getCount(), "the stream is still open");
        }
        assertTrue(closed.await(5, TimeUnit.SECONDS), "onClose ran when the client disconnected");
    }

    @Test
    void aStreamToAClientThatStopsReadingIsCutNotBuffered() throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        streamClosed.set(closed);
        stream.set(null);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), m.member().clientPort())) {
            s.setReceiveBufferSize(64 * 1024);
            s.getOutputStream().write("GET /test/stream HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            HttpResponder r = awaitStream();
            byte[] mib = new byte[1024 * 1024];
            for (int i = 0; i < 48 && closed.getCount() > 0; i++) { // 48 MiB, more than the 32 MiB bound
                r.writeChunk(mib);
                Thread.sleep(5);
            }
            assertTrue(closed.await(10, TimeUnit.SECONDS), "the stream was cut and its onClose ran");
        }
        assertEquals(200, get(m.member().clientPort(), "/version").statusCode());
    }

    @Test
    void closingTheMemberEndsAnOpenStreamPromptly() throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        streamClosed.set(closed);
        stream.set(null);
        TestMember other = TestMember.start(ServerConfig.StorageEngine.MEMORY);
        registerTestRoutes(other.member());
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), other.member().clientPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /test/stream HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            readUntil(in, "{\"n\":1}\n");
            awaitStream();
            long t0 = System.nanoTime();
            other.close();
            long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            String rest = new String(in.readAllBytes(), StandardCharsets.US_ASCII); // EOF: the server closed it
            assertTrue(rest.endsWith("0\r\n\r\n"), "the chunked body ended cleanly: " + rest);
            assertTrue(closed.await(1, TimeUnit.SECONDS), "onClose ran");
            assertTrue(closeMillis < 4000, "member close took " + closeMillis + " ms");
        }
    }

    static HttpResponder awaitStream() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (stream.get() == null && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        HttpResponder r = stream.get();
        assertTrue(r != null, "the stream route ran");
        return r;
    }

    /** Reads one Content-Length response (headers and body) and returns it as text. */
    static String readResponse(InputStream in) throws IOException {
        String head = readUntil(in, "\r\n\r\n");
        int length = 0;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    /** Reads byte by byte until the text read so far ends with {@code end}; fails on EOF. */
    static String readUntil(InputStream in, String end) throws IOException {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        while (!seen.toString(StandardCharsets.UTF_8).endsWith(end)) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("EOF before \"" + end + "\"; read: " + seen);
            }
            seen.write(b);
        }
        return seen.toString(StandardCharsets.UTF_8);
    }

    /** Runs {@code /usr/bin/curl} with a 20 s bound; output through temp files. */
    static final class Curl {
        record Result(int exitCode, String stdout, String stderr) {}

        static Result run(String... args) throws Exception {
            Path out = Files.createTempFile("curl", ".out");
            Path err = Files.createTempFile("curl", ".err");
            try {
                List<String> cmd = new ArrayList<>(List.of("/usr/bin/curl", "--max-time", "15"));
                cmd.addAll(List.of(args));
                Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                    return new Result(-1, Files.readString(out), Files.readString(err));
                }
                return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        }
    }
}
