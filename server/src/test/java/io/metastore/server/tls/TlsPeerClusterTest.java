package io.metastore.server.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestCluster;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raft traffic over TLS with --peer-* flags: replication with peer mTLS; a member of another CA is shut out. */
class TlsPeerClusterTest {
    @TempDir
    Path dir;

    private static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    /** https:// peer URLs for every member, and {@code pair}'s files as its peer certificate, trusting {@code ca}. */
    private static void peerMtls(ServerConfig.Builder b, TestCerts.Pair pair, Path ca) {
        b.listenPeerUrls = https(b.listenPeerUrls);
        b.initialAdvertisePeerUrls = https(b.initialAdvertisePeerUrls);
        b.initialCluster = b.initialCluster.stream()
                .map(m -> new ServerConfig.InitialMember(m.name(), m.peerUrl().replace("http://", "https://")))
                .toList();
        b.tls.peerCertFile = pair.cert();
        b.tls.peerKeyFile = pair.key();
        b.tls.peerTrustedCaFile = ca;
        b.tls.peerClientCertAuth = true;
    }

    private static List<String> https(List<String> urls) {
        return urls.stream().map(u -> u.replace("http://", "https://")).toList();
    }

    private static boolean await(BooleanSupplier condition, long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    private static long localCount(TestCluster c, int i, String key) {
        try (Client client = Client.builder().endpoints("http://127.0.0.1:" + c.port(i)).build()) {
            return client.getKVClient().get(bs(key), GetOption.newBuilder().withSerializable(true).build())
                    .get(5, TimeUnit.SECONDS).getCount();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void peerMutualTlsClusterReplicates() throws Exception {
        TestCerts ca = new TestCerts(dir, "peers");
        TestCerts.Pair[] certs = {ca.server("m1"), ca.server("m2"), ca.server("m3")};
        try (TestCluster c = TestCluster.startEach(3, ServerConfig.StorageEngine.MEMORY,
                (b, i) -> peerMtls(b, certs[i], ca.caFile()))) {
            assertTrue(c.config(0).initialCluster().stream().allMatch(m -> m.peerUrl().startsWith("https://")));
            try (Client client = Client.builder().endpoints("http://127.0.0.1:" + c.port(0)).build()) {
                client.getKVClient().put(bs("replicated"), bs("yes")).get(20, TimeUnit.SECONDS);
            }
            for (int i = 0; i < 3; i++) {
                int k = i;
                assertTrue(await(() -> localCount(c, k, "replicated") == 1, 10_000), "member " + (k + 1));
            }
        }
    }

    @Test
    void peerAutoTlsClusterReplicates() throws Exception {
        try (TestCluster c = TestCluster.startEach(3, ServerConfig.StorageEngine.MEMORY, (b, i) -> {
            peerMtls(b, new TestCerts.Pair(null, null, null), null);
            b.tls.peerClientCertAuth = false; // self-signed peers verify nobody, as in etcd
            b.tls.peerAutoTls = true;
        })) {
            for (int i = 0; i < 3; i++) {
                java.nio.file.Path cert = c.config(i).dataDir().resolve("fixtures").resolve("peer").resolve("cert.pem");
                assertTrue(java.nio.file.Files.exists(cert), cert.toString());
            }
            try (Client client = Client.builder().endpoints("http://127.0.0.1:" + c.port(0)).build()) {
                client.getKVClient().put(bs("auto"), bs("yes")).get(20, TimeUnit.SECONDS);
            }
            for (int i = 0; i < 3; i++) {
                int k = i;
                assertTrue(await(() -> localCount(c, k, "auto") == 1, 10_000), "member " + (k + 1));
            }
        }
    }

    @Test
    void aMemberWithACertificateOfAnotherCaIsShutOut() throws Exception {
        TestCerts ca = new TestCerts(dir, "cluster");
        TestCerts rogueCa = new TestCerts(dir, "rogue");
        // m3 trusts the cluster's CA but presents a certificate the others do not trust: both directions fail
        TestCerts.Pair[] certs = {ca.server("m1"), ca.server("m2"), rogueCa.server("m3")};
        try (TestCluster c = TestCluster.startEach(3, ServerConfig.StorageEngine.MEMORY,
                (b, i) -> peerMtls(b, certs[i], ca.caFile()))) {
            try (Client client = Client.builder().endpoints("http://127.0.0.1:" + c.port(0)).build()) {
                client.getKVClient().put(bs("k"), bs("v")).get(20, TimeUnit.SECONDS); // m1 and m2 are a quorum
            }
            assertTrue(await(() -> localCount(c, 0, "k") == 1 && localCount(c, 1, "k") == 1, 10_000));
            int leader = c.leader();
            assertTrue(leader == 0 || leader == 1, "leader " + leader);
            Thread.sleep(2000); // several heartbeats: none reaches m3
            assertEquals(0, localCount(c, 2, "k"));
            assertNull(c.member(2).server().leaderName(), "m3 must not know a leader");
        }
    }
}
