package io.metastore.raft;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** Immutable configuration of one {@link RaftNode}; build with {@link #builder()}. */
public final class RaftConfig {

    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofMillis(100);
    public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(1000);
    public static final long DEFAULT_SNAPSHOT_COUNT = 10_000;
    /** etcd's --max-request-bytes default (1.5 MiB) plus its 512 KiB gRPC overhead allowance. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024 + 512 * 1024;
    static final long DEFAULT_LOG_SEGMENT_BYTES = 32L * 1024 * 1024;
    static final long MIN_LOG_SEGMENT_BYTES = 1024L * 1024;

    private final String localName;
    private final List<RaftPeerSpec> peers;
    private final Path storageDir;
    private final String clusterToken;
    private final Duration heartbeatInterval;
    private final Duration electionTimeout;
    private final long snapshotCount;
    private final int maxRequestBytes;
    private final LeadershipListener leadershipListener;
    private final RaftLatencyListener latencyListener;
    private final boolean joining;
    private final boolean leaderLeaseReads;
    private final RaftTls tls;
    // Knobs for tests only (package-private).
    private final long logSegmentBytes;
    private final boolean snapshotOnStop;

    private RaftConfig(Builder b) {
        this.localName = Objects.requireNonNull(b.localName, "localName");
        this.peers = List.copyOf(Objects.requireNonNull(b.peers, "peers"));
        this.storageDir = Objects.requireNonNull(b.storageDir, "storageDir").toAbsolutePath().normalize();
        this.clusterToken = Objects.requireNonNull(b.clusterToken, "clusterToken");
        this.heartbeatInterval = Objects.requireNonNull(b.heartbeatInterval, "heartbeatInterval");
        this.electionTimeout = Objects.requireNonNull(b.electionTimeout, "electionTimeout");
        this.snapshotCount = b.snapshotCount;
        this.maxRequestBytes = b.maxRequestBytes;
        this.leadershipListener = b.leadershipListener;
        this.latencyListener = b.latencyListener;
        this.joining = b.joining;
        this.leaderLeaseReads = b.leaderLeaseReads;
        this.tls = b.tls;
        // Ratis purges whole closed segments only: size them after the snapshot interval (about 1 KiB per entry),
        // so a snapshot lets the log shrink even when entries are small; a segment always holds the largest entry
        this.logSegmentBytes = b.logSegmentBytes > 0 ? b.logSegmentBytes
                : Math.max(Math.max(MIN_LOG_SEGMENT_BYTES, b.maxRequestBytes + 2L * 1024 * 1024),
                        Math.min(DEFAULT_LOG_SEGMENT_BYTES, b.snapshotCount * 1024));
        this.snapshotOnStop = b.snapshotOnStop;

        if (clusterToken.isEmpty()) {
            throw new IllegalArgumentException("clusterToken is empty");
        }
        if (peers.isEmpty()) {
            throw new IllegalArgumentException("peers is empty");
        }
        Set<String> names = new HashSet<>();
        for (RaftPeerSpec p : peers) {
            if (!names.add(p.name())) {
                throw new IllegalArgumentException("duplicate peer name " + p.name());
            }
        }
        if (!names.contains(localName)) {
            throw new IllegalArgumentException("localName " + localName + " is not among the peers " + names);
        }
        if (electionTimeout.toMillis() < 10) {
            throw new IllegalArgumentException("electionTimeout too small: " + electionTimeout);
        }
        if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()
                || heartbeatInterval.compareTo(electionTimeout) >= 0) {
            throw new IllegalArgumentException("heartbeatInterval " + heartbeatInterval
                    + " must be positive and below electionTimeout " + electionTimeout);
        }
        if (snapshotCount < 1) {
            throw new IllegalArgumentException("snapshotCount must be >= 1: " + snapshotCount);
        }
        if (maxRequestBytes < 1 || maxRequestBytes > 512 * 1024 * 1024) {
            throw new IllegalArgumentException("maxRequestBytes out of range: " + maxRequestBytes);
        }
        if (logSegmentBytes < 1024) {
            throw new IllegalArgumentException("logSegmentBytes too small: " + logSegmentBytes);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset with this configuration's values. */
    public Builder toBuilder() {
        return new Builder().localName(localName).peers(peers).storageDir(storageDir).clusterToken(clusterToken)
                .heartbeatInterval(heartbeatInterval).electionTimeout(electionTimeout).snapshotCount(snapshotCount)
                .maxRequestBytes(maxRequestBytes).leadershipListener(leadershipListener).latencyListener(latencyListener).joining(joining)
                .leaderLeaseReads(leaderLeaseReads).tls(tls)
                .logSegmentBytes(logSegmentBytes).snapshotOnStop(snapshotOnStop);
    }

    public String localName() { return localName; }
    /** Every voting member, the local one included. */
    public List<RaftPeerSpec> peers() { return peers; }
    /** Ratis's directory (log, metadata, snapshot files); the store lives elsewhere. */
    public Path storageDir() { return storageDir; }
    /** Every member derives the same Ratis group id from it (a name-based UUID). */
    public String clusterToken() { return clusterToken; }
    /**
     * etcd's heartbeat interval. Ratis has no such knob: its leader heartbeats every rpc.timeout.min / 2
     * (= electionTimeout / 2) of idleness; the value is kept for validation and reporting.
     */
    public Duration heartbeatInterval() { return heartbeatInterval; }
    public Duration electionTimeout() { return electionTimeout; }
    /** Applied entries between two automatic snapshots (the log is purged up to each snapshot). */
    public long snapshotCount() { return snapshotCount; }
    /** Largest command {@link RaftNode#propose} accepts. */
    public int maxRequestBytes() { return maxRequestBytes; }
    /** May be null. */
    public LeadershipListener leadershipListener() { return leadershipListener; }
    /** Null when nobody listens. */
    public RaftLatencyListener latencyListener() { return latencyListener; }
    /**
     * True for a member joining a running group (etcd's --initial-cluster-state existing): on its first start it
     * is not in the group's configuration and waits, without campaigning, until the leader adds it. The other
     * {@link #peers()} are whom it asks; its own entry gives the address it listens on.
     */
    public boolean joining() { return joining; }
    /**
     * Ratis's leader lease: while its lease (90% of the minimum election timeout since a quorum last answered)
     * holds, the leader serves linearizable reads without a heartbeat round. Safe only while clocks advance at
     * about the same rate on every member; off by default, as etcd has no such mode.
     */
    public boolean leaderLeaseReads() { return leaderLeaseReads; }

    /** TLS for every Raft connection, served and opened; null for plaintext. */
    public RaftTls tls() { return tls; }

    /** etcd's request timeout: 5 s + 2 x election timeout. */
    public Duration requestTimeout() {
        return Duration.ofSeconds(5).plus(electionTimeout.multipliedBy(2));
    }

    public RaftPeerSpec localPeer() {
        return peers.stream().filter(p -> p.name().equals(localName)).findFirst().orElseThrow();
    }

    long logSegmentBytes() { return logSegmentBytes; }
    boolean snapshotOnStop() { return snapshotOnStop; }

    @Override
    public String toString() {
        return "RaftConfig{local=" + localName + ", peers=" + peers + ", storageDir=" + storageDir
                + ", heartbeat=" + heartbeatInterval.toMillis() + "ms, election=" + electionTimeout.toMillis()
                + "ms, snapshotCount=" + snapshotCount + (joining ? ", joining" : "")
                + (leaderLeaseReads ? ", leader-lease reads" : "") + (tls != null ? ", " + tls : "")
                + ", maxRequestBytes=" + maxRequestBytes + "}";
    }

    public static final class Builder {
        private String localName;
        private List<RaftPeerSpec> peers;
        private Path storageDir;
        private String clusterToken;
        private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
        private Duration electionTimeout = DEFAULT_ELECTION_TIMEOUT;
        private long snapshotCount = DEFAULT_SNAPSHOT_COUNT;
        private int maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES;
        private LeadershipListener leadershipListener;
        private RaftLatencyListener latencyListener;
        private boolean joining;
        private boolean leaderLeaseReads;
        private RaftTls tls;
        private long logSegmentBytes = 0; // 0: derived from snapshotCount
        private boolean snapshotOnStop = true;

        private Builder() {}

        public Builder localName(String v) { this.localName = v; return this; }
        public Builder peers(List<RaftPeerSpec> v) { this.peers = v; return this; }
        public Builder storageDir(Path v) { this.storageDir = v; return this; }
        public Builder clusterToken(String v) { this.clusterToken = v; return this; }
        public Builder heartbeatInterval(Duration v) { this.heartbeatInterval = v; return this; }
        public Builder electionTimeout(Duration v) { this.electionTimeout = v; return this; }
        public Builder snapshotCount(long v) { this.snapshotCount = v; return this; }
        public Builder maxRequestBytes(int v) { this.maxRequestBytes = v; return this; }
        public Builder leadershipListener(LeadershipListener v) { this.leadershipListener = v; return this; }
        public Builder latencyListener(RaftLatencyListener v) { this.latencyListener = v; return this; }
        public Builder joining(boolean v) { this.joining = v; return this; }
        public Builder leaderLeaseReads(boolean v) { this.leaderLeaseReads = v; return this; }
        /** Null (the default) for plaintext. */
        public Builder tls(RaftTls v) { this.tls = v; return this; }
        /** Tests only: Ratis log segment size (small segments make purging observable). */
        Builder logSegmentBytes(long v) { this.logSegmentBytes = v; return this; }
        /** Tests only: take a snapshot when the node closes (Ratis's default, on in production). */
        Builder snapshotOnStop(boolean v) { this.snapshotOnStop = v; return this; }

        public RaftConfig build() {
            return new RaftConfig(this);
        }
    }
}
