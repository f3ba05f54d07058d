package io.metastore.server.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.metastore.server.ClientLimits;
import io.metastore.server.ServerConfig;
import io.metastore.server.tls.TransportSecurity;
import io.metastore.server.ServerConfig.InitialMember;
import io.metastore.server.ServerConfig.StorageEngine;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EtcdFlagsTest {

    private static ServerConfig parse(String... args) throws FlagException {
        return EtcdFlags.parse(args, Map.of());
    }

    /** The message of a plain FlagException (not --help or --version). */
    private static String error(Map<String, String> env, String... args) {
        FlagException e = assertThrows(FlagException.class, () -> EtcdFlags.parse(args, env));
        assertEquals(FlagException.class, e.getClass(), e.getMessage());
        return e.getMessage();
    }

    private static String error(String... args) {
        return error(Map.of(), args);
    }

    // ---- defaults ----

    @Test
    void noArgumentsGiveEtcdDefaults() throws Exception {
        ServerConfig c = parse();
        assertEquals(ServerConfig.builder("default").build(), c);
        assertEquals("default", c.name());
        assertEquals(Path.of("default.etcd"), c.dataDir());
        assertEquals(List.of("http://localhost:2379"), c.listenClientUrls());
        assertEquals(List.of("http://localhost:2379"), c.advertiseClientUrls());
        assertEquals(List.of("http://localhost:2380"), c.listenPeerUrls());
        assertEquals(List.of("http://localhost:2380"), c.initialAdvertisePeerUrls());
        assertEquals(List.of(new InitialMember("default", "http://localhost:2380")), c.initialCluster());
        assertEquals("new", c.initialClusterState());
        assertEquals("etcd-cluster", c.initialClusterToken());
        assertEquals(0, c.quotaBackendBytes());
        assertEquals("periodic", c.autoCompactionMode());
        assertEquals("0", c.autoCompactionRetention());
        assertEquals(1_572_864, c.maxRequestBytes());
        assertEquals(128, c.maxTxnOps());
        assertEquals(Duration.ofMillis(100), c.heartbeatInterval());
        assertEquals(Duration.ofMillis(1000), c.electionTimeout());
        assertEquals(10_000, c.snapshotCount());
        assertEquals("info", c.logLevel());
        assertEquals(StorageEngine.ROCKSDB, c.storageEngine());
        assertEquals(Duration.ofMinutes(10), c.watchProgressNotifyInterval());
    }

    @Test
    void leaderLeaseReadsAreOffUnlessAsked() throws Exception {
        assertEquals(false, parse().leaderLeaseReads());
        assertEquals(true, parse("--leader-lease-reads").leaderLeaseReads());
        assertEquals(true, parse("--leader-lease-reads=true").leaderLeaseReads());
        assertEquals(false, parse("--leader-lease-reads=false").leaderLeaseReads());
        assertEquals(true, parse().toBuilder().leaderLeaseReads(true).build().leaderLeaseReads());
    }

    @Test
    void dataDirAndInitialClusterFollowName() throws Exception {
        ServerConfig c = parse("--name", "infra1");
        assertEquals(Path.of("infra1.etcd"), c.dataDir());
        assertEquals(List.of(new InitialMember("infra1", "http://localhost:2380")), c.initialCluster());

        c = parse("--name=infra1", "--initial-advertise-peer-urls=http://10.0.0.1:2380,http://10.0.1.1:2380");
        assertEquals(List.of(new InitialMember("infra1", "http://10.0.0.1:2380"),
                new InitialMember("infra1", "http://10.0.1.1:2380")), c.initialCluster());

        assertEquals(Path.of("/var/lib/etcd"), parse("--name", "infra1", "--data-dir", "/var/lib/etcd").dataDir());
        assertEquals(Path.of("infra1.etcd"), parse("--name", "infra1", "--data-dir=").dataDir()); // empty = default
    }

    // ---- syntax ----

    @Test
    void everyFlagSyntaxGoAccepts() throws Exception {
        for (String[] args : List.of(new String[] {"--name=n1"}, new String[] {"--name", "n1"},
                new String[] {"-name=n1"}, new String[] {"-name", "n1"})) {
            assertEquals("n1", parse(args).name(), String.join(" ", args));
        }
        assertEquals("a=b", parse("--initial-cluster-token=a=b").initialClusterToken()); // split at the first '='
        assertEquals("", parse("--initial-cluster-token=").initialClusterToken());
        assertEquals("n2", parse("--name=n1", "--name=n2").name()); // last one wins
        // As in Go, a value flag takes the next argument even when it starts with a dash.
        assertEquals("-x", parse("--initial-cluster-token", "-x").initialClusterToken());
        assertEquals(ServerConfig.builder("default").build(), parse("--")); // end-of-flags marker alone is fine
    }

    @Test
    void everyImplementedFlagSetsItsField() throws Exception {
        ServerConfig c = parse(
                "--name", "m1", "--data-dir", "/d",
                "--listen-client-urls", "http://0.0.0.0:2379,https://127.0.0.1:22379",
                "--advertise-client-urls", "http://m1.example:2379",
                "--listen-peer-urls", "http://[::]:2380",
                "--initial-advertise-peer-urls", "http://m1.example:2380",
                "--initial-cluster", "m1=http://m1.example:2380,m2=http://m2.example:2380",
                "--initial-cluster-state", "existing", "--initial-cluster-token", "tok",
                "--quota-backend-bytes", "8589934592", "--auto-compaction-mode", "revision",
                "--auto-compaction-retention", "1000", "--max-request-bytes", "10485760", "--max-txn-ops", "1024",
                "--heartbeat-interval", "250", "--election-timeout", "2500", "--snapshot-count", "5000",
                "--log-level", "debug", "--storage-engine", "memory", "--watch-progress-notify-interval", "5s",
                "--cert-file", "/c.pem", "--key-file", "/k.pem", "--trusted-ca-file", "/ca.pem", "--client-cert-auth",
                "--auto-tls", "--peer-cert-file", "/pc.pem", "--peer-key-file", "/pk.pem",
                "--peer-trusted-ca-file", "/pca.pem", "--peer-client-cert-auth", "--peer-auto-tls",
                "--self-signed-cert-validity", "3", "--tls-min-version", "TLS1.3", "--tls-max-version", "TLS1.3");
        assertEquals("m1", c.name());
        assertEquals(Path.of("/d"), c.dataDir());
        assertEquals(List.of("http://0.0.0.0:2379", "https://127.0.0.1:22379"), c.listenClientUrls());
        assertEquals(List.of("http://m1.example:2379"), c.advertiseClientUrls());
        assertEquals(List.of("http://[::]:2380"), c.listenPeerUrls());
        assertEquals(List.of("http://m1.example:2380"), c.initialAdvertisePeerUrls());
        assertEquals(List.of(new InitialMember("m1", "http://m1.example:2380"),
                new InitialMember("m2", "http://m2.example:2380")), c.initialCluster());
        assertEquals("existing", c.initialClusterState());
        assertEquals("tok", c.initialClusterToken());
        assertEquals(8_589_934_592L, c.quotaBackendBytes());
        assertEquals("revision", c.autoCompactionMode());
        assertEquals("1000", c.autoCompactionRetention());
        assertEquals(10_485_760, c.maxRequestBytes());
        assertEquals(1024, c.maxTxnOps());
        assertEquals(Duration.ofMillis(250), c.heartbeatInterval());
        assertEquals(Duration.ofMillis(2500), c.electionTimeout());
        assertEquals(5000, c.snapshotCount());
        assertEquals("debug", c.logLevel());
        assertEquals(StorageEngine.MEMORY, c.storageEngine());
        assertEquals(Duration.ofSeconds(5), c.watchProgressNotifyInterval());
        assertEquals(new TransportSecurity(
                new TransportSecurity.Side(Path.of("/c.pem"), Path.of("/k.pem"), Path.of("/ca.pem"), true, true),
                new TransportSecurity.Side(Path.of("/pc.pem"), Path.of("/pk.pem"), Path.of("/pca.pem"), true, true),
                "TLS1.3", "TLS1.3", List.of(), 3), c.tls());
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"),
                parse("--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305")
                        .tls().cipherSuites());

        assertEquals(Duration.ofMillis(100),
                parse("--experimental-watch-progress-notify-interval=100ms").watchProgressNotifyInterval());
        assertEquals("1h30m", parse("--auto-compaction-retention=1h30m").autoCompactionRetention());
        assertEquals("1.5h", parse("--auto-compaction-retention=1.5h").autoCompactionRetention());
    }

    @Test
    void clientLimitsHaveEtcdDefaultsAndChecks() throws Exception {
        ClientLimits d = parse().limits();
        assertEquals(ClientLimits.defaults(), d);
        assertEquals(Duration.ofSeconds(5), d.keepaliveMinTime());
        assertEquals(Duration.ofHours(2), d.keepaliveInterval());
        assertEquals(Duration.ofSeconds(20), d.keepaliveTimeout());
        assertEquals(Integer.MAX_VALUE, d.maxConcurrentStreams()); // etcd's MaxUint32, as far as grpc-java goes
        ClientLimits c = parse("--max-concurrent-streams=10", "--grpc-keepalive-min-time=1s",
                "--grpc-keepalive-interval=30s", "--grpc-keepalive-timeout=5s", "--max-watchers=7",
                "--max-leases=0").limits();
        assertEquals(new ClientLimits(10, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(5), 7, 0),
                c);
        assertEquals(Integer.MAX_VALUE, parse("--max-concurrent-streams=4294967295").limits().maxConcurrentStreams());
        assertEquals("basic", parse().metrics());
        assertEquals("extensive", parse("--metrics=extensive").metrics());
        assertEquals("invalid value \"full\" for --metrics: valid values are basic, extensive", error("--metrics=full"));
        assertEquals("invalid value \"0\" for --max-concurrent-streams: must be a positive integer",
                error("--max-concurrent-streams=0"));
        assertEquals("invalid value \"-1s\" for --grpc-keepalive-min-time: must not be negative",
                error("--grpc-keepalive-min-time=-1s"));
        assertEquals("invalid value \"0s\" for --grpc-keepalive-timeout: must be positive",
                error("--grpc-keepalive-timeout=0s"));
        assertEquals("invalid value \"-5\" for --max-watchers: must be a non-negative integer",
                error("--max-watchers=-5"));
    }

    @Test
    void notImplementedFlagsAreAcceptedAndIgnored() throws Exception {
        ServerConfig defaults = ServerConfig.builder("default").build();
        assertEquals(defaults, parse("--logger", "zap", "--enable-v2", "--metrics", "basic",
                "--auto-tls=false", "--peer-auto-tls=false",
                "--client-cert-auth=false", "--enable-pprof=true", "--force-new-cluster=0", "--strict-reconfig-check",
                "--pre-vote=t", "--max-snapshots", "5", "--max-wals", "5", "--initial-election-tick-advance=false",
                "--log-format", "json", "--experimental-initial-corrupt-check", "--feature-gates=A=true"));
        // Security flags we lack are refused when set rather than ignored: less protection must not pass silently.
        assertEquals("--client-crl-file is not supported yet", error("--client-crl-file", "/crl.pem"));
        assertEquals("--peer-cert-allowed-cn is not supported yet", error("--peer-cert-allowed-cn=m1"));
        assertEquals(defaults, parse("--client-crl-file="));
        // A boolean flag does not take the next argument, so the flag after it is still read.
        assertEquals("n1", parse("--pre-vote", "--name", "n1").name());
        assertEquals("\"false\" is not a valid flag", error("--pre-vote", "false"));
        assertEquals("invalid value \"maybe\" for --pre-vote: not a boolean (use true or false)",
                error("--pre-vote=maybe"));
        assertEquals("invalid value \"maybe\" for ETCD_ENABLE_PPROF: not a boolean (use true or false)",
                error(Map.of("ETCD_ENABLE_PPROF", "maybe")));
        assertEquals(defaults, EtcdFlags.parse(new String[0], Map.of("ETCD_LOGGER", "zap", "ETCD_PRE_VOTE", "true")));
    }

    @Test
    void logAndSlowApplyFlags() throws Exception {
        ServerConfig defaults = parse();
        assertEquals(List.of("default"), defaults.logOutputs());
        assertEquals("json", defaults.logFormat());
        assertEquals(Duration.ofMillis(100), defaults.warningApplyDuration());
        ServerConfig c = parse("--log-outputs", "stderr, stdout,/var/log/ms.log,stdout", "--log-format=console",
                "--warning-apply-duration=250ms");
        assertEquals(List.of("stderr", "stdout", "/var/log/ms.log"), c.logOutputs()); // a set, as etcd's
        assertEquals("console", c.logFormat());
        assertEquals(Duration.ofMillis(250), c.warningApplyDuration());
        assertEquals(Duration.ofSeconds(1),
                parse("--experimental-warning-apply-duration=1s").warningApplyDuration());
        assertEquals(List.of("/tmp/a.log"),
                EtcdFlags.parse(new String[0], Map.of("ETCD_LOG_OUTPUTS", "/tmp/a.log")).logOutputs());
        assertEquals("invalid value \"default,stderr\" for --log-outputs: multi logoutput for \"default\" is not "
                + "supported yet", error("--log-outputs=default,stderr"));
        assertEquals("invalid value \"stderr,\" for --log-outputs: empty log output (use stderr, stdout, default or "
                + "a file path)", error("--log-outputs=stderr,"));
        assertEquals("invalid value \"text\" for --log-format: valid values are json, console",
                error("--log-format=text"));
        assertEquals("invalid value \"0\" for --warning-apply-duration: must be a positive duration such as 100ms",
                error("--warning-apply-duration=0"));
        assertEquals("cannot set --experimental-warning-apply-duration and --warning-apply-duration at the same "
                + "time, please use --warning-apply-duration only",
                error("--warning-apply-duration=1s", "--experimental-warning-apply-duration=1s"));
    }

    @Test
    void helpAndVersion() {
        for (String h : List.of("-h", "--help", "-help", "--h")) {
            FlagException help = assertThrows(FlagException.Help.class,
                    () -> parse("--name", "x", h, "--no-such-flag"));
            assertEquals(EtcdFlags.usage(), help.getMessage(), h); // Main prints the message as is
        }
        assertThrows(FlagException.Version.class, () -> parse("--version"));
        assertThrows(FlagException.Version.class, () -> parse("-version", "--election-timeout=1")); // checks come later
        assertThrows(FlagException.Version.class, () -> parse("--version=true"));
        assertEquals("unknown flag: --foo", error("--version", "--foo")); // but not over a bad command line
        assertTrue(EtcdFlags.usage().contains("--initial-cluster-token 'etcd-cluster'"));
        assertTrue(EtcdFlags.usage().contains("--enable-pprof"));
    }

    @Test
    void versionFalseIsNotARequest() throws Exception {
        assertEquals("default", parse("--version=false").name());
        // ETCD_VERSION is set by many images; etcd ignores it and so do we.
        assertEquals("default", EtcdFlags.parse(new String[0], Map.of("ETCD_VERSION", "3.5.9")).name());
    }

    // ---- environment ----

    @Test
    void environmentVariables() throws Exception {
        Map<String, String> env = Map.of(
                "ETCD_NAME", "e1",
                "ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379",
                "ETCD_ADVERTISE_CLIENT_URLS", "http://e1:2379",
                "ETCD_INITIAL_CLUSTER", "e1=http://e1:2380,e2=http://e2:2380",
                "ETCD_QUOTA_BACKEND_BYTES", "1024",
                "ETCD_STORAGE_ENGINE", "memory",
                "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL", "1s",
                "ETCD_UNKNOWN_THING", "ignored, as etcd only warns",
                "PATH", "/usr/bin");
        ServerConfig c = EtcdFlags.parse(new String[0], env);
        assertEquals("e1", c.name());
        assertEquals(Path.of("e1.etcd"), c.dataDir());
        assertEquals(List.of("http://0.0.0.0:2379"), c.listenClientUrls());
        assertEquals(List.of("http://e1:2379"), c.advertiseClientUrls());
        assertEquals(2, c.initialCluster().size());
        assertEquals(1024, c.quotaBackendBytes());
        assertEquals(StorageEngine.MEMORY, c.storageEngine());
        assertEquals(Duration.ofSeconds(1), c.watchProgressNotifyInterval());
        assertEquals(Path.of("/data"), EtcdFlags.parse(new String[0], Map.of("ETCD_DATA_DIR", "/data")).dataDir());
    }

    @Test
    void flagsOverrideEnvironmentAndEmptyVariablesAreUnset() throws Exception {
        Map<String, String> env = Map.of("ETCD_NAME", "from-env", "ETCD_DATA_DIR", "/env", "ETCD_LOG_LEVEL", "");
        ServerConfig c = EtcdFlags.parse(new String[] {"--name", "from-flag"}, env);
        assertEquals("from-flag", c.name());
        assertEquals(Path.of("/env"), c.dataDir());
        assertEquals("info", c.logLevel());
        // A bad variable is not read at all when the flag is given.
        assertEquals(100, EtcdFlags.parse(new String[] {"--max-txn-ops=100"}, Map.of("ETCD_MAX_TXN_OPS", "x"))
                .maxTxnOps());
        assertEquals("invalid value \"x\" for ETCD_MAX_TXN_OPS: must be a positive integer",
                error(Map.of("ETCD_MAX_TXN_OPS", "x")));
    }

    // ---- command-line errors ----

    @Test
    void commandLineErrors() {
        assertEquals("unknown flag: --foo", error("--foo"));
        assertEquals("unknown flag: --foo", error("--foo=bar"));
        assertEquals("unknown flag: -foo", error("-foo"));
        assertEquals("missing value for flag --name", error("--name"));
        assertEquals("missing value for flag --data-dir", error("--name", "x", "--data-dir"));
        assertEquals("\"extra\" is not a valid flag", error("--name", "x", "extra"));
        assertEquals("\"-\" is not a valid flag", error("-"));
        assertEquals("\"--name\" is not a valid flag", error("--", "--name", "x"));
        assertEquals("bad flag syntax: ---name", error("---name"));
        assertEquals("bad flag syntax: --=x", error("--=x"));
        assertEquals("cannot read config file /nonexistent/etcd.yml: no such file",
                error("--config-file", "/nonexistent/etcd.yml"));
        assertEquals("cannot read config file /nonexistent/etcd.yml: no such file",
                error(Map.of("ETCD_CONFIG_FILE", "/nonexistent/etcd.yml")));
    }

    @Test
    void valueErrors() {
        assertEquals("invalid value \"old\" for --initial-cluster-state: valid values are new, existing",
                error("--initial-cluster-state=old"));
        assertEquals("invalid value \"-1\" for --quota-backend-bytes: must be >= 0 (negative, which disables the "
                + "quota in etcd, is not supported)", error("--quota-backend-bytes", "-1"));
        assertEquals("invalid value \"2GB\" for --quota-backend-bytes: must be a non-negative integer",
                error("--quota-backend-bytes=2GB"));
        assertEquals("invalid value \"99999999999999999999\" for --quota-backend-bytes: must be a non-negative "
                + "integer no larger than 9223372036854775807", error("--quota-backend-bytes=99999999999999999999"));
        assertEquals("invalid value \"daily\" for --auto-compaction-mode: valid values are periodic, revision",
                error("--auto-compaction-mode=daily"));
        for (String bad : List.of("-1", "1d", "-1h", "h", "1.5", "")) {
            assertEquals("invalid value \"" + bad + "\" for --auto-compaction-retention: must be a duration such as "
                    + "1h30m, 5m or 10s, or a non-negative integer", error("--auto-compaction-retention=" + bad));
        }
        assertEquals("invalid value \"0\" for --max-request-bytes: must be a positive integer",
                error("--max-request-bytes=0"));
        assertEquals("invalid value \"3000000000\" for --max-request-bytes: must be a positive integer no larger "
                + "than 2147483647", error("--max-request-bytes=3000000000"));
        assertEquals("invalid value \"-5\" for --max-txn-ops: must be a positive integer", error("--max-txn-ops=-5"));
        assertEquals("invalid value \"100ms\" for --heartbeat-interval: must be a non-negative integer",
                error("--heartbeat-interval=100ms"));
        assertEquals("invalid value \"1s\" for --election-timeout: must be a non-negative integer",
                error("--election-timeout=1s"));
        assertEquals("invalid value \"0\" for --snapshot-count: must be a positive integer",
                error("--snapshot-count=0"));
        assertEquals("invalid value \"trace\" for --log-level: valid values are debug, info, warn, error, panic, "
                + "fatal", error("--log-level=trace"));
        assertEquals("invalid value \"bbolt\" for --storage-engine: valid values are rocksdb, memory",
                error("--storage-engine=bbolt"));
        assertEquals("invalid value \"50ms\" for --watch-progress-notify-interval: must be at least 100ms",
                error("--watch-progress-notify-interval=50ms"));
        assertEquals("invalid value \"10\" for --experimental-watch-progress-notify-interval: time: missing unit in "
                + "duration \"10\"", error("--experimental-watch-progress-notify-interval=10"));
        assertEquals("cannot set --experimental-watch-progress-notify-interval and --watch-progress-notify-interval "
                + "at the same time, please use --watch-progress-notify-interval only",
                error("--watch-progress-notify-interval=1s", "--experimental-watch-progress-notify-interval=1s"));
    }

    @Test
    void timingErrorsUseEtcdsWords() {
        assertEquals("--heartbeat-interval must be >0 (set to 0ms)", error("--heartbeat-interval=0"));
        assertEquals("--election-timeout must be >0 (set to 0ms)", error("--election-timeout=0"));
        assertEquals("--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]",
                error("--election-timeout=400"));
        assertEquals("--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]",
                error("--heartbeat-interval=300"));
        assertEquals("--election-timeout[60000ms] is too long, and should be set less than 50000ms",
                error("--heartbeat-interval=1000", "--election-timeout=60000"));
    }

    @Test
    void exactlyFiveHeartbeatsIsEnough() throws Exception {
        assertEquals(Duration.ofMillis(500), parse("--election-timeout=500").electionTimeout());
    }

    @Test
    void listenClientUrlsNeedAdvertiseClientUrls() throws Exception {
        assertEquals("--advertise-client-urls is required when --listen-client-urls is set explicitly",
                error("--listen-client-urls=http://0.0.0.0:2379"));
        assertEquals("--advertise-client-urls is required when --listen-client-urls is set explicitly",
                error(Map.of("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379")));
        assertEquals(List.of("http://10.0.0.1:2379"), parse("--listen-client-urls=http://0.0.0.0:2379",
                "--advertise-client-urls=http://10.0.0.1:2379").advertiseClientUrls());
    }

    // ---- URLs and --initial-cluster ----

    @Test
    void urlChecksNameTheFlag() throws Exception {
        assertEquals("invalid value \"unix://x\" for --advertise-client-urls: \"unix://x\" is not an http:// or "
                + "https:// URL", error("--advertise-client-urls=unix://x"));
        assertEquals("invalid value \"localhost:2379\" for --advertise-client-urls: \"localhost:2379\" is not an "
                + "http:// or https:// URL", error("--advertise-client-urls=localhost:2379"));
        assertEquals("invalid value \"http://localhost\" for --initial-advertise-peer-urls: \"http://localhost\" must "
                + "have the form http://host:port", error("--initial-advertise-peer-urls=http://localhost"));
        assertEquals("invalid value \"http://:2380\" for --initial-advertise-peer-urls: \"http://:2380\" must have "
                + "the form http://host:port", error("--initial-advertise-peer-urls=http://:2380"));
        assertEquals("invalid value \"https://h:70000\" for --initial-advertise-peer-urls: \"https://h:70000\" must "
                + "have the form https://host:port", error("--initial-advertise-peer-urls=https://h:70000"));
        assertEquals("invalid value \"http://h:2380/x\" for --initial-advertise-peer-urls: \"http://h:2380/x\" must "
                + "be http://host:port with no path", error("--initial-advertise-peer-urls=http://h:2380/x"));
        assertEquals("invalid value \"http://a:1,\" for --initial-advertise-peer-urls: \"\" is not an http:// or "
                + "https:// URL", error("--initial-advertise-peer-urls=http://a:1,"));
        assertEquals("invalid value \"http://node1:2380\" for --listen-peer-urls: expected IP in URL for binding "
                + "(http://node1:2380)", error("--listen-peer-urls=http://node1:2380"));
        assertEquals("invalid value \"http://[zz::1]:2380\" for --listen-peer-urls: \"http://[zz::1]:2380\" must "
                + "have the form http://host:port", error("--listen-peer-urls=http://[zz::1]:2380"));
        assertTrue(error("--listen-client-urls=http://999.1.1.1:2379", "--advertise-client-urls=http://a:1")
                .endsWith("expected IP in URL for binding (http://999.1.1.1:2379)"));

        // Spaces trimmed, duplicates dropped, scheme lower-cased, host names with '_' allowed for advertising.
        ServerConfig c = parse("--listen-peer-urls", " HTTP://127.0.0.1:2380 , http://127.0.0.1:2380,http://[::1]:2380",
                "--initial-advertise-peer-urls", "http://etcd_1:2380");
        assertEquals(List.of("http://127.0.0.1:2380", "http://[::1]:2380"), c.listenPeerUrls());
        assertEquals(List.of(new InitialMember("default", "http://etcd_1:2380")), c.initialCluster());
    }

    @Test
    void initialCluster() throws Exception {
        // A name may repeat; empty entries (",,", a trailing comma) are skipped and URLs trimmed, as in etcd.
        assertEquals(List.of(new InitialMember("a", "http://10.0.0.1:2380"),
                new InitialMember("a", "http://10.0.1.1:2380"),
                new InitialMember("b", "https://b.example:2380"),
                new InitialMember("c", "http://c:2380")), parse("--name", "a", "--initial-cluster",
                "a=http://10.0.0.1:2380,a=http://10.0.1.1:2380,,b=https://b.example:2380,c= http://c:2380 ,")
                .initialCluster());
        // A list without this member is refused at once (etcd refuses it when the member bootstraps).
        assertEquals("couldn't find local name \"default\" in the initial cluster configuration",
                error("--initial-cluster=x=http://x:2380"));
        assertEquals(List.of(new InitialMember("x", "http://x:2380")),
                parse("--name=x", "--initial-cluster=x=http://x:2380").initialCluster());

        assertEquals("invalid value \"a\" for --initial-cluster: \"a\" is not name=url", error("--initial-cluster=a"));
        assertEquals("invalid value \"=http://a:1\" for --initial-cluster: \"=http://a:1\" is not name=url",
                error("--initial-cluster==http://a:1"));
        assertEquals("invalid value \"a=http://a\" for --initial-cluster: \"http://a\" must have the form "
                + "http://host:port", error("--initial-cluster=a=http://a"));
        assertEquals("invalid value \",\" for --initial-cluster: no members given", error("--initial-cluster=,"));
    }

    // ---- Go durations ----

    @Test
    void goDurations() {
        Map<String, Duration> ok = Map.ofEntries(
                Map.entry("0", Duration.ZERO), Map.entry("-0", Duration.ZERO), Map.entry("+0", Duration.ZERO),
                Map.entry("5s", Duration.ofSeconds(5)), Map.entry("+5s", Duration.ofSeconds(5)),
                Map.entry("-5s", Duration.ofSeconds(-5)), Map.entry("5.6s", Duration.ofMillis(5600)),
                Map.entry("5.s", Duration.ofSeconds(5)), Map.entry(".5s", Duration.ofMillis(500)),
                Map.entry("1.004s", Duration.ofMillis(1004)), Map.entry("100.00100s", Duration.ofMillis(100_001)),
                Map.entry("10ns", Duration.ofNanos(10)), Map.entry("11us", Duration.ofNanos(11_000)),
                Map.entry("12\u00b5s", Duration.ofNanos(12_000)), Map.entry("12\u03bcs", Duration.ofNanos(12_000)),
                Map.entry("13ms", Duration.ofMillis(13)), Map.entry("15m", Duration.ofMinutes(15)),
                Map.entry("16h", Duration.ofHours(16)), Map.entry("1h30m", Duration.ofMinutes(90)),
                Map.entry("1.5h", Duration.ofMinutes(90)), Map.entry("10.5s4m", Duration.ofMillis(250_500)),
                Map.entry("-2m3.4s", Duration.ofMillis(-123_400)),
                Map.entry("1h2m3s4ms5us6ns", Duration.ofNanos(3_723_004_005_006L)),
                Map.entry("39h9m14.425s", Duration.ofMillis(140_954_425)),
                Map.entry("0.3333333333333333333h", Duration.ofMinutes(20)),
                Map.entry("0.100000000000000000000h", Duration.ofMinutes(6)),
                // From Go's own tests: only exact with Go's float64 step for fractions.
                Map.entry("0.830103483285477580700h", Duration.ofNanos(2_988_372_539_827L)),
                Map.entry("9007199254740993ns", Duration.ofNanos((1L << 53) + 1)),
                Map.entry("9223372036854775807ns", Duration.ofNanos(Long.MAX_VALUE)),
                Map.entry("9223372036854775.807us", Duration.ofNanos(Long.MAX_VALUE)),
                Map.entry("9223372036s854ms775us807ns", Duration.ofNanos(Long.MAX_VALUE)),
                Map.entry("-9223372036854775808ns", Duration.ofNanos(Long.MIN_VALUE)),
                Map.entry("-9223372036854775.808us", Duration.ofNanos(Long.MIN_VALUE)),
                Map.entry("-2562047h47m16.854775808s", Duration.ofNanos(Long.MIN_VALUE)));
        ok.forEach((text, want) -> assertEquals(want, GoDuration.parse(text), text));

        Map<String, String> bad = Map.ofEntries(
                Map.entry("", "time: invalid duration \"\""),
                Map.entry("3", "time: missing unit in duration \"3\""),
                Map.entry("1.5.5s", "time: missing unit in duration \"1.5.5s\""),
                Map.entry("-", "time: invalid duration \"-\""),
                Map.entry("s", "time: invalid duration \"s\""),
                Map.entry(".", "time: invalid duration \".\""),
                Map.entry("-.", "time: invalid duration \"-.\""),
                Map.entry(".s", "time: invalid duration \".s\""),
                Map.entry("+.s", "time: invalid duration \"+.s\""),
                Map.entry("1d", "time: unknown unit \"d\" in duration \"1d\""),
                Map.entry("1 h", "time: unknown unit \" h\" in duration \"1 h\""),
                Map.entry("1H", "time: unknown unit \"H\" in duration \"1H\""),
                Map.entry("9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""),
                Map.entry("9223372036854775810ns", "time: invalid duration \"9223372036854775810ns\""),
                Map.entry("-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""),
                Map.entry("9223372036854776us", "time: invalid duration \"9223372036854776us\""),
                Map.entry("3000000h", "time: invalid duration \"3000000h\""),
                Map.entry("9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\""),
                Map.entry("9223372036854ms775us808ns", "time: invalid duration \"9223372036854ms775us808ns\""));
        bad.forEach((text, want) -> assertEquals(want,
                assertThrows(IllegalArgumentException.class, () -> GoDuration.parse(text), text).getMessage(), text));
    }

    // ---- HTTP-only listeners ----

    @Test
    void httpAndMetricsListenersAreEmptyByDefault() throws Exception {
        ServerConfig c = parse();
        assertEquals(List.of(), c.listenClientHttpUrls());
        assertEquals(List.of(), c.listenMetricsUrls());
    }

    @Test
    void httpAndMetricsListenUrlsParseLikeTheOtherListenUrls() throws Exception {
        ServerConfig c = parse("--listen-client-http-urls=http://127.0.0.1:2381, http://127.0.0.1:2381,"
                + "http://[::1]:2381", "--listen-metrics-urls", "http://0.0.0.0:2382");
        assertEquals(List.of("http://127.0.0.1:2381", "http://[::1]:2381"), c.listenClientHttpUrls());
        assertEquals(List.of("http://0.0.0.0:2382"), c.listenMetricsUrls());
        assertEquals(List.of("http://127.0.0.1:2383"),
                EtcdFlags.parse(new String[0], Map.of("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:2383")).listenMetricsUrls());
    }

    @Test
    void httpAndMetricsListenUrlsAreChecked() {
        assertEquals("invalid value \"unix://x\" for --listen-metrics-urls: \"unix://x\" is not an http:// or "
                + "https:// URL", error("--listen-metrics-urls=unix://x"));
        assertEquals("invalid value \"http://example.com:2381\" for --listen-client-http-urls: expected IP in URL "
                + "for binding (http://example.com:2381)", error("--listen-client-http-urls=http://example.com:2381"));
        assertEquals("invalid value \"http://127.0.0.1\" for --listen-metrics-urls: \"http://127.0.0.1\" must "
                + "have the form http://host:port", error("--listen-metrics-urls=http://127.0.0.1"));
    }

    @Test
    void httpsHttpAndMetricsListenersNeedTheClientCertificate() {
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2381 "
                + "with HTTPS scheme", error("--listen-client-http-urls=https://127.0.0.1:2381"));
        assertEquals("cannot listen on TLS for 127.0.0.1:2382: KeyFile and CertFile are not presented",
                error("--listen-metrics-urls=https://127.0.0.1:2382"));
    }
}
