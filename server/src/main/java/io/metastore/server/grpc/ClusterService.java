package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.ClusterGrpc;
import io.metastore.proto.etcdserverpb.MemberListRequest;
import io.metastore.proto.etcdserverpb.MemberListResponse;
import io.metastore.proto.etcdserverpb.MemberPromoteRequest;
import io.metastore.proto.etcdserverpb.MemberPromoteResponse;
import io.metastore.proto.etcdserverpb.MemberRemoveRequest;
import io.metastore.proto.etcdserverpb.MemberRemoveResponse;
import io.metastore.proto.etcdserverpb.MemberUpdateRequest;
import io.metastore.proto.etcdserverpb.MemberUpdateResponse;
import io.metastore.server.EtcdServer;

/** etcdserverpb.Cluster: MemberList; membership changes arrive with clustering (unknown IDs answered as etcd). */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
    private final EtcdServer server;

    public ClusterService(EtcdServer server) {
        this.server = server;
    }

    @Override
    public void memberRemove(MemberRemoveRequest request, StreamObserver<MemberRemoveResponse> out) {
        refuse(server.membershipChangeError(request.getID(), false), out);
    }

    @Override
    public void memberUpdate(MemberUpdateRequest request, StreamObserver<MemberUpdateResponse> out) {
        refuse(server.membershipChangeError(request.getID(), false), out);
    }

    @Override
    public void memberPromote(MemberPromoteRequest request, StreamObserver<MemberPromoteResponse> out) {
        refuse(server.membershipChangeError(request.getID(), true), out);
    }

    /** etcd's error when it has one; otherwise say plainly that changing members is not implemented yet. */
    private static void refuse(io.metastore.server.etcd.EtcdError error, StreamObserver<?> out) {
        out.onError(error != null ? GrpcErrors.toStatus(error)
                : io.grpc.Status.UNIMPLEMENTED.withDescription("metastore: membership changes are not implemented yet")
                        .asRuntimeException());
    }

    @Override
    public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> out) {
        Unary.replyNow(server::memberList, out);
    }
}
