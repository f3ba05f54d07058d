package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.CompactionResponse;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeResponse;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.server.EtcdServer;

/** etcdserverpb.KV over {@link EtcdServer}. RangeStream stays UNIMPLEMENTED (etcd 3.7 only; Kubernetes falls back). */
public final class KvService extends KVGrpc.KVImplBase {
    private final EtcdServer server;

    public KvService(EtcdServer server) {
        this.server = server;
    }

    @Override
    public void range(RangeRequest request, StreamObserver<RangeResponse> out) {
        Unary.reply(() -> server.range(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void put(PutRequest request, StreamObserver<PutResponse> out) {
        Unary.reply(() -> server.put(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void deleteRange(DeleteRangeRequest request, StreamObserver<DeleteRangeResponse> out) {
        Unary.reply(() -> server.deleteRange(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void txn(TxnRequest request, StreamObserver<TxnResponse> out) {
        Unary.reply(() -> server.txn(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void compact(CompactionRequest request, StreamObserver<CompactionResponse> out) {
        Unary.reply(() -> server.compact(request), out);
    }
}
