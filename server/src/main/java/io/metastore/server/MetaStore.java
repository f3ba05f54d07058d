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
import io.metastore.raft.RaftConfig;
import io.metastore.raft.RaftNode;
import io.metastore.raft.RaftPeerSpec;
import io.metastore.raft.RaftTls;
import io.metastore.server.apply.EtcdApplier;
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
import io.metastore.server.grpc.AuthInterceptor;
import io.metastore.server.grpc.AuthService;
import io.metastore.server.grpc.ClusterService;
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
import java.util.ArrayList;
import java.util.List;
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
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private volatile boolean closed;

    private static final long RECONCILE_PERIOD_MS = 200;
    private static final java.time.Duration JOIN_TIMEOUT = java.time.Duration.ofMinutes(10);

    private MetaStore(ServerConfig config) throws IOException {
        this.config = config;
        // before anything is opened: a refused TLS setting must not leave a half-started member behind
        ServerTls tls = ServerTls.create(config);
        ClusterIdentity identity = ClusterIdentity.fromConfig(config);
        boolean joining = config.joinsExistingCluster();
        Path member = config.dataDir().resolve("member");
        Files.createDirectories(member);
        this.store = openStore(config, member);
        LeaseManager leases = new LeaseManager(store, minLeaseTtlSeconds(config), System::nanoTime);
        AlarmStore alarms = new AlarmStore(store);
        this.watchHub = new WatchHub(store, config.watchProgressNotifyInterval());
        leases.reload();
        alarms.reload();
        MemberRegistry members = new MemberRegistry(store);
        members.reload();
        // a joining member knows the cluster only from the replicated membership, not from its flags
        this.membership = new Membership(members, joining ? null : identity, config.name());
        this.auth = new MemberAuth(config, store, leases);
        EtcdApplier applier = new EtcdApplier(store, leases, alarms, watchHub, members, auth);
        long extension = config.electionTimeout().toNanos();
        LeadershipListener leadership = (leaderName, term, localIsLeader) -> {
            if (localIsLeader) {
                leases.promote(extension);
            } else {
                leases.demote();
            }
        };
        this.raft = RaftNode.start(raftConfig(config, member.resolve("raft"), leadership, tls.peer()), store, applier);
        this.server = new EtcdServer(config, membership, store, raft, applier, leases, alarms, watchHub, auth);
        awaitStartupReplay();
        if (joining && members.byName(config.name()) == null) {
            join();
        }
        this.reconciler = new MembershipReconciler(membership, raft, RECONCILE_PERIOD_MS);
        this.leaseLoop = new LeaseExpiryLoop(leases, raft::isLeader, server.proposer());
        this.autoCompactor = AutoCompactor.start(config, store, raft::isLeader, server::compact);
        this.maintenanceExecutor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "maintenance");
            t.setDaemon(true);
            return t;
        });
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
        this.clientHttpRoutes = new ClientHttpRoutes().include(opsHttpRoutes).exact("/version", VERSION_PLACEHOLDER);
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
                LOG.info("joining the cluster: {} (retrying)", e.getCause().toString());
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
        LOG.info("admitted to cluster {} as member {}; catching up", Long.toHexString(admitted.getClusterId()),
                Long.toHexString(admitted.getId()));
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
        var timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "member-publish");
            t.setDaemon(true);
            return t;
        });
        Runnable attempt = new Runnable() {
            @Override
            public void run() {
                if (closed) {
                    return;
                }
                if (membership.removed(config.name())) {
                    LOG.warn("the member has been permanently removed from the cluster");
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
        MetaStore m = new MetaStore(config);
        LOG.info("ready to serve client requests (name={}, client urls={}, engine={})",
                config.name(), config.listenClientUrls(), config.storageEngine().name().toLowerCase());
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

    private static RaftConfig raftConfig(ServerConfig config, Path dir, LeadershipListener listener, RaftTls tls) {
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
                .joining(config.joinsExistingCluster())
                .leaderLeaseReads(config.leaderLeaseReads())
                .tls(tls)
                .build();
    }

    /**
     * A stand-in for etcd's GET /version until the ops routes land; Patroni reads it first. The cluster version is
     * this member's, as in a cluster of one version.
     */
    private static final HttpRoute VERSION_PLACEHOLDER = (request, response) -> response.respond(200,
            "application/json", ("{\"etcdserver\":\"" + EtcdServer.VERSION + "\",\"etcdcluster\":\""
                    + EtcdServer.VERSION + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8));

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
        HealthStatusManager health = new HealthStatusManager();
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
                        .directExecutor() // handlers never block: they hand work to Raft or answer from memory
                        .permitKeepAliveTime(5, TimeUnit.SECONDS) // etcdctl pings every 2 s+; --grpc-keepalive-min-time
                        .permitKeepAliveWithoutCalls(false)
                        .maxInboundMessageSize(config.maxRequestBytes() + 512 * 1024)
                        // the guard runs first (learner, hasleader), then auth, as in etcd
                        .addService(ServerInterceptors.intercept(new KvService(server), authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(watchService, authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(leaseService, authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(new MaintenanceService(server, maintenanceExecutor),
                                authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(clusterService, authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(new AuthService(server), authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(coordination.lockService(), authInterceptor, guard))
                        .addService(ServerInterceptors.intercept(coordination.electionService(), authInterceptor,
                                guard))
                        .addService(ServerInterceptors.intercept(health.getHealthService(), authInterceptor))
                        .build()
                        .start());
            }
        } catch (IOException | RuntimeException e) {
            servers.forEach(Server::shutdownNow);
            throw e;
        }
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

    /** Completes when this member learns it was removed from the cluster (etcd then stops; so does the launcher). */
    public CompletableFuture<Void> removedFromCluster() {
        return removed;
    }

    /** Completes with the reason when this member must stop because its state diverged from the cluster's. */
    public CompletableFuture<String> failed() {
        return raft.failure();
    }

    /** This member's Raft node (tests and operators' diagnostics). */
    public RaftNode raft() {
        return raft;
    }

    public EtcdServer server() {
        return server;
    }

    public ServerConfig config() {
        return config;
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
        coordination.close();
        clusterService.close();
        guard.close();
        reconciler.close();
        autoCompactor.close();
        leaseLoop.close();
        watchHub.close();
        maintenanceExecutor.shutdownNow();
        auth.close();
        raft.close();
        store.close();
        LOG.info("stopped (name={})", config.name());
    }
}
