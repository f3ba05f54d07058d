package io.metastore.server;

import io.metastore.server.tls.TransportSecurity;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything a member needs to start, in etcd's terms. Built from etcd's flags and ETCD_* variables by
 * {@link io.metastore.server.launcher.EtcdFlags}, or directly by tests.
 *
 * @param initialCluster         etcd's --initial-cluster entries (name to peer URL), including this member
 * @param quotaBackendBytes      0 means etcd's default of 2 GiB
 * @param autoCompactionMode     "periodic" or "revision"
 * @param authToken              etcd's --auth-token: "simple" (default) or "jwt,pub-key=...,priv-key=...,sign-method=..."
 * @param authTokenTtl           etcd's --auth-token-ttl (simple tokens' sliding TTL; default 300 s)
 * @param bcryptCost             etcd's --bcrypt-cost (default 10)
 * @param autoCompactionRetention etcd's syntax: a duration ("1h", "30m") or a bare number (hours for periodic,
 *                               revisions for revision mode); "0" disables
 * @param tls                    etcd's TLS flags for the client and peer URLs
 * @param limits                 what one member lets its clients use (streams, keep-alive, watchers, leases)
 * @param logOutputs             etcd's --log-outputs: "default", "stderr", "stdout" or file paths
 * @param logFormat              etcd's --log-format: "json" (zap's shape) or "console"
 * @param warningApplyDuration   etcd's --warning-apply-duration: applying one entry for longer logs a warning
 * @param configFile             the --config-file the settings were read from, or null
 * @param listenClientHttpUrls   etcd's --listen-client-http-urls: when not empty these serve HTTP only (gateway,
 *                               /version, /health, /metrics) and the --listen-client-urls serve gRPC only
 * @param metrics                etcd's --metrics: "basic", or "extensive" (adds grpc_server_handling_seconds)
 * @param listenMetricsUrls      etcd's --listen-metrics-urls: HTTP only, /metrics and the health endpoints
 */
public record ServerConfig(
        String name,
        Path dataDir,
        List<String> listenClientUrls,
        List<String> advertiseClientUrls,
        List<String> listenPeerUrls,
        List<String> initialAdvertisePeerUrls,
        List<InitialMember> initialCluster,
        String initialClusterState,
        String initialClusterToken,
        long quotaBackendBytes,
        String autoCompactionMode,
        String autoCompactionRetention,
        int maxRequestBytes,
        int maxTxnOps,
        Duration heartbeatInterval,
        Duration electionTimeout,
        long snapshotCount,
        String logLevel,
        StorageEngine storageEngine,
        Duration watchProgressNotifyInterval,
        boolean leaderLeaseReads,
        String authToken,
        Duration authTokenTtl,
        int bcryptCost,
        TransportSecurity tls,
        ClientLimits limits,
        List<String> logOutputs,
        String logFormat,
        Duration warningApplyDuration,
        Path configFile,
        List<String> listenClientHttpUrls,
        List<String> listenMetricsUrls,
        String metrics) {

    public enum StorageEngine { ROCKSDB, MEMORY }

    public record InitialMember(String name, String peerUrl) {}

    public static final long DEFAULT_QUOTA_BYTES = 2L * 1024 * 1024 * 1024;
    public static final int DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024;

    /** etcd's defaults for a member called {@code name} ("default" when etcd is started bare). */
    public static Builder builder(String name) {
        Builder b = new Builder();
        b.name = name;
        b.dataDir = Path.of(name + ".etcd");
        b.initialCluster = List.of(new InitialMember(name, "http://localhost:2380"));
        return b;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.name = name; b.dataDir = dataDir; b.listenClientUrls = listenClientUrls;
        b.advertiseClientUrls = advertiseClientUrls; b.listenPeerUrls = listenPeerUrls;
        b.initialAdvertisePeerUrls = initialAdvertisePeerUrls; b.initialCluster = initialCluster;
        b.initialClusterState = initialClusterState; b.initialClusterToken = initialClusterToken;
        b.quotaBackendBytes = quotaBackendBytes; b.autoCompactionMode = autoCompactionMode;
        b.autoCompactionRetention = autoCompactionRetention; b.maxRequestBytes = maxRequestBytes;
        b.maxTxnOps = maxTxnOps; b.heartbeatInterval = heartbeatInterval; b.electionTimeout = electionTimeout;
        b.snapshotCount = snapshotCount; b.logLevel = logLevel; b.storageEngine = storageEngine;
        b.watchProgressNotifyInterval = watchProgressNotifyInterval;
        b.leaderLeaseReads = leaderLeaseReads;
        b.authToken = authToken; b.authTokenTtl = authTokenTtl; b.bcryptCost = bcryptCost;
        b.tls = new TransportSecurity.Builder(tls);
        b.limits = limits;
        b.logOutputs = logOutputs; b.logFormat = logFormat; b.warningApplyDuration = warningApplyDuration;
        b.configFile = configFile;
        b.listenClientHttpUrls = listenClientHttpUrls; b.listenMetricsUrls = listenMetricsUrls;
        b.metrics = metrics;
        return b;
    }

    /** etcd's request timeout: 5 s plus twice the election timeout. */
    public Duration requestTimeout() {
        return Duration.ofSeconds(5).plus(electionTimeout.multipliedBy(2));
    }

    /** This member's own peer URLs: its entries in --initial-cluster (etcd requires they match what it advertises). */
    public List<String> localPeerUrls() {
        List<String> out = new java.util.ArrayList<>();
        for (InitialMember m : initialCluster) {
            if (m.name().equals(name)) {
                out.add(m.peerUrl());
            }
        }
        return out.isEmpty() ? initialAdvertisePeerUrls : List.copyOf(out);
    }

    /** etcd's --initial-cluster-state existing: this member joins a running cluster that MemberAdd prepared. */
    public boolean joinsExistingCluster() {
        return "existing".equals(initialClusterState);
    }

    /** The URLs that take client connections, gRPC or HTTP (--listen-client-urls then --listen-client-http-urls). */
    public List<String> clientListenUrls() {
        List<String> out = new java.util.ArrayList<>(listenClientUrls);
        out.addAll(listenClientHttpUrls);
        return List.copyOf(out);
    }

    public long effectiveQuotaBytes() {
        return quotaBackendBytes <= 0 ? DEFAULT_QUOTA_BYTES : quotaBackendBytes;
    }

    /** Mutable companion with etcd's defaults; fields are public so the flag parser can set them by name. */
    public static final class Builder {
        public String name = "default";
        public Path dataDir = Path.of("default.etcd");
        public List<String> listenClientUrls = List.of("http://localhost:2379");
        public List<String> advertiseClientUrls = List.of("http://localhost:2379");
        public List<String> listenPeerUrls = List.of("http://localhost:2380");
        public List<String> initialAdvertisePeerUrls = List.of("http://localhost:2380");
        public List<InitialMember> initialCluster = List.of(new InitialMember("default", "http://localhost:2380"));
        public String initialClusterState = "new";
        public String initialClusterToken = "etcd-cluster";
        public long quotaBackendBytes = 0;
        public String autoCompactionMode = "periodic";
        public String autoCompactionRetention = "0";
        public int maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES;
        public int maxTxnOps = 128;
        public Duration heartbeatInterval = Duration.ofMillis(100);
        public Duration electionTimeout = Duration.ofMillis(1000);
        public long snapshotCount = 10_000;
        public String logLevel = "info";
        public StorageEngine storageEngine = StorageEngine.ROCKSDB;
        public Duration watchProgressNotifyInterval = Duration.ofMinutes(10);
        public boolean leaderLeaseReads = false;
        public String authToken = "simple";
        public Duration authTokenTtl = Duration.ofSeconds(300);
        public int bcryptCost = 10;
        public TransportSecurity.Builder tls = new TransportSecurity.Builder();
        public ClientLimits limits = ClientLimits.defaults();
        public List<String> logOutputs = List.of("default");
        public String logFormat = "json";
        public Duration warningApplyDuration = Duration.ofMillis(100);
        public Path configFile = null;
        public List<String> listenClientHttpUrls = List.of();
        public List<String> listenMetricsUrls = List.of();
        public String metrics = "basic";

        public Builder dataDir(Path dir) { this.dataDir = dir; return this; }
        public Builder storageEngine(StorageEngine e) { this.storageEngine = e; return this; }
        public Builder quotaBackendBytes(long bytes) { this.quotaBackendBytes = bytes; return this; }
        public Builder snapshotCount(long n) { this.snapshotCount = n; return this; }
        public Builder leaderLeaseReads(boolean on) { this.leaderLeaseReads = on; return this; }
        public Builder authToken(String spec) { this.authToken = spec; return this; }
        public Builder authTokenTtl(Duration ttl) { this.authTokenTtl = ttl; return this; }
        public Builder bcryptCost(int cost) { this.bcryptCost = cost; return this; }
        public Builder watchProgressNotifyInterval(Duration d) { this.watchProgressNotifyInterval = d; return this; }
        public Builder autoCompaction(String mode, String retention) {
            this.autoCompactionMode = mode;
            this.autoCompactionRetention = retention;
            return this;
        }

        /** One client URL and one peer URL for a single member (tests pick free loopback ports). */
        public Builder singleMemberUrls(String clientUrl, String peerUrl) {
            listenClientUrls = List.of(clientUrl);
            advertiseClientUrls = List.of(clientUrl);
            listenPeerUrls = List.of(peerUrl);
            initialAdvertisePeerUrls = List.of(peerUrl);
            initialCluster = List.of(new InitialMember(name, peerUrl));
            return this;
        }

        /** See {@link ServerConfig#clientListenUrls()}. */
        public List<String> clientListenUrls() {
            List<String> out = new java.util.ArrayList<>(listenClientUrls);
            out.addAll(listenClientHttpUrls);
            return List.copyOf(out);
        }

        public ServerConfig build() {
            return new ServerConfig(name, dataDir, List.copyOf(listenClientUrls), List.copyOf(advertiseClientUrls),
                    List.copyOf(listenPeerUrls), List.copyOf(initialAdvertisePeerUrls), List.copyOf(initialCluster),
                    initialClusterState, initialClusterToken, quotaBackendBytes, autoCompactionMode,
                    autoCompactionRetention, maxRequestBytes, maxTxnOps, heartbeatInterval, electionTimeout,
                    snapshotCount, logLevel, storageEngine, watchProgressNotifyInterval, leaderLeaseReads,
                    authToken, authTokenTtl, bcryptCost, tls.build(), limits, List.copyOf(logOutputs), logFormat,
                    warningApplyDuration, configFile, List.copyOf(listenClientHttpUrls),
                    List.copyOf(listenMetricsUrls), metrics);
        }
    }
}
