package io.metastore.server.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.metastore.server.ClientLimits;
import io.metastore.server.ServerConfig;
import io.metastore.server.ServerConfig.InitialMember;
import io.metastore.server.tls.TransportSecurity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** --config-file: etcd's YAML shapes, the precedence flags > ETCD_* > file > defaults, and one-line errors. */
class ConfigFileTest {

    @TempDir
    Path dir;

    private Path file(String yaml) throws IOException {
        Path f = dir.resolve("etcd.yml");
        Files.writeString(f, yaml);
        return f;
    }

    private ServerConfig parse(String yaml, Map<String, String> env, String... flags) throws Exception {
        String[] args = new String[flags.length + 2];
        args[0] = "--config-file";
        args[1] = file(yaml).toString();
        System.arraycopy(flags, 0, args, 2, flags.length);
        return EtcdFlags.parse(args, env);
    }

    /** The one-line message for a file, with the file's path shown as FILE. */
    private String error(String yaml) throws IOException {
        Path f = file(yaml);
        FlagException e = assertThrows(FlagException.class,
                () -> EtcdFlags.parse(new String[] {"--config-file=" + f}, Map.of()));
        assertEquals(FlagException.class, e.getClass(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage().replace(f.toString(), "FILE");
    }

    @Test
    void everyShapeOfEtcdsSampleFileIsRead() throws Exception {
        ServerConfig c = parse("""
                # etcd.conf.yml.sample's shapes
                name: 'infra1'
                data-dir: /var/lib/etcd
                snapshot-count: 5000
                heartbeat-interval: 250
                election-timeout: 2500
                quota-backend-bytes: 8589934592
                listen-peer-urls: http://127.0.0.1:12380
                listen-client-urls: http://127.0.0.1:12379,http://127.0.0.1:22379
                max-request-bytes: 10485760
                max-txn-ops: 1024
                initial-advertise-peer-urls: http://127.0.0.1:12380
                advertise-client-urls: http://127.0.0.1:12379
                initial-cluster: infra1=http://127.0.0.1:12380,infra2=http://127.0.0.2:12380
                initial-cluster-token: 'etcd-cluster-1'
                initial-cluster-state: 'existing'
                auto-compaction-mode: revision
                auto-compaction-retention: "1000"
                enable-v2: false
                log-level: debug
                logger: zap
                log-outputs: [stderr, /tmp/ms.log]
                log-format: console
                experimental-warning-apply-duration: 250000000
                watch-progress-notify-interval: 5s
                client-transport-security:
                  cert-file: /c.pem
                  key-file: /k.pem
                  client-cert-auth: true
                  trusted-ca-file: /ca.pem
                  auto-tls: false
                peer-transport-security:
                  cert-file:
                  key-file:
                  client-cert-auth: false
                  trusted-ca-file:
                  auto-tls: true
                self-signed-cert-validity: 2
                cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
                """, Map.of());
        assertEquals("infra1", c.name());
        assertEquals(Path.of("/var/lib/etcd"), c.dataDir());
        assertEquals(5000, c.snapshotCount());
        assertEquals(Duration.ofMillis(250), c.heartbeatInterval());
        assertEquals(Duration.ofMillis(2500), c.electionTimeout());
        assertEquals(8589934592L, c.quotaBackendBytes());
        assertEquals(List.of("http://127.0.0.1:12380"), c.listenPeerUrls());
        assertEquals(List.of("http://127.0.0.1:12379", "http://127.0.0.1:22379"), c.listenClientUrls());
        assertEquals(10485760, c.maxRequestBytes());
        assertEquals(1024, c.maxTxnOps());
        assertEquals(List.of("http://127.0.0.1:12379"), c.advertiseClientUrls());
        assertEquals(List.of(new InitialMember("infra1", "http://127.0.0.1:12380"),
                new InitialMember("infra2", "http://127.0.0.2:12380")), c.initialCluster());
        assertEquals("etcd-cluster-1", c.initialClusterToken());
        assertTrue(c.joinsExistingCluster());
        assertEquals("revision", c.autoCompactionMode());
        assertEquals("1000", c.autoCompactionRetention());
        assertEquals("debug", c.logLevel());
        assertEquals(List.of("stderr", "/tmp/ms.log"), c.logOutputs());
        assertEquals("console", c.logFormat());
        assertEquals(Duration.ofMillis(250), c.warningApplyDuration()); // etcd's durations: nanoseconds
        assertEquals(Duration.ofSeconds(5), c.watchProgressNotifyInterval());
        TransportSecurity tls = c.tls();
        assertEquals(new TransportSecurity.Side(Path.of("/c.pem"), Path.of("/k.pem"), Path.of("/ca.pem"), true,
                false), tls.client());
        assertEquals(new TransportSecurity.Side(null, null, null, false, true), tls.peer());
        assertEquals(2, tls.selfSignedCertValidityYears());
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), tls.cipherSuites());
        assertEquals(file("").toString(), c.configFile().toString());
    }

    @Test
    void clientLimitsAreReadWithEtcdsShapes() throws Exception {
        ServerConfig c = parse("""
                max-concurrent-streams: 100
                grpc-keepalive-min-time: 1000000000
                grpc-keepalive-interval: 30s
                grpc-keepalive-timeout: 5000000000
                max-watchers: 500
                max-leases: 0
                """, Map.of());
        assertEquals(new ClientLimits(100, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(5), 500,
                0), c.limits());
    }

    @Test
    void flagsOverrideEnvironmentWhichOverridesTheFile() throws Exception {
        String yaml = """
                name: fromfile
                initial-cluster: fromfile=http://localhost:2380,fromenv=http://localhost:2380,fromflag=http://localhost:2380
                snapshot-count: 7
                max-txn-ops: 9
                log-level: warn
                """;
        ServerConfig fileOnly = parse(yaml, Map.of());
        assertEquals("fromfile", fileOnly.name());
        assertEquals(Path.of("fromfile.etcd"), fileOnly.dataDir()); // defaults that follow the name still follow it
        assertEquals(7, fileOnly.snapshotCount());
        assertEquals("warn", fileOnly.logLevel());

        ServerConfig envOverFile = parse(yaml, Map.of("ETCD_NAME", "fromenv", "ETCD_SNAPSHOT_COUNT", "8"));
        assertEquals("fromenv", envOverFile.name());
        assertEquals(8, envOverFile.snapshotCount());
        assertEquals(9, envOverFile.maxTxnOps()); // what nothing above sets still comes from the file

        ServerConfig flagOverAll = parse(yaml, Map.of("ETCD_NAME", "fromenv"), "--name=fromflag",
                "--log-level=error");
        assertEquals("fromflag", flagOverAll.name());
        assertEquals("error", flagOverAll.logLevel());
        assertEquals(7, flagOverAll.snapshotCount());

        // A renamed setting: the flag's new name beats the file's old name instead of conflicting with it.
        ServerConfig renamed = parse("experimental-warning-apply-duration: 5s\nname: default\n", Map.of(),
                "--warning-apply-duration=1s");
        assertEquals(Duration.ofSeconds(1), renamed.warningApplyDuration());
    }

    @Test
    void emptyFileAndEmptyValuesLeaveDefaults() throws Exception {
        ServerConfig defaults = ServerConfig.builder("default").build();
        for (String yaml : List.of("# only a comment\n", "name:\nclient-transport-security:\nlog-outputs:\n")) {
            ServerConfig.Builder c = parse(yaml, Map.of()).toBuilder();
            c.configFile = null;
            assertEquals(defaults, c.build(), yaml);
        }
    }

    @Test
    void structuralErrorsAreOneLine() throws Exception {
        assertEquals("config file FILE: unknown key \"nmae\"", error("nmae: x\n"));
        assertEquals("config file FILE: unknown key \"config-file\"", error("config-file: other.yml\n"));
        assertEquals("config file FILE: unknown key \"cert\" in client-transport-security",
                error("client-transport-security:\n  cert: /c.pem\n"));
        assertTrue(error("name: [a\n").startsWith("config file FILE is not valid YAML: "), error("name: [a\n"));
        assertTrue(error("name: a\nname: b\n").matches(
                "config file FILE is not valid YAML: found duplicate key name at line 2, column 1"),
                error("name: a\nname: b\n"));
        assertEquals("config file FILE: expected a mapping of setting names to values, found a list",
                error("- name\n- data-dir\n"));
        assertEquals("config file FILE: keys must be setting names, found an integer (1)", error("1: x\n"));
    }

    @Test
    void wrongTypesAreRefused() throws Exception {
        assertEquals("config file FILE: \"heartbeat-interval\" must be an integer, not a string (fast)",
                error("heartbeat-interval: fast\n"));
        assertEquals("config file FILE: \"snapshot-count\" must be an integer, not a number (1.5)",
                error("snapshot-count: 1.5\n"));
        assertEquals("config file FILE: \"client-transport-security.client-cert-auth\" must be true or false, "
                + "not a string (sure)", error("client-transport-security:\n  client-cert-auth: sure\n"));
        assertEquals("config file FILE: \"name\" must be a single value, not a mapping",
                error("name:\n  first: a\n"));
        assertEquals("config file FILE: \"listen-client-urls\" must be a single value, not a list",
                error("listen-client-urls: [http://127.0.0.1:2379]\n"));
        assertEquals("config file FILE: \"log-outputs\" must be a list of strings, found an integer",
                error("log-outputs: [1]\n"));
        assertEquals("config file FILE: \"peer-transport-security\" must be a mapping (cert-file, key-file, ...), "
                + "not a string", error("peer-transport-security: on-please\n"));
    }

    @Test
    void badValuesNameTheKeyAndTheFile() throws Exception {
        assertEquals("invalid value \"ftp://127.0.0.1:2379\" for listen-client-urls in config file FILE: "
                + "\"ftp://127.0.0.1:2379\" is not an http:// or https:// URL",
                error("listen-client-urls: ftp://127.0.0.1:2379\nadvertise-client-urls: http://127.0.0.1:2379\n"));
        assertEquals("invalid value \"-1\" for quota-backend-bytes in config file FILE: must be >= 0 (negative, "
                + "which disables the quota in etcd, is not supported)", error("quota-backend-bytes: -1\n"));
        assertEquals("invalid value \"old\" for initial-cluster-state in config file FILE: valid values are new, "
                + "existing", error("initial-cluster-state: old\n"));
        assertEquals("invalid value \"loud\" for log-level in config file FILE: valid values are debug, info, warn, "
                + "error, panic, fatal", error("log-level: loud\n"));
        assertEquals("invalid value \"xml\" for log-format in config file FILE: valid values are json, console",
                error("log-format: xml\n"));
        assertEquals("invalid value \"default,/tmp/x.log\" for log-outputs in config file FILE: multi logoutput for "
                + "\"default\" is not supported yet", error("log-outputs: [default, /tmp/x.log]\n"));
        assertEquals("invalid value \"0ns\" for experimental-warning-apply-duration in config file FILE: must be a "
                + "positive duration such as 100ms", error("experimental-warning-apply-duration: 0\n"));
    }

    @Test
    void conflictingSettingsAreRefused() throws Exception {
        assertEquals("couldn't find local name \"m1\" in the initial cluster configuration",
                error("name: m1\ninitial-cluster: m2=http://127.0.0.1:2380\n"));
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 "
                + "with HTTPS scheme",
                error("listen-client-urls: https://127.0.0.1:2379\nadvertise-client-urls: https://127.0.0.1:2379\n"));
        assertEquals("cannot set --experimental-warning-apply-duration and --warning-apply-duration at the same "
                + "time, please use --warning-apply-duration only",
                error("warning-apply-duration: 1s\nexperimental-warning-apply-duration: 2s\n"));
        assertEquals("--advertise-client-urls is required when --listen-client-urls is set explicitly",
                error("listen-client-urls: http://127.0.0.1:2379\n"));
    }
}
