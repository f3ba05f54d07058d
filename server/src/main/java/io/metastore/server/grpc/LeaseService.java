package io.metastore.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrantResponse;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveRequest;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveResponse;
import io.metastore.proto.etcdserverpb.LeaseLeasesRequest;
import io.metastore.proto.etcdserverpb.LeaseLeasesResponse;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.LeaseRevokeResponse;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.metastore.server.EtcdServer;

/** etcdserverpb.Lease over {@link EtcdServer}. */
public final class LeaseService extends LeaseGrpc.LeaseImplBase {
    private final EtcdServer server;
    private final LeaderChannels leaderChannels;
    private final java.util.Set<KeepAliveStream> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public LeaseService(EtcdServer server) {
        this(server, null);
    }

    /** @param forwardingTls for calls forwarded to the leader's https:// client URL; null for the JVM's defaults */
    public LeaseService(EtcdServer server, io.netty.handler.ssl.SslContext forwardingTls) {
        this.server = server;
        this.leaderChannels = new LeaderChannels(forwardingTls);
    }

    @Override
    public void leaseGrant(LeaseGrantRequest request, StreamObserver<LeaseGrantResponse> out) {
        Unary.reply(() -> server.leaseGrant(request), out);
    }

    @Override
    public void leaseRevoke(LeaseRevokeRequest request, StreamObserver<LeaseRevokeResponse> out) {
        Unary.reply(() -> server.leaseRevoke(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void leaseTimeToLive(LeaseTimeToLiveRequest request, StreamObserver<LeaseTimeToLiveResponse> out) {
        io.metastore.auth.AuthInfo caller = AuthInterceptor.caller();
        try {
            server.checkLeaseTimeToLive(caller, request); // here too before relaying: the keys must not leak
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        String url = server.isLeader() ? null : server.leaderClientUrl();
        if (url != null) {
            // remaining TTLs live on the leader; etcd asks it too. With no leader known yet, the local path's
            // ReadIndex barrier waits for one (a restarting single member becomes its own leader).
            LeaseGrpc.newStub(leaderChannels.forUrl(url)).withDeadlineAfter(7, java.util.concurrent.TimeUnit.SECONDS)
                    .leaseTimeToLive(request, out);
            return;
        }
        Unary.reply(() -> server.leaseTimeToLive(caller, request), out);
    }

    @Override
    public void leaseLeases(LeaseLeasesRequest request, StreamObserver<LeaseLeasesResponse> out) {
        Unary.reply(() -> server.leaseLeases(AuthInterceptor.caller()), out);
    }

    @Override
    public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(StreamObserver<LeaseKeepAliveResponse> out) {
        KeepAliveStream stream = new KeepAliveStream((ServerCallStreamObserver<LeaseKeepAliveResponse>) out,
                AuthInterceptor.callerResolver(server.auth()));
        open.add(stream);
        stream.call.setOnCancelHandler(() -> stream.onError(null));
        return stream;
    }

    /** Ends open keep-alive streams with etcd's "server stopped" so a graceful stop does not wait for them. */
    public void shutdown() {
        for (KeepAliveStream s : open) {
            s.terminate();
        }
        open.clear();
        leaderChannels.close();
    }

    /**
     * One keep-alive stream; its monitor keeps replies and termination from interleaving. Renewals happen on
     * the leader (only it keeps deadlines), so on a follower they travel on an upstream stream to the
     * leader's client URL, reopened when the leader changes — etcd forwards them the same way.
     */
    private final class KeepAliveStream implements StreamObserver<LeaseKeepAliveRequest> {
        final ServerCallStreamObserver<LeaseKeepAliveResponse> call;
        private boolean done;
        private StreamObserver<LeaseKeepAliveRequest> upstream;
        /** The client half-closed while renewals were relayed: waiting for the leader to end the relay. */
        private boolean draining;
        private final java.util.function.Supplier<io.metastore.auth.AuthInfo> caller;

        KeepAliveStream(ServerCallStreamObserver<LeaseKeepAliveResponse> call,
                        java.util.function.Supplier<io.metastore.auth.AuthInfo> caller) {
            this.call = call;
            this.caller = caller;
        }

        @Override
        public synchronized void onNext(LeaseKeepAliveRequest req) {
            if (done || call.isCancelled()) {
                return;
            }
            try {
                io.metastore.auth.AuthInfo who = caller.get();
                if (!server.isLeader()) {
                    server.checkLeaseRenew(who, req.getID()); // etcd checks before relaying to the leader
                    forward(req);
                    return;
                }
                call.onNext(server.leaseKeepAlive(who, req.getID()));
            } catch (RuntimeException e) {
                done = true;
                open.remove(this);
                call.onError(GrpcErrors.toStatus(e));
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            done = true;
            open.remove(this);
            closeUpstream();
        }

        @Override
        public synchronized void onCompleted() {
            if (done) {
                return;
            }
            if (upstream != null) {
                // renewals relayed to the leader may still be unanswered: half-close the relay too and end this
                // stream once the leader ended it, after its answers (a one-shot client such as etcd's gateway
                // reads exactly those)
                draining = true;
                try {
                    upstream.onCompleted();
                } catch (RuntimeException broken) {
                    upstreamEnded();
                }
                return;
            }
            done = true;
            open.remove(this);
            call.onCompleted();
        }

        private void forward(LeaseKeepAliveRequest req) {
            if (upstream == null) {
                String url = server.leaderClientUrl();
                if (url == null) {
                    throw io.metastore.server.etcd.EtcdError.NO_LEADER.toException();
                }
                upstream = LeaseGrpc.newStub(leaderChannels.forUrl(url)).leaseKeepAlive(new StreamObserver<>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse r) {
                        synchronized (KeepAliveStream.this) {
                            if (!done && !call.isCancelled()) {
                                call.onNext(r);
                            }
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        upstreamEnded();
                    }

                    @Override
                    public void onCompleted() {
                        upstreamEnded();
                    }
                });
            }
            upstream.onNext(req);
        }

        /**
         * The leader went away or changed: the next renewal opens a stream to whoever leads then. After the
         * client's half-close it is the end of this stream.
         */
        private synchronized void upstreamEnded() {
            upstream = null;
            if (draining && !done) {
                done = true;
                open.remove(this);
                if (!call.isCancelled()) {
                    call.onCompleted();
                }
            }
        }

        private void closeUpstream() {
            if (upstream != null) {
                try {
                    upstream.onCompleted();
                } catch (RuntimeException ignored) {
                    // already broken
                }
                upstream = null;
            }
        }

        synchronized void terminate() {
            closeUpstream();
            if (!done) {
                done = true;
                if (!call.isCancelled()) {
                    call.onError(GrpcErrors.toStatus(io.metastore.server.etcd.EtcdError.STOPPED));
                }
            }
        }
    }
}
