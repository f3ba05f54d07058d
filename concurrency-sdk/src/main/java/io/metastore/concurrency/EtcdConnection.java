package io.metastore.concurrency;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.WatchGrpc;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every recipe needs to talk to an etcd v3 endpoint (MetaStore or etcd): a gRPC channel, an optional auth
 * token, a per-RPC timeout, and one scheduler thread for session keep-alives.
 *
 * <p>The SDK never picks endpoints or load-balances itself: give it any {@link ManagedChannel} (TLS, name
 * resolution, retries are the channel's business) via {@link #of(ManagedChannel)}, or let
 * {@link #plaintext(String)} build a plain-text channel to one gRPC target such as {@code "127.0.0.1:2379"} or
 * {@code "dns:///etcd.example:2379"}.
 *
 * <p>Auth: etcd expects the token from {@code Auth.Authenticate} in the {@code token} request header;
 * {@link #withToken(String)} attaches it to every call. Tokens are not refreshed: when a simple token expires the
 * calls fail with {@code etcdserver: invalid auth token} and the caller must build a new connection.
 *
 * <p>Thread-safe; share one connection between all recipes of a process.
 */
public final class EtcdConnection implements AutoCloseable {
    static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
    private static final Duration DEFAULT_RPC_TIMEOUT = Duration.ofSeconds(10);
    private static final AtomicInteger SCHEDULER_IDS = new AtomicInteger();

    private final ManagedChannel managed;
    private final boolean ownsChannel;
    private final Channel channel;
    private final Duration rpcTimeout;
    private final ScheduledExecutorService scheduler;
    private final boolean ownsScheduler;
    private final String token;
    /** Live sessions renewing through this scheduler (shared with derived connections): they end when it stops. */
    private final Set<Session> sessions;

    private EtcdConnection(ManagedChannel managed, boolean ownsChannel, String token, Duration rpcTimeout,
                           ScheduledExecutorService scheduler, Set<Session> sessions) {
        this.sessions = sessions != null ? sessions : ConcurrentHashMap.newKeySet();
        this.managed = managed;
        this.ownsChannel = ownsChannel;
        this.rpcTimeout = rpcTimeout;
        this.token = token;
        if (token == null) {
            this.channel = managed;
        } else {
            Metadata md = new Metadata();
            md.put(TOKEN, token);
            this.channel = ClientInterceptors.intercept(managed, MetadataUtils.newAttachHeadersInterceptor(md));
        }
        this.ownsScheduler = scheduler == null;
        this.scheduler = scheduler != null ? scheduler : Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "etcd-concurrency-" + SCHEDULER_IDS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Uses a channel the caller owns; {@link #close()} leaves it open. */
    public static EtcdConnection of(ManagedChannel channel) {
        return new EtcdConnection(Objects.requireNonNull(channel), false, null, DEFAULT_RPC_TIMEOUT, null, null);
    }

    /** Opens (and on {@link #close()} shuts) a plain-text channel to a gRPC target such as {@code host:port}. */
    public static EtcdConnection plaintext(String target) {
        ManagedChannel ch = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        return new EtcdConnection(ch, true, null, DEFAULT_RPC_TIMEOUT, null, null);
    }

    /**
     * The same channel, with {@code token} sent on every call. Derived connections share this one's channel and
     * keep-alive scheduler: close only the original.
     */
    public EtcdConnection withToken(String token) {
        return new EtcdConnection(managed, false, Objects.requireNonNull(token), rpcTimeout, scheduler, sessions);
    }

    /** The same channel with another per-RPC deadline (default 10 s); waits are bounded separately. */
    public EtcdConnection withRpcTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("rpc timeout must be positive: " + timeout);
        }
        return new EtcdConnection(managed, false, token, timeout, scheduler, sessions);
    }

    /** The (possibly token-carrying) channel the recipes use. */
    public Channel channel() {
        return channel;
    }

    /** A KV stub with the per-RPC deadline applied; create one per call, deadlines start at creation. */
    KVGrpc.KVBlockingStub kv() {
        return KVGrpc.newBlockingStub(channel).withDeadlineAfter(rpcTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    LeaseGrpc.LeaseBlockingStub lease() {
        return LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(rpcTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** For streams: no deadline, they live as long as their wait or session. */
    LeaseGrpc.LeaseStub leaseStreams() {
        return LeaseGrpc.newStub(channel);
    }

    WatchGrpc.WatchStub watchStreams() {
        return WatchGrpc.newStub(channel);
    }

    Duration rpcTimeout() {
        return rpcTimeout;
    }

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    void register(Session s) {
        sessions.add(s);
    }

    void unregister(Session s) {
        sessions.remove(s);
    }

    /**
     * On the original connection: ends the sessions renewing through it or its derived connections (as
     * {@link Session.End#KEEPALIVE_FAILED}: their leases are left to expire) and stops the keep-alive scheduler.
     * Shuts the channel if this connection opened it. Closing a derived connection does neither.
     */
    @Override
    public void close() {
        if (ownsScheduler) {
            for (Session s : sessions) {
                s.connectionClosed();
            }
            scheduler.shutdownNow();
        }
        if (ownsChannel) {
            managed.shutdownNow();
            try {
                managed.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
