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
        ServerCallStreamObserver<LeaseKeepAliveResponse> call = (ServerCallStreamObserver<LeaseKeepAliveResponse>) out;
        return new StreamObserver<>() {
            private boolean done;

            @Override
            public void onNext(LeaseKeepAliveRequest req) {
                if (done || call.isCancelled()) {
                    return;
                }
                try {
                    LeaseKeepAliveResponse resp = server.leaseKeepAlive(req.getID());
                    synchronized (this) {
                        out.onNext(resp);
                    }
                } catch (RuntimeException e) {
                    done = true;
                    out.onError(GrpcErrors.toStatus(e));
                }
            }

            @Override
            public void onError(Throwable t) {
                done = true;
            }

            @Override
            public void onCompleted() {
                if (!done) {
                    done = true;
                    out.onCompleted();
                }
            }
        };
    }
}
