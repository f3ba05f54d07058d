package io.metastore.server.metrics;

import io.metastore.raft.RaftLatencyListener;
import io.metastore.raft.RaftNode;
import io.metastore.server.EtcdServer;
import io.metastore.server.fault.FailureContainment;
import io.metastore.server.apply.EtcdApplier;
import io.metastore.server.cluster.Membership;
import io.metastore.server.lease.LeaseManager;
import io.metastore.server.watch.WatchHub;
import io.metastore.storage.MvccStore;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.DoubleSupplier;

/**
 * One member's Prometheus registry, under etcd's metric names, types, labels and units, so etcd's Grafana
 * dashboards and alerts work unchanged. The domain keeps plain counters and answers questions; this class only
 * reads them at scrape time (callbacks) or receives durations (histograms). One registry per member, so several
 * members in one JVM (tests) do not mix; the JVM and process metrics are shared, see {@link MetricsExposition}.
 */
public final class MemberMetrics implements RaftLatencyListener {
    private static final double NANOS_PER_SECOND = 1e9;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter healthSuccess;
    private final Counter healthFailures;
    private final Histogram walFsync;
    private final Histogram backendCommit;
    private final Histogram peerRoundTrip;
    private final GrpcServerMetrics grpc;
    private final GrpcTrafficBytes grpcTraffic;
    /** Maps Raft peer names to etcd member IDs for the To label; set once the member is wired. */
    private volatile Membership membership;

    /** @param extensive etcd's --metrics=extensive: also the per-method gRPC handling-time histograms */
    public MemberMetrics(boolean extensive) {
        // etcd: server/storage/wal/metrics.go, server/storage/backend/metrics.go (1 ms .. ~8 s)
        this.walFsync = Histogram.builder().name("etcd_disk_wal_fsync_duration_seconds")
                .help("The latency distributions of fsync called by WAL.")
                .classicOnly().classicExponentialUpperBounds(0.001, 2, 14).register(registry);
        this.backendCommit = Histogram.builder().name("etcd_disk_backend_commit_duration_seconds")
                .help("The latency distributions of commit called by backend.")
                .classicOnly().classicExponentialUpperBounds(0.001, 2, 14).register(registry);
        // etcd: server/etcdserver/api/rafthttp/metrics.go (0.1 ms .. ~3.2 s)
        this.peerRoundTrip = Histogram.builder().name("etcd_network_peer_round_trip_time_seconds")
                .help("Round-Trip-Time histogram between peers")
                .labelNames("To")
                .classicOnly().classicExponentialUpperBounds(0.0001, 2, 16).register(registry);
        // etcd: server/etcdserver/api/etcdhttp/metrics.go (no _total suffix there; see MetricsExposition)
        this.healthSuccess = Counter.builder().name("etcd_server_health_success")
                .help("The total number of successful health checks").register(registry);
        this.healthFailures = Counter.builder().name("etcd_server_health_failures")
                .help("The total number of failed health checks").register(registry);
        this.grpc = new GrpcServerMetrics(registry, extensive);
        this.grpcTraffic = new GrpcTrafficBytes(registry);
    }

    /** The registry this member's metrics live in. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** go-grpc-prometheus's server metrics, as etcd registers them. */
    public GrpcServerMetrics grpc() {
        return grpc;
    }

    /** etcd's client gRPC traffic counters, fed by a stream tracer on the client port's gRPC server. */
    public GrpcTrafficBytes grpcTraffic() {
        return grpcTraffic;
    }

    /** One /health answer (etcd counts them whatever the probe asked for). */
    public void healthChecked(boolean healthy) {
        (healthy ? healthSuccess : healthFailures).inc();
    }

    @Override
    public void logSynced(long nanos) {
        walFsync.observe(nanos / NANOS_PER_SECOND);
    }

    @Override
    public void peerRoundTrip(String peerName, long nanos) {
        peerRoundTrip.labelValues(peerLabel(peerName)).observe(nanos / NANOS_PER_SECOND);
    }

    /** etcd labels peers by member ID in hex; a peer not (yet) in the replicated membership keeps its Raft name. */
    private String peerLabel(String peerName) {
        Membership m = membership;
        Membership.Member member = m == null ? null : m.byRaftName(peerName);
        return member == null ? peerName : Long.toHexString(member.id());
    }

    /**
     * Registers the callbacks that read the member's state at scrape time. Called once the member's parts exist
     * (the histograms above already receive durations while Raft replays its log).
     */
    public void bind(EtcdServer server, RaftNode raft, MvccStore store, EtcdApplier applier, LeaseManager leases,
                     WatchHub watchHub) {
        this.membership = server.membership();
        applier.stats().observeCommits(nanos -> backendCommit.observe(nanos / NANOS_PER_SECOND));

        // etcd: server/etcdserver/metrics.go
        gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
                () -> raft.leaderName() == null ? 0 : 1);
        gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
                () -> raft.isLeader() ? 1 : 0);
        gauge("etcd_server_is_learner", "Whether or not this member is a learner. 1 if is, 0 otherwise.",
                () -> raft.isListener() ? 1 : 0);
        counter("etcd_server_leader_changes_seen_total", "The number of leader changes seen.",
                () -> raft.stats().leaderChanges());
        // committed/applied are gauges named *_total in etcd: they report Raft indexes, not event counts
        gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.",
                raft::commitIndex);
        gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.",
                raft::lastAppliedIndex);
        gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.",
                () -> raft.stats().proposalsPending());
        counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen.",
                () -> raft.stats().proposalsFailed());
        counter("etcd_server_slow_apply_total", "The total number of slow apply requests (likely overloaded from slow disk).",
                () -> applier.stats().slowApplies().count());
        gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.",
                () -> server.config().effectiveQuotaBytes());
        GaugeWithCallback.builder().name("etcd_server_id").help("Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.")
                .labelNames("server_id")
                .callback(cb -> cb.call(1, Long.toHexString(server.memberId()))).register(registry);
        GaugeWithCallback.builder().name("etcd_server_version").help("Which version is running. 1 for 'server_version' label with current version.")
                .labelNames("server_version")
                .callback(cb -> cb.call(1, EtcdServer.VERSION)).register(registry);

        // etcd: server/storage/mvcc/metrics.go
        gauge("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.",
                () -> store.stats().sizeBytes());
        gauge("etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.",
                () -> store.stats().sizeInUseBytes());
        counter("etcd_mvcc_range_total", "Total number of ranges seen by this member.",
                () -> applier.kvCounters().ranges());
        counter("etcd_mvcc_put_total", "Total number of puts seen by this member.",
                () -> applier.kvCounters().puts());
        counter("etcd_mvcc_delete_total", "Total number of deletes seen by this member.",
                () -> applier.kvCounters().deletes());
        counter("etcd_mvcc_txn_total", "Total number of txns seen by this member.",
                () -> applier.kvCounters().txns());
        gauge("etcd_debugging_mvcc_keys_total", "Total number of keys.", () -> store.stats().keys());
        gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.", store::currentRevision);
        gauge("etcd_debugging_mvcc_compact_revision", "The revision of the last compaction in store.",
                store::compactRevision);
        gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.", watchHub::watcherCount);
        gauge("etcd_debugging_mvcc_slow_watcher_total", "Total number of unsynced slow watchers.",
                watchHub::slowWatcherCount);

        // etcd: server/lease/metrics.go
        counter("etcd_debugging_lease_granted_total", "The total number of granted leases.", leases::grantedTotal);
        counter("etcd_debugging_lease_revoked_total", "The total number of revoked leases.", leases::revokedTotal);
        counter("etcd_debugging_lease_renewed_total", "The number of renewed leases seen by the leader.",
                leases::renewedTotal);
        // not an etcd metric (etcd has none for it): how many leases the replicated table holds
        gauge("metastore_lease_active", "The number of leases currently granted.", leases::count);
        // not an etcd metric: bugs that were contained (a call, a stream or a background pass failed, nothing else)
        CounterWithCallback.builder().name("metastore_contained_failures_total")
                .help("Unexpected exceptions contained to the request, stream or background pass that raised them.")
                .labelNames("site")
                .callback(cb -> FailureContainment.countsBySite().forEach((site, n) -> cb.call(n, site)))
                .register(registry);
    }

    private void gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }

    private void counter(String name, String help, DoubleSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }
}
