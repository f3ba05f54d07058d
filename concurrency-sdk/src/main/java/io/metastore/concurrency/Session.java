package io.metastore.concurrency;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveRequest;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveResponse;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A lease kept alive in the background: the liveness that every lock, election candidacy and barrier slot of this
 * process hangs on (Go's {@code concurrency.Session}). Keys put with {@link #lease()} vanish when the session ends
 * on the server: on {@link #close()} (revoked at once) or when keep-alives stop for a whole TTL (the process died,
 * was partitioned away, or {@link #orphan()}ed it).
 *
 * <p>Keep-alive: one {@code LeaseKeepAlive} stream, a renewal every TTL/3; a broken stream is reopened on the next
 * tick. The session counts itself lost ({@link #done()} completes, every wait bound to it fails with
 * {@link SessionLostException}) when the server answers TTL 0 (lease expired or revoked by anyone) or when no
 * renewal was confirmed for a full TTL since it was sent — by then the server may have expired the lease, so the
 * holder must assume it lost whatever it held.
 */
public final class Session implements AutoCloseable {
    /** Go's default session TTL. */
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(60);
    private static final Logger LOG = LoggerFactory.getLogger(Session.class);
    /** How soon a broken keep-alive stream is retried, if that is sooner than the next renewal. */
    private static final long REOPEN_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

    /** Why a session ended; the value of {@link #done()}. */
    public enum End {
        /** {@link #close()}: keep-alive stopped and the lease revoked. */
        CLOSED,
        /** {@link #orphan()}: keep-alive stopped, the lease left to expire on the server. */
        ORPHANED,
        /** The server reported the lease gone (TTL 0): it expired or someone revoked it. */
        LEASE_EXPIRED,
        /** No keep-alive was confirmed for a whole TTL (server unreachable): the lease may have expired. */
        KEEPALIVE_FAILED
    }

    private final EtcdConnection conn;
    private final long leaseId;
    /** False for a lease someone else owns ({@link Builder#withoutKeepAlive()}): never renewed nor revoked here. */
    private final boolean keepsAlive;
    private final CompletableFuture<End> done = new CompletableFuture<>();
    private final Set<CompletableFuture<?>> boundWaits = ConcurrentHashMap.newKeySet();

    // keep-alive state, guarded by this
    private long ttlSeconds;
    private long confirmedUntilNanos;
    private final ArrayDeque<Long> unansweredSentAt = new ArrayDeque<>();
    private ClientCallStreamObserver<LeaseKeepAliveRequest> stream;
    private ScheduledFuture<?> nextTick;

    private Session(EtcdConnection conn, long leaseId, long ttlSeconds, boolean keepsAlive) {
        this.conn = conn;
        this.leaseId = leaseId;
        this.ttlSeconds = ttlSeconds;
        this.keepsAlive = keepsAlive;
    }

    /** A session on a new lease with the default TTL (60 s). */
    public static Session create(EtcdConnection conn) {
        return builder(conn).build();
    }

    public static Builder builder(EtcdConnection conn) {
        return new Builder(conn);
    }

    /** Options of a new session. */
    public static final class Builder {
        private final EtcdConnection conn;
        private long ttlSeconds = DEFAULT_TTL.toSeconds();
        private long leaseId;
        private boolean keepAlive = true;

        private Builder(EtcdConnection conn) {
            this.conn = conn;
        }

        /**
         * Lease TTL, whole seconds (at least 1). The server may raise it to its minimum (2 s on a default etcd).
         * Shorter = faster failover after a crash, but more keep-alive traffic and a higher risk that a long GC
         * pause loses the session.
         */
        public Builder ttl(Duration ttl) {
            long s = ttl.toSeconds();
            if (s < 1) {
                throw new IllegalArgumentException("session TTL must be at least 1 s: " + ttl);
            }
            this.ttlSeconds = s;
            return this;
        }

        /**
         * Keeps an existing lease alive instead of granting one (Go's {@code WithLease}): e.g. to resume the
         * locks of a restarted process. If the lease is already gone the session ends at once with
         * {@link End#LEASE_EXPIRED}.
         */
        public Builder lease(long leaseId) {
            this.leaseId = leaseId;
            return this;
        }

        /**
         * For a lease whose owner keeps it alive (Go's server-side Lock/Election: {@code WithLease} then
         * {@code Orphan}): the session never renews it and {@link #close()} does not revoke it. Such a session
         * cannot notice the lease expiring, so it stays {@link #isAlive()} until closed; the recipes still notice
         * a lost lease by their key vanishing ({@code "mutex: session is expired"}). With no {@link #lease} a new
         * lease of {@link #ttl} is granted and left to expire unless someone renews it (etcd's behaviour for a
         * Lock request with lease 0).
         */
        public Builder withoutKeepAlive() {
            this.keepAlive = false;
            return this;
        }

        /** Grants the lease (unless given one) and starts the keep-alive (unless {@link #withoutKeepAlive()}). */
        public Session build() {
            long id = leaseId;
            long ttl = ttlSeconds;
            long sentAt = System.nanoTime();
            if (id == 0) {
                var resp = conn.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build());
                id = resp.getID();
                ttl = resp.getTTL();
            }
            Session s = new Session(conn, id, ttl, keepAlive);
            s.start(sentAt);
            return s;
        }
    }

    /** The lease ID; lock and election keys carry it in hex. */
    public long lease() {
        return leaseId;
    }

    /** The TTL the server last reported for the lease. */
    public synchronized Duration ttl() {
        return Duration.ofSeconds(ttlSeconds);
    }

    public EtcdConnection connection() {
        return conn;
    }

    /** Completes with the reason once the session is over: lost, closed or orphaned. */
    public CompletableFuture<End> done() {
        return done;
    }

    /** Still renewing, with the last renewal confirmed less than a TTL ago. */
    public boolean isAlive() {
        return !done.isDone();
    }

    /** Stops renewing without revoking: the lease (and its keys) expire on the server after the TTL. */
    public void orphan() {
        end(End.ORPHANED);
    }

    /**
     * Stops renewing and revokes the lease (unless it was built {@link Builder#withoutKeepAlive()}), deleting every key put with it (releasing locks, resigning
     * elections). A lease that is already gone is not an error.
     */
    @Override
    public void close() {
        boolean first = end(End.CLOSED);
        if (!keepsAlive) {
            return; // not ours to revoke
        }
        End why = done.join();
        if (why == End.LEASE_EXPIRED || (why == End.CLOSED && !first)) {
            return; // the lease is gone already
        }
        try {
            conn.lease().withDeadlineAfter(Math.min(conn.rpcTimeout().toMillis(), ttlSeconds * 1000), TimeUnit.MILLISECONDS)
                    .leaseRevoke(LeaseRevokeRequest.newBuilder().setID(leaseId).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
    }

    /**
     * Makes {@code wait} fail with {@link SessionLostException} when this session ends (at once if it has):
     * whoever waits for a lock through a lost session would otherwise wait for a key that is gone.
     */
    void failOnLoss(CompletableFuture<?> wait) {
        boundWaits.add(wait);
        wait.whenComplete((v, t) -> boundWaits.remove(wait));
        if (done.isDone()) {
            wait.completeExceptionally(lostException());
        }
    }

    SessionLostException lostException() {
        return new SessionLostException("session (lease " + Long.toHexString(leaseId) + ") is over: "
                + done.getNow(null));
    }

    /** The connection closed under the session: nothing can renew the lease any more. */
    void connectionClosed() {
        end(End.KEEPALIVE_FAILED);
    }

    private synchronized void start(long grantSentAtNanos) {
        conn.register(this); // closing the connection ends the session (and fails the waits bound to it)
        if (!keepsAlive) {
            return;
        }
        confirmedUntilNanos = grantSentAtNanos + TimeUnit.SECONDS.toNanos(ttlSeconds);
        tick(); // first renewal now: for a given lease this is also the check that it exists
    }

    /** Renew, check the local expiry, schedule the next tick; runs on the connection's scheduler. */
    private synchronized void tick() {
        if (done.isDone()) {
            return;
        }
        long now = System.nanoTime();
        if (now - confirmedUntilNanos >= 0) {
            LOG.warn("lease {}: no keep-alive confirmed within its TTL of {} s; session lost",
                    Long.toHexString(leaseId), ttlSeconds);
            end(End.KEEPALIVE_FAILED);
            return;
        }
        try {
            if (stream == null) {
                openStream();
            }
            stream.onNext(LeaseKeepAliveRequest.newBuilder().setID(leaseId).build());
            unansweredSentAt.add(now);
        } catch (RuntimeException e) {
            // the stream failed under us (or could not be opened): reopen on a later tick, until the TTL runs out
            LOG.debug("lease {}: keep-alive send failed: {}", Long.toHexString(leaseId), e.toString());
            dropStream();
        }
        long interval = Math.max(TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.SECONDS.toNanos(ttlSeconds) / 3);
        if (stream == null) {
            interval = Math.min(interval, REOPEN_NANOS);
        }
        long delay = Math.min(interval, confirmedUntilNanos - now);
        try {
            nextTick = conn.scheduler().schedule(this::tick, delay, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            end(End.KEEPALIVE_FAILED); // the connection was closed
        }
    }

    private void openStream() {
        unansweredSentAt.clear();
        conn.leaseStreams().leaseKeepAlive(new ClientResponseObserver<LeaseKeepAliveRequest, LeaseKeepAliveResponse>() {
            private ClientCallStreamObserver<LeaseKeepAliveRequest> mine;

            @Override
            public void beforeStart(ClientCallStreamObserver<LeaseKeepAliveRequest> r) {
                mine = r;
                stream = r;
            }

            @Override
            public void onNext(LeaseKeepAliveResponse resp) {
                onRenewed(mine, resp);
            }

            @Override
            public void onError(Throwable t) {
                onStreamEnded(mine, t);
            }

            @Override
            public void onCompleted() {
                onStreamEnded(mine, null);
            }
        });
    }

    private synchronized void onRenewed(ClientCallStreamObserver<LeaseKeepAliveRequest> from, LeaseKeepAliveResponse resp) {
        if (from != stream || done.isDone()) {
            return;
        }
        Long sentAt = unansweredSentAt.poll();
        if (resp.getTTL() <= 0) {
            LOG.info("lease {} expired or was revoked; session lost", Long.toHexString(leaseId));
            end(End.LEASE_EXPIRED);
            return;
        }
        ttlSeconds = resp.getTTL();
        if (sentAt != null) {
            // the server restarted the TTL no earlier than we sent the request; responses come in request order,
            // so this only moves forward — except after the first answer for a resumed lease, which replaces the
            // guess made from the configured TTL with the lease's real one
            confirmedUntilNanos = sentAt + TimeUnit.SECONDS.toNanos(ttlSeconds);
        }
    }

    private synchronized void onStreamEnded(ClientCallStreamObserver<LeaseKeepAliveRequest> from, Throwable t) {
        if (from == stream) {
            LOG.debug("lease {}: keep-alive stream ended: {}", Long.toHexString(leaseId), String.valueOf(t));
            stream = null;
            unansweredSentAt.clear();
        }
    }

    private void dropStream() {
        if (stream != null) {
            stream.cancel("keep-alive stream dropped", null);
            stream = null;
        }
        unansweredSentAt.clear();
    }

    /** Ends the session once; returns whether this call ended it. */
    private boolean end(End why) {
        synchronized (this) {
            if (done.isDone()) {
                return false;
            }
            if (nextTick != null) {
                nextTick.cancel(false);
            }
            if (stream != null) {
                stream.cancel("session ended: " + why, null);
                stream = null;
            }
            done.complete(why);
        }
        conn.unregister(this);
        SessionLostException lost = lostException();
        for (CompletableFuture<?> w : boundWaits) {
            w.completeExceptionally(lost);
        }
        return true;
    }
}
