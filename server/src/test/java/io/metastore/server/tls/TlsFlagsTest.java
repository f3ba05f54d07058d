package io.metastore.server.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.metastore.server.MetaStore;
import io.metastore.server.ServerConfig;
import io.metastore.server.launcher.EtcdFlags;
import io.metastore.server.launcher.FlagException;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TLS flag combinations etcd refuses, refused with etcd's words; the ones it accepts, accepted. */
class TlsFlagsTest {
    private static final String[] HTTPS_CLIENT = {"--listen-client-urls=https://127.0.0.1:2379",
            "--advertise-client-urls=https://127.0.0.1:2379"};

    private static ServerConfig parse(String... args) throws FlagException {
        return EtcdFlags.parse(args, Map.of());
    }

    private static String error(String... args) {
        return assertThrows(FlagException.class, () -> parse(args)).getMessage();
    }

    private static String[] with(String[] a, String... more) {
        String[] out = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }

    @Test
    void refusedCombinations() {
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url "
                + "https://127.0.0.1:2379 with HTTPS scheme", error(HTTPS_CLIENT));
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url "
                + "https://127.0.0.1:2379 with HTTPS scheme", error(with(HTTPS_CLIENT, "--client-cert-auth",
                "--trusted-ca-file=/ca.pem")));
        assertEquals("KeyFile and CertFile must both be present[key: , cert: /c.pem]",
                error(with(HTTPS_CLIENT, "--cert-file=/c.pem")));
        assertEquals("cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented",
                error("--listen-peer-urls=https://127.0.0.1:2380",
                        "--initial-advertise-peer-urls=https://127.0.0.1:2380", "--peer-trusted-ca-file=/ca.pem"));
        assertEquals("KeyFile and CertFile must both be present[key: /k.pem, cert: ]",
                error("--listen-peer-urls=https://127.0.0.1:2380", "--peer-key-file=/k.pem"));
        assertEquals("unexpected TLS version \"TLS1.1\" (must be one of: TLS1.2, TLS1.3)",
                error("--tls-min-version=TLS1.1"));
        assertEquals("min version (TLS1.3) is greater than max version (TLS1.2)",
                error("--tls-min-version=TLS1.3", "--tls-max-version=TLS1.2"));
        assertEquals("cipher suites cannot be configured when only TLS1.3 is enabled",
                error("--tls-min-version=TLS1.3", "--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assertEquals("unexpected TLS cipher suite \"TLS_NOPE\"",
                error("--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_NOPE"));
        assertEquals("selfSignedCertValidity is invalid,it should be greater than 0",
                error(with(HTTPS_CLIENT, "--auto-tls", "--self-signed-cert-validity=0")));
    }

    @Test
    void acceptedCombinations() throws Exception {
        // auto-tls stands in for the files; certificates on http:// URLs are ignored (etcd only warns)
        assertTrue(parse(with(HTTPS_CLIENT, "--auto-tls")).tls().client().autoTls());
        assertTrue(parse("--listen-peer-urls=https://127.0.0.1:2380", "--peer-auto-tls").tls().peer().autoTls());
        assertEquals(Path.of("/c.pem"), parse("--cert-file=/c.pem", "--key-file=/k.pem").tls().client().certFile());
        assertEquals(Path.of("/c.pem"), parse("--cert-file=/c.pem").tls().client().certFile());
        ServerConfig env = EtcdFlags.parse(HTTPS_CLIENT, Map.of("ETCD_CERT_FILE", "/c.pem", "ETCD_KEY_FILE",
                "/k.pem", "ETCD_CLIENT_CERT_AUTH", "true", "ETCD_TRUSTED_CA_FILE", "/ca.pem"));
        assertEquals(new TransportSecurity.Side(Path.of("/c.pem"), Path.of("/k.pem"), Path.of("/ca.pem"), true,
                false), env.tls().client());
        assertEquals(List.of("TLSv1.2", "TLSv1.3"), env.tls().protocols());
    }

    @Test
    void unusableFilesStopTheStartWithAPlainMessage(@TempDir Path dir) {
        ServerConfig.Builder b = ServerConfig.builder("m").dataDir(dir)
                .singleMemberUrls("https://127.0.0.1:1", "http://127.0.0.1:2");
        b.tls.certFile = dir.resolve("missing.pem");
        b.tls.keyFile = dir.resolve("missing-key.pem");
        var e = assertThrows(ServerTls.TlsConfigException.class, () -> MetaStore.start(b.build()));
        assertEquals("open " + dir.resolve("missing.pem") + ": no such file or directory", e.getMessage());
    }
}
