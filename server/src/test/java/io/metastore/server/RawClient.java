package io.metastore.server;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.metastore.proto.etcdserverpb.ClusterGrpc;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.MaintenanceGrpc;
import io.metastore.proto.etcdserverpb.WatchGrpc;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Our own generated stubs over a plain channel: exact status codes and messages, no client-side mapping. */
public final class RawClient implements AutoCloseable {
    public final ManagedChannel channel;
    public final KVGrpc.KVBlockingStub kv;
    public final LeaseGrpc.LeaseBlockingStub lease;
    public final MaintenanceGrpc.MaintenanceBlockingStub maintenance;
    public final ClusterGrpc.ClusterBlockingStub cluster;
    public final WatchGrpc.WatchStub watch;

    public RawClient(int port) {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                .maxInboundMessageSize(64 * 1024 * 1024).build();
        kv = KVGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        lease = LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        maintenance = MaintenanceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        cluster = ClusterGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        watch = WatchGrpc.newStub(channel);
    }

    /** Asserts that {@code call} fails with exactly this gRPC code and message. */
    public static void assertEtcdError(Status.Code code, String message, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), "status code");
        assertEquals(message, e.getStatus().getDescription(), "status message");
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
