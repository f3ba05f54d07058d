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
    private final java.util.Set<KeepAliveStream> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public LeaseService(EtcdServer server) {
        this.server = server;
    }

    @Override
    public void leaseGrant(LeaseGrantRequest request, StreamObserver<LeaseGrantResponse> out) {
        Unary.reply(() -> server.leaseGrant(request), out);
    }

    @Override
    public void leaseRevoke(LeaseRevokeRequest request, StreamObserver<LeaseRevokeResponse> out) {
        Unary.reply(() -> server.leaseRevoke(request), out);
    }

    @Override
    public void leaseTimeToLive(LeaseTimeToLiveRequest request, StreamObserver<LeaseTimeToLiveResponse> out) {
        Unary.reply(() -> server.leaseTimeToLive(request), out);
    }

    @Override
    public void leaseLeases(LeaseLeasesRequest request, StreamObserver<LeaseLeasesResponse> out) {
        Unary.reply(server::leaseLeases, out);
    }

    @Override
    public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(StreamObserver<LeaseKeepAliveResponse> out) {
        KeepAliveStream stream = new KeepAliveStream((ServerCallStreamObserver<LeaseKeepAliveResponse>) out);
        open.add(stream);
        stream.call.setOnCancelHandler(() -> open.remove(stream));
        return stream;
    }

    /** Ends open keep-alive streams with etcd's "server stopped" so a graceful stop does not wait for them. */
    public void shutdown() {
        for (KeepAliveStream s : open) {
            s.terminate();
        }
        open.clear();
    }

    /** One keep-alive stream; its monitor keeps replies and termination from interleaving. */
    private final class KeepAliveStream implements StreamObserver<LeaseKeepAliveRequest> {
        final ServerCallStreamObserver<LeaseKeepAliveResponse> call;
        private boolean done;

        KeepAliveStream(ServerCallStreamObserver<LeaseKeepAliveResponse> call) {
            this.call = call;
        }

        @Override
        public synchronized void onNext(LeaseKeepAliveRequest req) {
            if (done || call.isCancelled()) {
                return;
            }
            try {
                call.onNext(server.leaseKeepAlive(req.getID()));
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
        }

        @Override
        public synchronized void onCompleted() {
            if (!done) {
                done = true;
                open.remove(this);
                call.onCompleted();
            }
        }

        synchronized void terminate() {
            if (!done) {
                done = true;
                if (!call.isCancelled()) {
                    call.onError(GrpcErrors.toStatus(io.metastore.server.etcd.EtcdError.STOPPED));
                }
            }
        }
    }
}
