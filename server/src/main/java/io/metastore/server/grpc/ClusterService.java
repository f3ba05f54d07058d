package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.ClusterGrpc;
import io.metastore.proto.etcdserverpb.MemberAddRequest;
import io.metastore.proto.etcdserverpb.MemberAddResponse;
import io.metastore.proto.etcdserverpb.MemberListRequest;
import io.metastore.proto.etcdserverpb.MemberListResponse;
import io.metastore.proto.etcdserverpb.MemberPromoteRequest;
import io.metastore.proto.etcdserverpb.MemberPromoteResponse;
import io.metastore.proto.etcdserverpb.MemberRemoveRequest;
import io.metastore.proto.etcdserverpb.MemberRemoveResponse;
import io.metastore.proto.etcdserverpb.MemberUpdateRequest;
import io.metastore.proto.etcdserverpb.MemberUpdateResponse;
import io.metastore.server.EtcdServer;
import io.metastore.server.etcd.EtcdError;

import java.util.concurrent.TimeUnit;

/** etcdserverpb.Cluster over the domain's MemberManager; MemberPromote goes to the leader, as etcd forwards it. */
public final class ClusterService extends ClusterGrpc.ClusterImplBase implements AutoCloseable {
    private final EtcdServer server;
    private final LeaderChannels leaderChannels;

    public ClusterService(EtcdServer server) {
        this(server, null);
    }

    /** @param forwardingTls for calls forwarded to the leader's https:// client URL; null for the JVM's defaults */
    public ClusterService(EtcdServer server, io.netty.handler.ssl.SslContext forwardingTls) {
        this.server = server;
        this.leaderChannels = new LeaderChannels(forwardingTls);
    }

    @Override
    public void memberAdd(MemberAddRequest request, StreamObserver<MemberAddResponse> out) {
        Unary.reply(() -> server.members().add(request), out);
    }

    @Override
    public void memberRemove(MemberRemoveRequest request, StreamObserver<MemberRemoveResponse> out) {
        Unary.reply(() -> server.members().remove(request.getID()), out);
    }

    @Override
    public void memberUpdate(MemberUpdateRequest request, StreamObserver<MemberUpdateResponse> out) {
        Unary.reply(() -> server.members().update(request), out);
    }

    @Override
    public void memberPromote(MemberPromoteRequest request, StreamObserver<MemberPromoteResponse> out) {
        if (!server.isLeader() && server.membership().byId(request.getID()) != null) {
            String url = server.leaderClientUrl();
            if (url == null) {
                out.onError(GrpcErrors.toStatus(EtcdError.NO_LEADER.toException()));
                return;
            }
            // only the leader knows how far the learner has come
            ClusterGrpc.newStub(leaderChannels.forUrl(url)).withDeadlineAfter(
                    server.config().requestTimeout().toMillis(), TimeUnit.MILLISECONDS).memberPromote(request, out);
            return;
        }
        Unary.reply(() -> server.members().promote(request.getID()), out);
    }

    @Override
    public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> out) {
        Unary.reply(() -> server.memberList(request.getLinearizable()), out);
    }

    @Override
    public void close() {
        leaderChannels.close();
    }
}
