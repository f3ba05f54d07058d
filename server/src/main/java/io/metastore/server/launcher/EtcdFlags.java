package io.metastore.server.launcher;

import io.metastore.server.ClientLimits;
import io.metastore.server.ServerConfig;
import io.metastore.server.ServerConfig.InitialMember;
import io.metastore.server.ServerConfig.StorageEngine;
import io.metastore.server.watch.WatchHub;
import io.metastore.server.tls.TransportSecurity;

import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * etcd's command line, so an etcd deployment switches to MetaStore by changing only the binary.
 *
 * <p>Syntax follows Go's {@code flag} package, which etcd uses: {@code --flag=value}, {@code --flag value},
 * {@code -flag} forms alike; a boolean flag takes no separate value ({@code --pre-vote} or {@code --pre-vote=false});
 * parsing stops at the first argument that is not a flag, and etcd rejects any such leftover. A flag not given on the
 * command line is read from {@code ETCD_<FLAG>} (upper case, dashes to underscores) when that is set and non-empty.
 * Value checks and their messages follow etcd's {@code server/embed/config.go}.
 */
public final class EtcdFlags {

    /** Applies one flag's value to the builder; throws IllegalArgumentException whose message says what is wrong. */
    @FunctionalInterface
    private interface Setter {
        void apply(ServerConfig.Builder b, String value);
    }

    private record Flag(String name, String shownDefault, String help, Setter setter) {}

    /** Implemented flags that, as Go bool flags, may stand alone ({@code --flag} means true). */
    private static final Set<String> BOOL_FLAGS = Set.of("leader-lease-reads", "client-cert-auth", "auto-tls",
            "peer-client-cert-auth", "peer-auto-tls");

    private static final String CONFIG_FILE = "config-file";
    private static final String WATCH_PROGRESS = "watch-progress-notify-interval";
    private static final String WATCH_PROGRESS_OLD = "experimental-watch-progress-notify-interval";
    private static final String WARNING_APPLY = "warning-apply-duration";
    private static final String WARNING_APPLY_OLD = "experimental-warning-apply-duration";
    private static final Duration MIN_WATCH_PROGRESS = Duration.ofMillis(100);
    private static final long MAX_ELECTION_MS = 50_000; // etcd's maxElectionMs

    /** The flags we implement, in the order --help lists them. */
    private static final List<Flag> FLAGS = List.of(
            new Flag("name", "default", "Human-readable name for this member.", (b, v) -> b.name = v),
            new Flag("data-dir", "${name}.etcd", "Path to the data directory.",
                    (b, v) -> b.dataDir = v.isEmpty() ? null : Path.of(v)), // empty means the default, as in etcd
            new Flag("listen-client-urls", "http://localhost:2379", "List of URLs to listen on for client traffic.",
                    (b, v) -> b.listenClientUrls = urls(v, true)),
            new Flag("advertise-client-urls", "http://localhost:2379",
                    "List of this member's client URLs to advertise to the public.",
                    (b, v) -> b.advertiseClientUrls = urls(v, false)),
            new Flag("listen-client-http-urls", "", "List of URLs to listen on for HTTP traffic only (the JSON "
                    + "gateway, /version, /health, /metrics); when set, --listen-client-urls serve gRPC only.",
                    (b, v) -> b.listenClientHttpUrls = v.isEmpty() ? List.of() : urls(v, true)),
            new Flag("listen-metrics-urls", "", "List of additional URLs to listen on that respond to the "
                    + "metrics and health endpoints only.",
                    (b, v) -> b.listenMetricsUrls = v.isEmpty() ? List.of() : urls(v, true)),
            new Flag("listen-peer-urls", "http://localhost:2380", "List of URLs to listen on for peer traffic.",
                    (b, v) -> b.listenPeerUrls = urls(v, true)),
            new Flag("initial-advertise-peer-urls", "http://localhost:2380",
                    "List of this member's peer URLs to advertise to the rest of the cluster.",
                    (b, v) -> b.initialAdvertisePeerUrls = urls(v, false)),
            new Flag("initial-cluster", "${name}=${initial-advertise-peer-urls}",
                    "Initial cluster configuration for bootstrapping: name=url,...; a name may repeat.",
                    (b, v) -> b.initialCluster = initialCluster(v)),
            new Flag("initial-cluster-state", "new", "Initial cluster state: new or existing.",
                    (b, v) -> b.initialClusterState = oneOf(v, "new", "existing")),
            new Flag("initial-cluster-token", "etcd-cluster",
                    "Initial cluster token for the etcd cluster during bootstrap.",
                    (b, v) -> b.initialClusterToken = v),
            new Flag("quota-backend-bytes", "0", "Maximum backend size in bytes; 0 means the default of 2 GiB.",
                    (b, v) -> b.quotaBackendBytes = quota(v)),
            new Flag("auto-compaction-mode", "periodic", "How to read --auto-compaction-retention: periodic|revision.",
                    (b, v) -> b.autoCompactionMode = oneOf(v, "periodic", "revision")),
            new Flag("auto-compaction-retention", "0",
                    "Duration (1h30m) or number (hours, or revisions in revision mode) to keep; 0 disables.",
                    (b, v) -> b.autoCompactionRetention = retention(v)),
            new Flag("max-request-bytes", String.valueOf(ServerConfig.DEFAULT_MAX_REQUEST_BYTES),
                    "Maximum client request size in bytes the server will accept.",
                    (b, v) -> b.maxRequestBytes = (int) decimal(v, 1, Integer.MAX_VALUE)),
            new Flag("max-txn-ops", "128", "Maximum number of operations permitted in a transaction.",
                    (b, v) -> b.maxTxnOps = (int) decimal(v, 1, Integer.MAX_VALUE)),
            new Flag("metrics", "basic", "Set level of detail for exported metrics, specify 'extensive' to include "
                    + "server side grpc histogram metrics.", (b, v) -> b.metrics = oneOf(v, "basic", "extensive")),
            new Flag("max-concurrent-streams", "4294967295",
                    "Maximum concurrent streams that each client can open at a time.",
                    (b, v) -> b.limits = b.limits.withMaxConcurrentStreams(
                            (int) Math.min(Integer.MAX_VALUE, decimal(v, 1, 4_294_967_295L)))),
            new Flag("grpc-keepalive-min-time", "5s", "Minimum duration interval that a client should wait before "
                    + "pinging server.", (b, v) -> b.limits = b.limits.withKeepaliveMinTime(nonNegative(v))),
            new Flag("grpc-keepalive-interval", "2h0m0s", "Frequency duration of server-to-client ping to check if "
                    + "a connection is alive.", (b, v) -> b.limits = b.limits.withKeepaliveInterval(positive(v))),
            new Flag("grpc-keepalive-timeout", "20s", "Additional duration of wait before closing a non-responsive "
                    + "connection.", (b, v) -> b.limits = b.limits.withKeepaliveTimeout(positive(v))),
            new Flag("max-watchers", String.valueOf(ClientLimits.DEFAULT_MAX_WATCHERS), "MetaStore only: maximum "
                    + "watchers this member keeps over all streams (0: no limit); beyond it a watch create is "
                    + "canceled with \"" + WatchHub.TOO_MANY_WATCHERS + "\".",
                    (b, v) -> b.limits = b.limits.withMaxWatchers(decimal(v, 0, Long.MAX_VALUE))),
            new Flag("max-leases", String.valueOf(ClientLimits.DEFAULT_MAX_LEASES), "MetaStore only: maximum leases "
                    + "(0: no limit); beyond it LeaseGrant fails with \"etcdserver: too many leases\".",
                    (b, v) -> b.limits = b.limits.withMaxLeases(decimal(v, 0, Long.MAX_VALUE))),
            // 0 passes here so the cross-check below can give etcd's own message for it.
            new Flag("heartbeat-interval", "100", "Time (in milliseconds) of a heartbeat interval.",
                    (b, v) -> b.heartbeatInterval = Duration.ofMillis(decimal(v, 0, Integer.MAX_VALUE))),
            new Flag("election-timeout", "1000", "Time (in milliseconds) for an election to timeout.",
                    (b, v) -> b.electionTimeout = Duration.ofMillis(decimal(v, 0, Integer.MAX_VALUE))),
            new Flag("snapshot-count", "10000", "Number of committed transactions to trigger a snapshot.",
                    (b, v) -> b.snapshotCount = decimal(v, 1, Long.MAX_VALUE)),
            new Flag("leader-lease-reads", "false", "MetaStore only: the leader serves linearizable reads without a "
                    + "quorum round while its Raft leader lease holds (assumes clocks advance at similar rates).",
                    (b, v) -> b.leaderLeaseReads = boolValue(v)),
            new Flag("auth-token", "simple", "Auth token type and options: simple, or "
                    + "jwt,pub-key=<path>,priv-key=<path>,sign-method=<RS256|ES256|...>[,ttl=5m].",
                    (b, v) -> b.authToken = authToken(v)),
            new Flag("auth-token-ttl", "300", "Time (in seconds) of the simple auth token's (sliding) TTL.",
                    (b, v) -> b.authTokenTtl = Duration.ofSeconds(decimal(v, 0, Integer.MAX_VALUE))),
            new Flag("bcrypt-cost", "10", "Cost of bcrypt password hashing (4..31; invalid values fall back to 10).",
                    (b, v) -> b.bcryptCost = (int) decimal(v, 0, Integer.MAX_VALUE)),
            new Flag("log-level", "info", "Log level: debug, info, warn, error, panic or fatal.",
                    (b, v) -> b.logLevel = oneOf(v, "debug", "info", "warn", "error", "panic", "fatal")),
            new Flag("log-outputs", "default", "Where to write logs: stderr, stdout, default (stderr) or file paths; "
                    + "comma-separated, several allowed.", (b, v) -> b.logOutputs = logOutputs(v)),
            new Flag("log-format", "json", "Log format: json (one JSON object per line, as etcd's zap logs) or "
                    + "console (one readable line per event).", (b, v) -> b.logFormat = oneOf(v, "json", "console")),
            new Flag(WARNING_APPLY, "100ms", "Applying one request for longer than this logs a warning.",
                    (b, v) -> b.warningApplyDuration = positiveDuration(v)),
            new Flag(WARNING_APPLY_OLD, "100ms", "Deprecated name of --" + WARNING_APPLY + " (etcd before 3.6).",
                    (b, v) -> b.warningApplyDuration = positiveDuration(v)),
            new Flag("storage-engine", "rocksdb", "MetaStore only: rocksdb or memory (nothing kept on disk).",
                    (b, v) -> b.storageEngine = StorageEngine.valueOf(oneOf(v, "rocksdb", "memory")
                            .toUpperCase(Locale.ROOT))),
            new Flag(WATCH_PROGRESS, "10m", "Duration of periodic watch progress notifications (at least 100ms).",
                    (b, v) -> b.watchProgressNotifyInterval = watchProgress(v)),
            new Flag(WATCH_PROGRESS_OLD, "10m", "Deprecated name of --" + WATCH_PROGRESS + " (etcd before 3.6).",
                    (b, v) -> b.watchProgressNotifyInterval = watchProgress(v)),
            // Transport security (etcd's names and meanings; checked together after parsing, see TransportSecurity).
            new Flag("cert-file", "", "Path to the client server TLS cert file.", (b, v) -> b.tls.certFile = path(v)),
            new Flag("key-file", "", "Path to the client server TLS key file.", (b, v) -> b.tls.keyFile = path(v)),
            new Flag("client-cert-auth", "false", "Enable client cert authentication.",
                    (b, v) -> b.tls.clientCertAuth = boolValue(v)),
            new Flag("trusted-ca-file", "", "Path to the client server TLS trusted CA cert file.",
                    (b, v) -> b.tls.trustedCaFile = path(v)),
            new Flag("auto-tls", "false", "Client TLS using generated certificates.",
                    (b, v) -> b.tls.autoTls = boolValue(v)),
            new Flag("peer-cert-file", "", "Path to the peer server TLS cert file.",
                    (b, v) -> b.tls.peerCertFile = path(v)),
            new Flag("peer-key-file", "", "Path to the peer server TLS key file.",
                    (b, v) -> b.tls.peerKeyFile = path(v)),
            new Flag("peer-client-cert-auth", "false", "Enable peer client cert authentication.",
                    (b, v) -> b.tls.peerClientCertAuth = boolValue(v)),
            new Flag("peer-trusted-ca-file", "", "Path to the peer server TLS trusted CA file.",
                    (b, v) -> b.tls.peerTrustedCaFile = path(v)),
            new Flag("peer-auto-tls", "false", "Peer TLS using generated certificates.",
                    (b, v) -> b.tls.peerAutoTls = boolValue(v)),
            new Flag("self-signed-cert-validity", "1",
                    "The validity period of the client and peer certificates, unit is year.",
                    (b, v) -> b.tls.selfSignedCertValidityYears = (int) decimal(v, 0, Integer.MAX_VALUE)),
            new Flag("tls-min-version", "TLS1.2", "Minimum TLS version supported. Possible values: TLS1.2, TLS1.3.",
                    (b, v) -> b.tls.minVersion = v),
            new Flag("tls-max-version", "", "Maximum TLS version supported. Possible values: TLS1.2, TLS1.3 "
                    + "(empty: the newest the JVM has).", (b, v) -> b.tls.maxVersion = v),
            new Flag("cipher-suites", "", "Comma-separated list of supported TLS cipher suites between client/server "
                    + "and peers (Go's names; empty: the JVM's defaults).",
                    (b, v) -> b.tls.cipherSuites = v.isEmpty() ? List.of() : List.of(v.split(","))),
            // Read in parse() before the other values are applied; flags and ETCD_* variables override the file.
            new Flag(CONFIG_FILE, "", "Path to a server configuration file in etcd's YAML format (keys are the flag "
                    + "names); flags and ETCD_* variables override its settings.",
                    (b, v) -> b.configFile = v.isEmpty() ? null : Path.of(v)));

    private static final Map<String, Flag> BY_NAME = new LinkedHashMap<>();

    static {
        FLAGS.forEach(f -> BY_NAME.put(f.name(), f));
    }

    /**
     * etcd flags accepted so that existing command lines keep working, but NOT IMPLEMENTED yet: each value is
     * syntax-checked (booleans) and otherwise ignored. The value says whether the flag is boolean, which decides
     * whether {@code --flag value} consumes the next argument.
     */
    private static final Map<String, Boolean> NOT_IMPLEMENTED = new LinkedHashMap<>();

    static {
        NOT_IMPLEMENTED.put("logger", false);                        // not implemented: always zap-shaped logs
        NOT_IMPLEMENTED.put("enable-v2", true);                      // not implemented: v3 API only (etcd 3.6 too)
        // TLS flags we lack: refused when set (see REFUSED_WHEN_SET), never silently ignored
        NOT_IMPLEMENTED.put("client-crl-file", false);               // not implemented: no revocation lists
        NOT_IMPLEMENTED.put("peer-crl-file", false);                 // not implemented: no revocation lists
        NOT_IMPLEMENTED.put("client-cert-file", false);              // not implemented: --cert-file is presented
        NOT_IMPLEMENTED.put("client-key-file", false);               // not implemented
        NOT_IMPLEMENTED.put("peer-client-cert-file", false);         // not implemented: --peer-cert-file is presented
        NOT_IMPLEMENTED.put("peer-client-key-file", false);          // not implemented
        NOT_IMPLEMENTED.put("client-cert-allowed-hostname", false);  // not implemented: no CN/SAN allow-lists
        NOT_IMPLEMENTED.put("peer-cert-allowed-cn", false);          // not implemented
        NOT_IMPLEMENTED.put("peer-cert-allowed-hostname", false);    // not implemented
        NOT_IMPLEMENTED.put("enable-pprof", true);                   // not implemented: Go profiler, no equivalent
        NOT_IMPLEMENTED.put("force-new-cluster", true);              // not implemented: no forced recovery yet
        NOT_IMPLEMENTED.put("strict-reconfig-check", true);          // not implemented: reconfigs are not vetted
        NOT_IMPLEMENTED.put("pre-vote", true);                       // not implemented: raft pre-vote
        NOT_IMPLEMENTED.put("max-snapshots", false);                 // not implemented: snapshot file retention
        NOT_IMPLEMENTED.put("max-wals", false);                      // not implemented: WAL file retention
        NOT_IMPLEMENTED.put("initial-election-tick-advance", true);  // not implemented: election tick fast-forward
        NOT_IMPLEMENTED.put("experimental-initial-corrupt-check", true); // not implemented: set by kubeadm
        NOT_IMPLEMENTED.put("feature-gates", false);                 // not implemented: etcd 3.6 feature gates
    }

    /**
     * Security flags that must not be ignored when set (a boolean: true; otherwise non-empty): the operator asked for
     * protection we lack.
     */
    private static final java.util.Set<String> REFUSED_WHEN_SET = java.util.Set.of("client-crl-file",
            "peer-crl-file", "client-cert-file", "client-key-file", "peer-client-cert-file", "peer-client-key-file",
            "client-cert-allowed-hostname", "peer-cert-allowed-cn", "peer-cert-allowed-hostname");

    private EtcdFlags() {}

    /** A flag's raw value and where it came from ("--name" or "ETCD_NAME"), for error messages. */
    private record Value(String text, String origin) {}

    /**
     * @param args the command line, without the program name
     * @param env  the environment (normally {@code System.getenv()}); only ETCD_* entries for known flags are read
     * @throws FlagException.Help    on {@code -h}/{@code --help}: print {@link #usage()}, exit 0
     * @throws FlagException.Version on {@code --version}: print the version, exit 0
     * @throws FlagException         anything else; its message is one line for the user
     */
    public static ServerConfig parse(String[] args, Map<String, String> env) throws FlagException {
        Map<String, Value> values = new LinkedHashMap<>();
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) { // Go's end-of-flags marker; etcd then rejects whatever follows
                if (i + 1 < args.length) {
                    throw notAFlag(args[i + 1]);
                }
                break;
            }
            if (arg.length() < 2 || arg.charAt(0) != '-') {
                throw notAFlag(arg);
            }
            String body = arg.substring(arg.startsWith("--") ? 2 : 1);
            if (body.isEmpty() || body.startsWith("-") || body.startsWith("=")) {
                throw new FlagException("bad flag syntax: " + arg);
            }
            int eq = body.indexOf('=');
            String name = eq < 0 ? body : body.substring(0, eq);
            String value = eq < 0 ? null : body.substring(eq + 1);
            if (name.equals("help") || name.equals("h")) {
                throw new FlagException.Help();
            }
            if (!name.equals("version") && !BY_NAME.containsKey(name) && !NOT_IMPLEMENTED.containsKey(name)) {
                throw new FlagException("unknown flag: " + (eq < 0 ? arg : arg.substring(0, arg.indexOf('='))));
            }
            boolean isBool = name.equals("version") || isBool(name);
            if (value == null && isBool) {
                value = "true";
            } else if (value == null) {
                if (i + 1 == args.length) {
                    throw new FlagException("missing value for flag --" + name);
                }
                value = args[++i]; // as in Go, the next argument is the value even if it starts with '-'
            }
            if (name.equals("version")) {
                version = bool(new Value(value, "--version"));
            } else {
                values.put(name, new Value(value, "--" + name)); // a repeated flag: the last one wins, as in Go
            }
        }
        // Like etcd, --version wins over everything but a malformed command line (env and checks come later).
        if (version) {
            throw new FlagException.Version();
        }

        // Environment, for flags not on the command line. ETCD_VERSION is skipped as etcd does: images set it.
        List<String> envNames = new ArrayList<>(BY_NAME.keySet());
        envNames.addAll(NOT_IMPLEMENTED.keySet());
        for (String name : envNames) {
            String key = "ETCD_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
            String text = env.get(key);
            if (!values.containsKey(name) && text != null && !text.isEmpty()) {
                values.put(name, new Value(text, key));
            }
        }

        // The config file, below flags and environment (etcd 3.4 instead ignores both when a file is given).
        Value configFile = values.get(CONFIG_FILE);
        if (configFile != null && !configFile.text().isEmpty()) {
            Path path = Path.of(configFile.text());
            Map<String, String> fromFile = ConfigFile.read(path,
                    name -> BY_NAME.containsKey(name) || NOT_IMPLEMENTED.containsKey(name), EtcdFlags::isBool);
            Set<String> above = Set.copyOf(values.keySet()); // given as flags or ETCD_* variables
            for (Map.Entry<String, String> e : fromFile.entrySet()) {
                String name = e.getKey();
                // a setting given above the file, also under its other (old or new) name, wins over the file's
                boolean shadowed = above.contains(name)
                        || eitherSet(above, name, WATCH_PROGRESS, WATCH_PROGRESS_OLD)
                        || eitherSet(above, name, WARNING_APPLY, WARNING_APPLY_OLD);
                if (!shadowed) {
                    values.put(name, new Value(e.getValue(), name + " in config file " + path));
                }
            }
        }

        for (String[] names : new String[][] {{WATCH_PROGRESS, WATCH_PROGRESS_OLD}, {WARNING_APPLY, WARNING_APPLY_OLD}}) {
            if (values.containsKey(names[0]) && values.containsKey(names[1])) {
                throw new FlagException("cannot set --" + names[1] + " and --" + names[0]
                        + " at the same time, please use --" + names[0] + " only");
            }
        }

        ServerConfig.Builder b = ServerConfig.builder("default");
        for (Map.Entry<String, Value> e : values.entrySet()) {
            Flag flag = BY_NAME.get(e.getKey());
            Value v = e.getValue();
            if (flag == null) {
                boolean set = NOT_IMPLEMENTED.get(e.getKey()) ? bool(v) : !v.text().isEmpty();
                if (set && REFUSED_WHEN_SET.contains(e.getKey())) {
                    // asking for protection and silently going without it would be worse than not starting
                    throw new FlagException("--" + e.getKey() + " is not supported yet");
                }
                continue;
            }
            try {
                flag.setter().apply(b, v.text());
            } catch (IllegalArgumentException ex) {
                throw invalid(v, ex.getMessage());
            }
        }

        // Defaults that follow other flags, as in etcd: ${name}.etcd and ${name}=each advertised peer URL.
        if (b.dataDir == null || !values.containsKey("data-dir")) {
            b.dataDir = Path.of(b.name + ".etcd");
        }
        if (!values.containsKey("initial-cluster")) {
            String name = b.name;
            b.initialCluster = b.initialAdvertisePeerUrls.stream().map(u -> new InitialMember(name, u)).toList();
        }

        // etcd refuses this when the member starts (etcdserver: PeerURLsMapAndToken); here it is one line, exit 1.
        if (b.initialCluster.stream().noneMatch(m -> m.name().equals(b.name))) {
            throw new FlagException("couldn't find local name \"" + b.name + "\" in the initial cluster "
                    + "configuration");
        }

        // Cross-flag checks, in etcd's order and words (embed.Config.Validate).
        long heartbeatMs = b.heartbeatInterval.toMillis();
        long electionMs = b.electionTimeout.toMillis();
        if (heartbeatMs == 0) {
            throw new FlagException("--heartbeat-interval must be >0 (set to 0ms)");
        }
        if (electionMs == 0) {
            throw new FlagException("--election-timeout must be >0 (set to 0ms)");
        }
        if (5 * heartbeatMs > electionMs) {
            throw new FlagException("--election-timeout[" + electionMs + "ms] should be at least as 5 times as "
                    + "--heartbeat-interval[" + heartbeatMs + "ms]");
        }
        if (electionMs > MAX_ELECTION_MS) {
            throw new FlagException("--election-timeout[" + electionMs + "ms] is too long, and should be set less than "
                    + MAX_ELECTION_MS + "ms");
        }
        // Otherwise we would advertise localhost while listening elsewhere, which breaks clients and peers.
        if (values.containsKey("listen-client-urls") && !values.containsKey("advertise-client-urls")) {
            throw new FlagException("--advertise-client-urls is required when --listen-client-urls is set explicitly");
        }
        try { // TLS: etcd's Validate, then what its listeners refuse (https without a certificate, ...)
            TransportSecurity tls = b.tls.build();
            tls.validate(b.clientListenUrls(), b.listenPeerUrls);
            tls.validateMetrics(b.listenMetricsUrls);
        } catch (IllegalArgumentException e) {
            throw new FlagException(e.getMessage());
        }
        return b.build();
    }

    /** The text for --help: our flags with their defaults, then the accepted-but-ignored ones. */
    public static String usage() {
        StringBuilder sb = new StringBuilder("""
                Usage: metastore [flags]
                  Starts a MetaStore member. Flags are etcd's; any flag can also be set as ETCD_<FLAG>
                  (e.g. ETCD_DATA_DIR) or as a key in the --config-file. A flag on the command line overrides
                  the variable, which overrides the file.

                  metastore snapshot restore FILE --data-dir DIR [--storage-engine rocksdb|memory] [--name NAME]
                    Creates a member's data directory from a snapshot file.

                Flags:
                """);
        for (Flag f : FLAGS) {
            sb.append("  --").append(f.name()).append(" '").append(f.shownDefault()).append("'\n      ")
                    .append(f.help()).append('\n');
        }
        sb.append("  --version\n      Print the version and exit.\n  -h, --help\n      Show this help.\n\n")
                .append("Accepted for etcd compatibility but not implemented yet (ignored):\n  --")
                .append(String.join(", --", NOT_IMPLEMENTED.keySet().stream()
                        .filter(n -> !REFUSED_WHEN_SET.contains(n)).toList())).append('\n')
                .append("Not supported yet (refused when set):\n  --")
                .append(String.join(", --", NOT_IMPLEMENTED.keySet().stream()
                        .filter(REFUSED_WHEN_SET::contains).toList())).append('\n');
        return sb.toString();
    }

    // ---- values ----

    private static boolean isBool(String name) {
        return BOOL_FLAGS.contains(name) || NOT_IMPLEMENTED.getOrDefault(name, false);
    }

    /** Whether {@code name} is one of two names for one setting and either name is in {@code above}. */
    private static boolean eitherSet(Set<String> above, String name, String a, String b) {
        return (name.equals(a) || name.equals(b)) && (above.contains(a) || above.contains(b));
    }

    /** etcd's --log-outputs: a comma-separated set; "default" (stderr) cannot be combined with others. */
    private static List<String> logOutputs(String value) {
        Set<String> out = new LinkedHashSet<>();
        for (String part : value.split(",", -1)) {
            String p = part.trim();
            if (p.isEmpty()) {
                throw new IllegalArgumentException("empty log output (use stderr, stdout, default or a file path)");
            }
            out.add(p);
        }
        if (out.size() > 1 && out.contains("default")) {
            throw new IllegalArgumentException("multi logoutput for \"default\" is not supported yet");
        }
        return List.copyOf(out);
    }

    private static Duration positiveDuration(String value) {
        Duration d = GoDuration.parse(value);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("must be a positive duration such as 100ms");
        }
        return d;
    }

    /** Checked as etcd checks it at start (unknown type, bad options); key files are read when the member starts. */
    private static String authToken(String v) {
        try {
            io.metastore.auth.TokenOptions.parse(v);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        return v;
    }

    private static FlagException notAFlag(String arg) {
        return new FlagException("\"" + arg + "\" is not a valid flag"); // etcd's words for a stray argument
    }

    private static FlagException invalid(Value v, String reason) {
        return new FlagException("invalid value \"" + v.text() + "\" for " + v.origin() + ": " + reason);
    }

    /** A file flag; empty means unset, as in etcd. */
    private static Path path(String v) {
        return v.isEmpty() ? null : Path.of(v);
    }

    /** Go's strconv.ParseBool. */
    private static boolean boolValue(String v) {
        return switch (v) {
            case "1", "t", "T", "true", "TRUE", "True" -> true;
            case "0", "f", "F", "false", "FALSE", "False" -> false;
            default -> throw new IllegalArgumentException("not a boolean (use true or false)");
        };
    }

    private static boolean bool(Value v) throws FlagException {
        try {
            return boolValue(v.text());
        } catch (IllegalArgumentException e) {
            throw invalid(v, e.getMessage());
        }
    }

    private static String oneOf(String value, String... allowed) {
        if (!List.of(allowed).contains(value)) {
            throw new IllegalArgumentException("valid values are " + String.join(", ", allowed));
        }
        return value;
    }

    /** A plain decimal in [min, max]; etcd's Go ints also take 0x/0o prefixes, which no one uses for these. */
    private static long decimal(String value, long min, long max) {
        String want = min > 0 ? "a positive integer" : "a non-negative integer";
        if (!value.matches("[0-9]+")) {
            throw new IllegalArgumentException("must be " + want);
        }
        BigInteger n = new BigInteger(value); // no overflow to worry about while comparing
        if (n.compareTo(BigInteger.valueOf(min)) < 0) {
            throw new IllegalArgumentException("must be " + want);
        }
        if (n.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new IllegalArgumentException("must be " + want + " no larger than " + max);
        }
        return n.longValueExact();
    }

    private static long quota(String value) {
        if (value.startsWith("-") && value.substring(1).matches("[0-9]+")) {
            // etcd reads a negative quota as "no quota"; ServerConfig has no way to say that yet.
            throw new IllegalArgumentException("must be >= 0 (negative, which disables the quota in etcd, "
                    + "is not supported)");
        }
        return decimal(value, 0, Long.MAX_VALUE);
    }

    /** etcd takes a whole number (hours or revisions) or else a Go duration; negative numbers fail both ways. */
    private static String retention(String value) {
        if (value.matches("[0-9]+")) {
            decimal(value, 0, Long.MAX_VALUE); // overflow check only
            return value;
        }
        try {
            if (!GoDuration.parse(value).isNegative()) {
                return value;
            }
        } catch (IllegalArgumentException notADuration) {
            // reported below
        }
        throw new IllegalArgumentException("must be a duration such as 1h30m, 5m or 10s, or a non-negative integer");
    }

    private static Duration nonNegative(String value) {
        Duration d = GoDuration.parse(value);
        if (d.isNegative()) {
            throw new IllegalArgumentException("must not be negative");
        }
        return d;
    }

    private static Duration positive(String value) {
        Duration d = GoDuration.parse(value);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("must be positive");
        }
        return d;
    }

    private static Duration watchProgress(String value) {
        Duration d = GoDuration.parse(value);
        if (d.compareTo(MIN_WATCH_PROGRESS) < 0) {
            throw new IllegalArgumentException("must be at least 100ms");
        }
        return d;
    }

    /** etcd's name=url,... list; etcd skips empty entries and keeps every URL of a repeated name. */
    private static List<InitialMember> initialCluster(String value) {
        List<InitialMember> members = new ArrayList<>();
        for (String entry : value.split(",")) {
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("\"" + entry + "\" is not name=url");
            }
            members.add(new InitialMember(entry.substring(0, eq), url(entry.substring(eq + 1).trim(), false)));
        }
        if (members.isEmpty()) {
            throw new IllegalArgumentException("no members given");
        }
        return List.copyOf(members);
    }

    /** A comma-separated URL list; like etcd, entries are trimmed and duplicates dropped. */
    private static List<String> urls(String value, boolean bind) {
        Set<String> out = new LinkedHashSet<>();
        for (String part : value.split(",", -1)) {
            out.add(url(part.trim(), bind));
        }
        return List.copyOf(out);
    }

    /**
     * etcd's rules (client/pkg/types/urls.go) without unix sockets: http(s)://host:port and nothing more. A URL to
     * listen on must name an IP address or localhost, as etcd checks (no DNS lookups when binding).
     */
    private static String url(String u, boolean bind) {
        String lower = u.toLowerCase(Locale.ROOT);
        String scheme = lower.startsWith("http://") ? "http://" : lower.startsWith("https://") ? "https://" : null;
        if (scheme == null) {
            throw new IllegalArgumentException("\"" + u + "\" is not an http:// or https:// URL");
        }

        String authority = u.substring(scheme.length());
        if (authority.matches(".*[/?#@].*")) {
            throw new IllegalArgumentException("\"" + u + "\" must be " + scheme + "host:port with no path");
        }
        String host;
        String port;
        int colon = authority.lastIndexOf(':');
        if (authority.startsWith("[")) { // IPv6 literal, e.g. http://[::1]:2379
            int close = authority.indexOf(']');
            host = close < 0 ? "" : authority.substring(1, close);
            port = close < 0 || colon != close + 1 ? "" : authority.substring(colon + 1);
            if (!isIpv6(host)) {
                host = "";
            }
        } else {
            boolean oneColon = colon >= 0 && authority.indexOf(':') == colon;
            host = oneColon ? authority.substring(0, colon) : "";
            port = oneColon ? authority.substring(colon + 1) : "";
        }
        if (host.isEmpty() || !port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("\"" + u + "\" must have the form " + scheme + "host:port");
        }
        if (bind && !host.equals("localhost") && !isIpv4(host) && !isIpv6(host)) {
            throw new IllegalArgumentException("expected IP in URL for binding (" + u + ")");
        }
        return scheme + authority; // scheme in lower case, as Go's url package prints it
    }

    private static boolean isIpv4(String host) {
        if (!host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            return false;
        }
        for (String octet : host.split("\\.")) {
            if (Integer.parseInt(octet) > 255) {
                return false;
            }
        }
        return true;
    }

    private static boolean isIpv6(String host) {
        try { // java.net.URI checks IPv6 literal syntax without any name lookup
            return host.contains(":") && new URI("http://[" + host + "]:1").getHost() != null;
        } catch (URISyntaxException e) {
            return false;
        }
    }
}
