package io.metastore.server.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import io.metastore.server.e2e.Etcdctl;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd's client TLS flags on a real member: TLS, mutual TLS, mixed http/https URLs, auto-tls, reload, etcdctl. */
class TlsClientTest {
    @TempDir
    static Path certDir;
    static TestCerts ca;
    static TestCerts.Pair member;
    static TestCerts.Pair alice;

    @BeforeAll
    static void certificates() {
        ca = new TestCerts(certDir, "main");
        member = ca.server("member");
        alice = ca.client("alice");
    }

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    /** A member whose only client URL is https://127.0.0.1:PORT, with {@code tls} applied. */
    static TestMember httpsMember(Consumer<ServerConfig.Builder> tls) {
        return TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> {
            String url = "https://127.0.0.1:" + freePort();
            b.listenClientUrls = List.of(url);
            b.advertiseClientUrls = List.of(url);
            tls.accept(b);
        });
    }

    static int freePort() {
        try {
            return TestMember.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void putGet(Client c, String key) throws Exception {
        c.getKVClient().put(bs(key), bs("v-" + key)).get(10, TimeUnit.SECONDS);
        var kvs = c.getKVClient().get(bs(key)).get(10, TimeUnit.SECONDS).getKvs();
        assertEquals("v-" + key, kvs.get(0).getValue().toString(StandardCharsets.UTF_8));
    }

    /** jetcd keeps retrying a refused handshake (UNAVAILABLE), so the call fails or never completes. */
    static void refused(org.junit.jupiter.api.function.Executable call) {
        Throwable t = assertThrows(Throwable.class, call);
        assertTrue(t instanceof ExecutionException || t instanceof java.util.concurrent.TimeoutException,
                () -> "unexpected " + t);
    }

    @Test
    void serverTlsServesJetcd() throws Exception {
        try (TestMember m = httpsMember(b -> {
            b.tls.certFile = member.cert();
            b.tls.keyFile = member.key();
        }); Client c = ca.jetcd(m.endpoint(), null)) {
            putGet(c, "tls");
        }
    }

    @Test
    void mutualTlsRequiresAVerifiedClientCertificate() throws Exception {
        TestCerts rogue = new TestCerts(certDir, "rogue");
        TestCerts.Pair mallory = rogue.client("mallory");
        try (TestMember m = httpsMember(b -> {
            b.tls.certFile = member.cert();
            b.tls.keyFile = member.key();
            b.tls.trustedCaFile = ca.caFile();
            b.tls.clientCertAuth = true;
        })) {
            try (Client c = ca.jetcd(m.endpoint(), alice)) {
                putGet(c, "mtls");
            }
            try (Client none = ca.jetcd(m.endpoint(), null)) {
                refused(() -> none.getKVClient().get(bs("mtls")).get(3, TimeUnit.SECONDS));
            }
            try (Client foreign = ca.jetcd(m.endpoint(), mallory)) {
                refused(() -> foreign.getKVClient().get(bs("mtls")).get(3, TimeUnit.SECONDS));
            }

            Etcdctl ctl = new Etcdctl(m.endpoint());
            Etcdctl.Result put = ctl.run("--cacert=" + ca.caFile(), "--cert=" + alice.cert(), "--key=" + alice.key(),
                    "put", "from-etcdctl", "yes");
            assertTrue(put.ok(), put::toString);
            Etcdctl.Result get = ctl.run("--cacert=" + ca.caFile(), "--cert=" + alice.cert(), "--key=" + alice.key(),
                    "get", "--print-value-only", "mtls");
            assertTrue(get.ok(), get::toString);
            assertEquals("v-mtls", get.stdout().trim());
            Etcdctl.Result noCert = ctl.run(java.time.Duration.ofSeconds(20), null, List.of("--cacert=" + ca.caFile(),
                    "--dial-timeout=2s", "--command-timeout=3s", "get", "mtls"));
            assertNotEquals(0, noCert.exitCode(), noCert::toString);
        }
    }

    @Test
    void httpAndHttpsUrlsServeSideBySide() throws Exception {
        int plain = freePort();
        int secure = freePort();
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> {
            b.listenClientUrls = List.of("http://127.0.0.1:" + plain, "https://127.0.0.1:" + secure);
            b.advertiseClientUrls = b.listenClientUrls;
            b.tls.certFile = member.cert();
            b.tls.keyFile = member.key();
        }); Client http = Client.builder().endpoints("http://127.0.0.1:" + plain).build();
             Client https = ca.jetcd("127.0.0.1:" + secure, null)) {
            putGet(http, "mixed");
            assertEquals("v-mixed", https.getKVClient().get(bs("mixed")).get(10, TimeUnit.SECONDS).getKvs().get(0)
                    .getValue().toString(StandardCharsets.UTF_8));
            assertEquals(plain, m.member().clientPort());
        }
    }

    @Test
    void autoTlsGeneratesASelfSignedCertificateAndReusesIt() throws Exception {
        try (TestMember m = httpsMember(b -> b.tls.autoTls = true)) {
            Path dir = m.config().dataDir().resolve("fixtures").resolve("client");
            Path cert = dir.resolve("cert.pem");
            assertTrue(Files.exists(cert) && Files.exists(dir.resolve("key.pem")));
            X509Certificate generated = Pem.certificates(cert).get(0);
            assertEquals(generated.getSubjectX500Principal(), generated.getIssuerX500Principal()); // self-signed
            assertTrue(generated.getNotAfter().getTime() - System.currentTimeMillis() > 360L * 24 * 3600 * 1000);
            byte[] before = Files.readAllBytes(cert);
            try (Client c = Client.builder().endpoints("https://" + m.endpoint())
                    .sslContext(TestCerts.nettyClientContext(cert, null)).build()) {
                putGet(c, "auto");
            }
            m.restart();
            assertArrayEquals(before, Files.readAllBytes(cert));
            try (Client c = Client.builder().endpoints("https://" + m.endpoint())
                    .sslContext(TestCerts.nettyClientContext(cert, null)).build()) {
                assertEquals(1, c.getKVClient().get(bs("auto")).get(10, TimeUnit.SECONDS).getCount());
            }
        }
    }

    @Test
    void aRenewedCertificateIsServedOnNewConnections() throws Exception {
        TestCerts.Pair renewable = ca.issue("renewable", "renewable-server", true);
        try (TestMember m = httpsMember(b -> {
            b.tls.certFile = renewable.cert();
            b.tls.keyFile = renewable.key();
        })) {
            assertEquals(renewable.certificate(),
                    ClientCertificatesProbe.peerCertificates(m.endpoint(), ca.caFile(), null).server);
            Thread.sleep(1100); // distinct modification time, and past the reload check interval
            TestCerts.Pair renewed = ca.issue("renewable", "renewable-server", true);
            assertNotEquals(renewable.certificate(), renewed.certificate());
            assertEquals(renewed.certificate(),
                    ClientCertificatesProbe.peerCertificates(m.endpoint(), ca.caFile(), null).server);
        }
    }

    /** A bare JDK TLS handshake: what the server presents and whether it asks for a client certificate. */
    static final class ClientCertificatesProbe {
        X509Certificate server;

        static ClientCertificatesProbe peerCertificates(String endpoint, Path trust, TestCerts.Pair client)
                throws Exception {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("ca", Pem.certificates(trust).get(0));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            String[] hp = endpoint.split(":");
            ClientCertificatesProbe out = new ClientCertificatesProbe();
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(hp[0], Integer.parseInt(hp[1]))) {
                var params = s.getSSLParameters();
                params.setApplicationProtocols(new String[] {"h2"});
                s.setSSLParameters(params);
                s.startHandshake();
                out.server = (X509Certificate) s.getSession().getPeerCertificates()[0];
            }
            return out;
        }
    }
}
