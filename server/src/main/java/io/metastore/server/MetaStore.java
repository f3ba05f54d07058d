package io.metastore.server;

import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.metastore.server.clientport.ClientPortNegotiator;
import io.metastore.server.clientport.HttpConnections;
import io.metastore.server.clientport.HttpListener;
import io.metastore.server.clientport.HttpPipeline;
import io.metastore.server.http.ClientHttpRoutes;
import io.metastore.server.http.HttpRoute;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.protobuf.services.HealthStatusManager;
import io.metastore.raft.LeadershipListener;
import io.metastore.raft.RaftLatencyListener;
import io.metastore.server.grpc.HealthServingStatus;
import io.metastore.server.http.HttpRoute;
import io.metastore.server.metrics.MemberMetrics;
import io.metastore.server.ops.OpsRoutes;
import io.metastore.raft.RaftConfig;
import io.metastore.raft.RaftNode;
import io.metastore.raft.RaftPeerSpec;
import io.metastore.raft.RaftTls;
import io.metastore.server.apply.EtcdApplier;
import io.metastore.server.apply.SlowApplyCounter;
import io.metastore.server.cluster.ClusterIdentity;
import io.metastore.server.cluster.MemberRegistry;
import io.metastore.server.cluster.Membership;
import io.metastore.server.cluster.RaftPeerIds;
import io.metastore.server.cluster.MembershipReconciler;
import io.metastore.proto.raftcmd.MemberAttributes;
import io.metastore.server.etcd.EtcdError;
import io.metastore.server.etcd.EtcdException;
import io.grpc.ServerInterceptors;
import io.metastore.server.auth.MemberAuth;
import io.metastore.server.fault.FailureContainment;
import io.metastore.server.grpc.ContainingInterceptor;
import io.metastore.server.grpc.AuthInterceptor;
import io.metastore.server.grpc.AuthService;
import io.metastore.server.grpc.ClusterService;
import io.metastore.server.grpc.LocalClientChannel;
import io.metastore.server.grpc.TlsSessionRelay;
import io.metastore.server.http.gateway.JsonGateway;
import io.metastore.server.grpc.CoordinationServices;
import io.metastore.server.grpc.RequestGuard;
import io.metastore.server.grpc.KvService;
import io.metastore.server.grpc.LeaseService;
import io.metastore.server.grpc.MaintenanceService;
import io.metastore.server.grpc.WatchService;
import io.metastore.server.lease.LeaseExpiryLoop;
import io.metastore.server.lease.LeaseManager;
import io.metastore.server.maintenance.AlarmStore;
import io.metastore.server.maintenance.AutoCompactor;
import io.metastore.server.tls.ServerTls;
import io.metastore.server.tls.TransportSecurity;
import io.metastore.server.watch.WatchHub;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccStoreImpl;
import io.metastore.storage.memory.MemoryBackend;
import io.metastore.storage.rocksdb.RocksDbBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One running member: opens the store, starts Raft, the domain services and the client gRPC listener, and
 * shuts them down in the reverse order. Tests start it in-process; the launcher starts it from etcd flags.
 */
public final class MetaStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetaStore.class);

    private final ServerConfig config;
    private final SlowApplyCounter slowApplies = new SlowApplyCounter();
    private final MvccStore store;
    private final WatchHub watchHub;
    private final RaftNode raft;
    private final EtcdServer server;
    private final LeaseExpiryLoop leaseLoop;
    private final AutoCompactor autoCompactor;
    private final ExecutorService maintenanceExecutor;
    /** One server for the http:// client URLs and one for the https:// ones (either may be absent). */
    private final List<Server> grpc;
    /** HTTP routes: the ops ones (health, metrics) alone on the metrics URLs, all of them on the client URLs. */
    private final ClientHttpRoutes opsHttpRoutes;
    private final ClientHttpRoutes clientHttpRoutes;
    /** Every HTTP/1.1 connection, on the client port or an HTTP-only listener: closed at shutdown. */
    private final HttpConnections httpConnections = new HttpConnections();
    /** --listen-client-http-urls and --listen-metrics-urls, on their own small event loop group (null if none). */
    private final List<HttpListener> httpListeners = new ArrayList<>();
    private EventLoopGroup httpListenerLoop;
    private final WatchService watchService;
    private final LeaseService leaseService;
    private final List<InetSocketAddress> clientAddresses;
    private final ScheduledExecutorService publisher;
    private final Membership membership;
    private final MembershipReconciler reconciler;
    private final ClusterService clusterService;
    private final RequestGuard guard;
    private final MemberAuth auth;
    private final AuthInterceptor authInterceptor;
    private final CoordinationServices coordination;
    /** The HTTP/JSON gateway's way in: this member's own handlers, in-process, with the caller's TLS session. */
    private final LocalClientChannel gatewayChannel;
    private final JsonGateway gateway;
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private final MemberMetrics metrics;
    private final HealthStatusManager health = new HealthStatusManager();
    /** Set once the server exists; leadership events may arrive before (during the Raft start). */
    private volatile HealthServingStatus servingStatus;
    private final Map<String, HttpRoute> opsRoutes;
    private volatile boolean closed;

    private static final long RECONCILE_PERIOD_MS = 200;
    private static final java.time.Duration JOIN_TIMEOUT = java.time.Duration.ofMinutes(10);

    private MetaStore(ServerConfig config) throws IOException {
        this.config = config;
        this.metrics = new MemberMetrics("extensive".equals(config.metrics()));
        // before anything is opened: a refused TLS setting must not leave a half-started member behind
        ServerTls tls = ServerTls.create(config);
        ClusterIdentity identity = ClusterIdentity.fromConfig(config);
        boolean joining = config.joinsExistingCluster();
        Path member = config.dataDir().resolve("member");
        Files.createDirectories(member);
        this.store = openStore(config, member);
        LeaseManager leases = new LeaseManager(store, minLeaseTtlSeconds(config), System::nanoTime);
        AlarmStore alarms = new AlarmStore(store);
        this.watchHub = new WatchHub(store, config.watchProgressNotifyInterval(), config.limits().maxWatchers());
        leases.reload();
        alarms.reload();
        MemberRegistry members = new MemberRegistry(store);
        members.reload();
        // a joining member knows the cluster only from the replicated membership, not from its flags
        this.membership = new Membership(members, joining ? null : identity, config.name());
        this.auth = new MemberAuth(config, store, leases);
        EtcdApplier applier = new EtcdApplier(store, leases, alarms, watchHub, members, auth,
                config.warningApplyDuration(), slowApplies);
        long extension = config.electionTimeout().toNanos();
        LeadershipListener leadership = (leaderName, term, localIsLeader) -> {
            LOG.atInfo().addKeyValue("local-member", config.name()).addKeyValue("leader", leaderName)
                    .addKeyValue("term", term).addKeyValue("local-member-is-leader", localIsLeader)
                    .log("leader changed");
            if (localIsLeader) {
                leases.promote(extension);
            } else {
                leases.demote();
            }
            HealthServingStatus status = servingStatus;
            if (status != null) {
                status.refresh();
            }
        };
        this.raft = RaftNode.start(raftConfig(config, member.resolve("raft"), leadership, tls.peer(), metrics),
                store, applier);
        this.server = new EtcdServer(config, membership, store, raft, applier, leases, alarms, watchHub, auth);
        metrics.bind(server, raft, store, applier, leases, watchHub);
        this.servingStatus = new HealthServingStatus(health, server);
        alarms.onChange(servingStatus::refresh);
        servingStatus.refresh();
        this.opsRoutes = OpsRoutes.create(server, metrics);
        awaitStartupReplay();
        if (joining && members.byName(config.name()) == null) {
            join();
        }
        this.reconciler = new MembershipReconciler(membership, raft, RECONCILE_PERIOD_MS);
        this.leaseLoop = new LeaseExpiryLoop(leases, raft::isLeader, server.proposer());
        this.autoCompactor = AutoCompactor.start(config, store, raft::isLeader, server::compact);
        this.maintenanceExecutor = Executors.newCachedThreadPool(FailureContainment.daemonThreads("maintenance"));
        this.clientAddresses = addresses(config.listenClientUrls());
        this.watchService = new WatchService(server);
        this.leaseService = new LeaseService(server, tls.forwarding());
        this.clusterService = new ClusterService(server, tls.forwarding());
        this.guard = new RequestGuard(server, watchService, config.electionTimeout().toMillis());
        this.authInterceptor = new AuthInterceptor(auth, applier::awaitApplied, config.requestTimeout().toMillis(),
                config.tls().client().clientCertAuth());
        this.coordination = new CoordinationServices();
        // ops: /metrics, /health, /livez, /readyz (the metrics URLs serve these alone); the client URLs add /version
        // and the gateway's /v3/ (etcd's mux)
        this.opsHttpRoutes = new ClientHttpRoutes();
        this.clientHttpRoutes = new ClientHttpRoutes().include(opsHttpRoutes);
        opsRoutes.forEach((path, route) -> {
            if (path.equals("/version")) {
                clientHttpRoutes.exact(path, route); // etcd's metrics URLs serve no /version
            } else {
                opsHttpRoutes.exact(path, route);
            }
        });
        HttpPipeline clientHttp = new HttpPipeline(clientHttpRoutes, config.maxRequestBytes(),
                HttpPipeline.DEFAULT_IDLE_TIMEOUT, httpConnections, HttpPipeline.ETCD_CORS_HEADERS);
        // etcd 3.5+: with --listen-client-http-urls the client URLs serve gRPC only, the HTTP URLs HTTP only
        boolean separateHttp = !config.listenClientHttpUrls().isEmpty();
        this.grpc = startGrpc(tls.clientListener(), separateHttp ? null : clientHttp);
        try {
            startHttpListeners(tls.clientListener(), clientHttp);
        } catch (IOException | RuntimeException e) {
            grpc.forEach(Server::shutdownNow);
            stopHttpListeners();
            throw e;
        }
        // Lock/Election are clients of this member's own KV/Lease/Watch handlers (any listener has them all)
        coordination.bindTo(grpc.get(0));
        TlsSessionRelay tlsSessions = new TlsSessionRelay();
        // metrics last, so outermost: etcd's gateway is a gRPC client of its own server, its calls are counted
        this.gatewayChannel = new LocalClientChannel(() -> grpc.get(0), tlsSessions.interceptor(), metrics.grpc());
        this.gateway = JsonGateway.forMember(gatewayChannel.channel(), tlsSessions);
        JsonGateway.PREFIXES.forEach(prefix -> clientHttpRoutes.prefix(prefix, gateway));
        this.publisher = startPublisher();
    }

    /** Serves nothing before the local log is replayed (as etcd replays its WAL), so no read sees less. */
    private void awaitStartupReplay() throws IOException {
        try {
            if (!raft.awaitStartupReplay(JOIN_TIMEOUT)) {
                throw new IOException("the local Raft log was not replayed within " + JOIN_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while replaying the local Raft log", e);
        }
    }

    /**
     * etcd's --initial-cluster-state existing on a fresh data dir: announce this member (name, peer and client
     * URLs) to the running cluster, which matches it by peer URLs to the member MemberAdd recorded; the leader
     * then adds it to the Raft group and sends it the log (or a snapshot). Returns once this member has applied
     * its own admission, i.e. has caught up that far.
     */
    private void join() throws IOException {
        long deadline = System.nanoTime() + JOIN_TIMEOUT.toNanos();
        MemberAttributes admitted = null;
        while (admitted == null) {
            try {
                admitted = server.propose(server.publishCommand(), MemberAttributes.parser())
                        .get(config.requestTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof EtcdException ee && ee.error() == EtcdError.MEMBER_NOT_FOUND) {
                    throw new IOException("cannot join: no member with peer URLs " + config.localPeerUrls()
                            + " was added to the cluster (run `etcdctl member add " + config.name()
                            + " --peer-urls=...` first), or it was removed");
                }
                LOG.atInfo().addKeyValue("error", e.getCause().toString()).log("joining the cluster (retrying)");
            } catch (TimeoutException e) {
                LOG.info("joining the cluster: no answer yet (retrying)");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while joining", e);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("could not join the cluster within " + JOIN_TIMEOUT);
            }
        }
        membership.joined(admitted.getId(), admitted.getClusterId());
        LOG.atInfo().addKeyValue("cluster-id", Long.toHexString(admitted.getClusterId()))
                .addKeyValue("local-member-id", Long.toHexString(admitted.getId()))
                .log("admitted to the cluster; catching up");
        while (membership.registry().byName(config.name()) == null) {
            if (System.nanoTime() > deadline) {
                throw new IOException("admitted, but not caught up within " + JOIN_TIMEOUT);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while catching up", e);
            }
        }
    }

    /**
     * Publishes this member's name and client URLs through Raft (etcd's publish), retrying until a quorum
     * takes it; skipped when the replicated registry already says the same. Readiness does not wait for it.
     */
    private ScheduledExecutorService startPublisher() {
        var timer = Executors.newSingleThreadScheduledExecutor(FailureContainment.daemonThreads("member-publish"));
        Runnable attempt = new Runnable() {
            @Override
            public void run() {
                if (closed) {
                    return;
                }
                if (membership.removed(config.name())) {
                    LOG.atWarn().addKeyValue("local-member", config.name())
                            .log("the member has been permanently removed from the cluster");
                    removed.complete(null);
                    return;
                }
                if (server.published()) {
                    timer.schedule(this, 1, TimeUnit.SECONDS); // keep watching for removal
                    return;
                }
                try {
                    server.propose(server.publishCommand(), MemberAttributes.parser())
                            .whenComplete((r, e) -> {
                                if (!closed) {
                                    timer.schedule(this, 1, TimeUnit.SECONDS);
                                }
                            });
                } catch (RuntimeException e) {
                    timer.schedule(this, 1, TimeUnit.SECONDS);
                }
            }
        };
        timer.execute(attempt);
        return timer;
    }

    public static MetaStore start(ServerConfig config) throws IOException {
        LOG.atInfo().addKeyValue("etcd-version", EtcdServer.VERSION).addKeyValue("name", config.name())
                .addKeyValue("data-dir", config.dataDir().toString())
                .addKeyValue("listen-client-urls", config.listenClientUrls())
                .addKeyValue("listen-peer-urls", config.listenPeerUrls())
                .addKeyValue("initial-cluster", config.initialCluster().stream()
                        .map(im -> im.name() + "=" + im.peerUrl()).toList())
                .addKeyValue("initial-cluster-state", config.initialClusterState())
                .addKeyValue("storage-engine", config.storageEngine().name().toLowerCase(java.util.Locale.ROOT))
                .addKeyValue("snapshot-count", config.snapshotCount())
                .addKeyValue("quota-backend-bytes", config.effectiveQuotaBytes())
                .log("starting a member");
        MetaStore m = new MetaStore(config);
        LOG.atInfo().addKeyValue("name", config.name())
                .addKeyValue("member-id", Long.toHexString(m.membership.localId()))
                .addKeyValue("listen-client-urls", config.listenClientUrls())
                .addKeyValue("advertise-client-urls", config.advertiseClientUrls())
                .addKeyValue("storage-engine", config.storageEngine().name().toLowerCase(java.util.Locale.ROOT))
                .log("ready to serve client requests");
        return m;
    }

    private static MvccStore openStore(ServerConfig config, Path member) throws IOException {
        if (config.storageEngine() == ServerConfig.StorageEngine.MEMORY) {
            MvccStore store = MvccStoreImpl.open(new MemoryBackend());
            Path seed = member.resolve(SnapshotRestore.SEED_FILE);
            if (Files.exists(seed)) {
                // a restored snapshot the memory engine loads until Raft has a snapshot of its own
                try (InputStream in = Files.newInputStream(seed)) {
                    store.restore(new java.io.BufferedInputStream(in));
                }
            }
            return store;
        }
        return MvccStoreImpl.open(RocksDbBackend.open(member.resolve("store")));
    }

    /** etcd: ceil(1.5 × election timeout), in seconds. */
    static long minLeaseTtlSeconds(ServerConfig config) {
        long ms = config.electionTimeout().toMillis();
        return Math.max(1, (3 * ms + 1999) / 2000);
    }

    private static RaftConfig raftConfig(ServerConfig config, Path dir, LeadershipListener listener, RaftTls tls,
                                         RaftLatencyListener latencies) {
        List<RaftPeerSpec> peers = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        String local = null;
        for (ServerConfig.InitialMember m : config.initialCluster()) {
            if (seen.add(m.name())) {
                RaftPeerSpec peer = RaftPeerIds.peer(m.name(), m.peerUrl());
                peers.add(peer);
                if (m.name().equals(config.name())) {
                    local = peer.name();
                }
            }
        }
        return RaftConfig.builder()
                .localName(local == null ? config.name() : local)
                .peers(peers)
                .storageDir(dir)
                .clusterToken(config.initialClusterToken())
                .heartbeatInterval(config.heartbeatInterval())
                .electionTimeout(config.electionTimeout())
                .snapshotCount(config.snapshotCount())
                .maxRequestBytes(config.maxRequestBytes() + 512 * 1024)
                .leadershipListener(listener)
                .latencyListener(latencies)
                .joining(config.joinsExistingCluster())
                .leaderLeaseReads(config.leaderLeaseReads())
                .tls(tls)
                .build();
    }

    /** The routes served next to gRPC on the client URLs (or on --listen-client-http-urls); register at start. */
    ClientHttpRoutes clientHttpRoutes() {
        return clientHttpRoutes;
    }

    /** The routes the --listen-metrics-urls serve (and the client URLs too); register at start. */
    ClientHttpRoutes opsHttpRoutes() {
        return opsHttpRoutes;
    }

    /**
     * Serves the client URLs: plaintext on the http:// ones, TLS with {@code tlsContext} on the https:// ones (a
     * separate Netty server, since a server has one transport security), in the order the URLs first name them.
     * With {@code http} each port also serves HTTP/1.1 (the first bytes of a connection decide); without, gRPC only.
     */
    private List<Server> startGrpc(SslContext tlsContext, HttpPipeline http) throws IOException {
        ContainingInterceptor containing = new ContainingInterceptor(); // contains what the handlers throw
        ClientLimits limits = config.limits();
        java.util.Map<Boolean, NettyServerBuilder> builders = new java.util.LinkedHashMap<>();
        for (int i = 0; i < clientAddresses.size(); i++) {
            InetSocketAddress a = clientAddresses.get(i);
            boolean secure = TransportSecurity.secure(config.listenClientUrls().get(i));
            NettyServerBuilder b = builders.get(secure);
            ServerCredentials credentials = ClientPortNegotiator.credentials(secure ? tlsContext : null, http);
            builders.put(secure, b == null ? NettyServerBuilder.forAddress(a, credentials) : b.addListenAddress(a));
        }
        List<Server> servers = new ArrayList<>();
        try {
            for (var e : builders.entrySet()) {
                NettyServerBuilder b = e.getValue();
                servers.add(b
                        .intercept(metrics.grpc()) // outermost: counts calls the guard or auth refuse, as etcd
                        .addStreamTracerFactory(metrics.grpcTraffic())
                        .directExecutor() // handlers never block: they hand work to Raft or answer from memory
                        .permitKeepAliveTime(limits.keepaliveMinTime().toNanos(), TimeUnit.NANOSECONDS)
                        .permitKeepAliveWithoutCalls(false) // etcd's PermitWithoutStream=false
                        .keepAliveTime(limits.keepaliveInterval().toNanos(), TimeUnit.NANOSECONDS)
                        .keepAliveTimeout(limits.keepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
                        .maxConcurrentCallsPerConnection(limits.maxConcurrentStreams())
                        .maxInboundMessageSize(config.maxRequestBytes() + 512 * 1024)
                        // the guard runs first (learner, hasleader), then auth, as in etcd
                        .addService(ServerInterceptors.intercept(new KvService(server), authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(watchService, authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(leaseService, authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(new MaintenanceService(server, maintenanceExecutor),
                                authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(clusterService, authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(new AuthService(server), authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(coordination.lockService(), authInterceptor, guard, containing))
                        .addService(ServerInterceptors.intercept(coordination.electionService(), authInterceptor,
                                guard, containing))
                        .addService(ServerInterceptors.intercept(health.getHealthService(), authInterceptor, containing))
                        .build()
                        .start());
            }
        } catch (IOException | RuntimeException e) {
            servers.forEach(Server::shutdownNow);
            throw e;
        }
        metrics.grpc().initialize(servers.get(0).getServices());
        return List.copyOf(servers);
    }

    /** --listen-client-http-urls (every HTTP route) and --listen-metrics-urls (the ops routes only). */
    private void startHttpListeners(SslContext tlsContext, HttpPipeline clientHttp) throws IOException {
        if (config.listenClientHttpUrls().isEmpty() && config.listenMetricsUrls().isEmpty()) {
            return;
        }
        httpListenerLoop = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("http-listener", true),
                NioIoHandler.newFactory());
        HttpPipeline opsHttp = new HttpPipeline(opsHttpRoutes, config.maxRequestBytes(),
                HttpPipeline.DEFAULT_IDLE_TIMEOUT, httpConnections, java.util.Map.of());
        for (String url : config.listenClientHttpUrls()) {
            httpListeners.add(HttpListener.start(addresses(List.of(url)).get(0),
                    TransportSecurity.secure(url) ? tlsContext : null, clientHttp, httpListenerLoop));
        }
        for (String url : config.listenMetricsUrls()) {
            httpListeners.add(HttpListener.start(addresses(List.of(url)).get(0),
                    TransportSecurity.secure(url) ? tlsContext : null, opsHttp, httpListenerLoop));
        }
    }

    private void stopHttpListeners() {
        httpListeners.forEach(HttpListener::close);
        if (httpListenerLoop != null) {
            httpListenerLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static List<InetSocketAddress> addresses(List<String> urls) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String url : urls) {
            URI u = URI.create(url);
            out.add(new InetSocketAddress(u.getHost(), u.getPort()));
        }
        return out;
    }

    /** Leaving as leader: let another voter take over now rather than after an election timeout. */
    private void handOffLeadership() {
        long started = System.nanoTime();
        Duration bound = config.electionTimeout().multipliedBy(3);
        String to = server.members().handOffLeadership(bound);
        if (to != null) {
            LOG.atInfo().addKeyValue("to", to).addKeyValue("took-ms", (System.nanoTime() - started) / 1_000_000)
                    .log("handed leadership to {} before stopping", to);
        } else if (raft.isLeader()) {
            LOG.warn("stopping as leader without a hand-off; the other members will elect a leader");
        }
    }

    /** Completes when this member learns it was removed from the cluster (etcd then stops; so does the launcher). */
    public CompletableFuture<Void> removedFromCluster() {
        return removed;
    }

    /** Completes with the reason when this member must stop because its state diverged from the cluster's. */
    public CompletableFuture<String> failed() {
        return raft.failure();
    }

    /** This member's Raft node (tests and operators' diagnostics). */
    /** Entries applied slower than --warning-apply-duration (etcd_server_slow_apply_total). */
    public SlowApplyCounter slowApplies() {
        return slowApplies;
    }

    public RaftNode raft() {
        return raft;
    }

    public EtcdServer server() {
        return server;
    }

    public ServerConfig config() {
        return config;
    }

    /** etcd's HTTP/JSON gateway for the client port's HTTP side (paths {@link JsonGateway#PREFIXES}). */
    public HttpRoute jsonGateway() {
        return gateway;
    }

    /**
     * etcd's operational HTTP endpoints by exact path (/health, /livez, /readyz and their per-check paths,
     * /version, /metrics), for the client port's HTTP router (and a --listen-metrics-urls listener) to mount.
     */
    public Map<String, HttpRoute> opsRoutes() {
        return opsRoutes;
    }

    /** This member's Prometheus metrics (etcd's names). */
    public MemberMetrics metrics() {
        return metrics;
    }

    /** The first client port actually bound (tests may ask for port 0). */
    public int clientPort() {
        return ((InetSocketAddress) grpc.get(0).getListenSockets().get(0)).getPort();
    }

    /** Stop accepting, let in-flight calls finish (bounded), then stop Raft and close the store. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        health.enterTerminalState(); // health watchers hear NOT_SERVING before the listener goes
        grpc.forEach(Server::shutdown);
        // grpc closes the HTTP/1.1 connections it accepted only once its listeners are down, and never those of the
        // HTTP-only listeners; its termination waits for them (each began as a grpc transport). Close them all now:
        // an open stream ends with its terminating chunk and its route's onClose runs.
        httpListeners.forEach(HttpListener::close);
        httpConnections.close(1000);
        // streams never end by themselves: end them so in-flight unary calls are all the grace period waits for
        watchService.shutdown();
        leaseService.shutdown();
        coordination.shutdown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (Server g : grpc) {
            try {
                if (!g.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    g.shutdownNow();
                    g.awaitTermination(2, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                g.shutdownNow();
            }
        }
        stopHttpListeners();
        publisher.shutdownNow();
        gatewayChannel.close();
        coordination.close();
        clusterService.close();
        guard.close();
        reconciler.close();
        autoCompactor.close();
        leaseLoop.close();
        watchHub.close();
        maintenanceExecutor.shutdownNow();
        auth.close();
        handOffLeadership();
        raft.close();
        store.close();
        // the message keeps its "(name=...)": scripts and GracefulShutdownIT look for that text
        LOG.atInfo().addKeyValue("name", config.name()).log("stopped (name={})", config.name());
    }
}
