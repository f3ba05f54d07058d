package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.ClusterGrpc;
import io.metastore.proto.etcdserverpb.MemberListRequest;
import io.metastore.proto.etcdserverpb.MemberListResponse;
import io.metastore.server.EtcdServer;

/** etcdserverpb.Cluster: MemberList for now; membership changes arrive with clustering. */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
    private final EtcdServer server;

    public ClusterService(EtcdServer server) {
        this.server = server;
    }

    @Override
    public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> out) {
        Unary.replyNow(server::memberList, out);
    }
}
