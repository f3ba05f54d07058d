package io.metastore.server.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.AlarmRequest;
import io.metastore.proto.etcdserverpb.AlarmResponse;
import io.metastore.proto.etcdserverpb.DefragmentRequest;
import io.metastore.proto.etcdserverpb.DefragmentResponse;
import io.metastore.proto.etcdserverpb.HashKVRequest;
import io.metastore.proto.etcdserverpb.HashKVResponse;
import io.metastore.proto.etcdserverpb.HashRequest;
import io.metastore.proto.etcdserverpb.HashResponse;
import io.metastore.proto.etcdserverpb.MaintenanceGrpc;
import io.metastore.proto.etcdserverpb.SnapshotRequest;
import io.metastore.proto.etcdserverpb.SnapshotResponse;
import io.metastore.proto.etcdserverpb.StatusRequest;
import io.metastore.proto.etcdserverpb.StatusResponse;
import io.metastore.server.EtcdServer;
import io.metastore.server.maintenance.SnapshotImage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * etcdserverpb.Maintenance over {@link EtcdServer}. Work that may take long (hashing, defragmentation,
 * snapshot images) runs on the maintenance executor, never on the transport's event loop.
 */
public final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
    private static final int CHUNK = 32 * 1024;

    private final EtcdServer server;
    private final Executor executor;

    public MaintenanceService(EtcdServer server, Executor executor) {
        this.server = server;
        this.executor = executor;
    }

    @Override
    public void status(StatusRequest request, StreamObserver<StatusResponse> out) {
        Unary.replyNow(server::status, out);
    }

    @Override
    public void alarm(AlarmRequest request, StreamObserver<AlarmResponse> out) {
        Unary.reply(() -> server.alarm(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void hashKV(HashKVRequest request, StreamObserver<HashKVResponse> out) {
        Unary.reply(() -> CompletableFuture.supplyAsync(() -> server.hashKv(request), executor), out);
    }

    @Override
    public void hash(HashRequest request, StreamObserver<HashResponse> out) {
        Unary.reply(() -> CompletableFuture.supplyAsync(server::hash, executor), out);
    }

    @Override
    public void defragment(DefragmentRequest request, StreamObserver<DefragmentResponse> out) {
        Unary.reply(() -> CompletableFuture.supplyAsync(server::defragment, executor), out);
    }

    /**
     * etcd's snapshot stream: 32 KiB blobs with the bytes still to come, then a last message holding the
     * SHA-256 of everything before it, which is all etcdctl checks.
     */
    @Override
    public void snapshot(SnapshotRequest request, StreamObserver<SnapshotResponse> out) {
        ServerCallStreamObserver<SnapshotResponse> call = (ServerCallStreamObserver<SnapshotResponse>) out;
        executor.execute(() -> {
            Path file = null;
            try {
                file = Files.createTempFile("metastore-snapshot", ".db");
                SnapshotImage.write(server::writeSnapshot, file);
                send(call, file);
            } catch (IOException | RuntimeException e) {
                call.onError(GrpcErrors.toStatus(e));
            } finally {
                if (file != null) {
                    try {
                        Files.deleteIfExists(file);
                    } catch (IOException ignored) {
                        // a leftover temp file is harmless
                    }
                }
            }
        });
    }

    private void send(ServerCallStreamObserver<SnapshotResponse> call, Path file) throws IOException {
        long remaining = Files.size(file);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[CHUNK];
            while (remaining > 0) {
                if (call.isCancelled()) {
                    return;
                }
                if (!call.isReady()) {
                    Thread.onSpinWait();
                    sleepBriefly();
                    continue;
                }
                int n = in.readNBytes(buf, 0, (int) Math.min(CHUNK, remaining - SnapshotImage.CHECKSUM_BYTES));
                if (n == 0) {
                    break;
                }
                remaining -= n;
                call.onNext(SnapshotResponse.newBuilder().setRemainingBytes(remaining)
                        .setBlob(ByteString.copyFrom(buf, 0, n)).setVersion(EtcdServer.STORAGE_VERSION).build());
                if (remaining == SnapshotImage.CHECKSUM_BYTES) {
                    byte[] sum = in.readNBytes(SnapshotImage.CHECKSUM_BYTES);
                    call.onNext(SnapshotResponse.newBuilder().setRemainingBytes(0)
                            .setBlob(ByteString.copyFrom(sum)).setVersion(EtcdServer.STORAGE_VERSION).build());
                    remaining = 0;
                }
            }
        }
        call.onCompleted();
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while streaming a snapshot", e);
        }
    }

    @Override
    public void moveLeader(io.metastore.proto.etcdserverpb.MoveLeaderRequest request,
                           StreamObserver<io.metastore.proto.etcdserverpb.MoveLeaderResponse> out) {
        Unary.reply(() -> server.members().moveLeader(request.getTargetID()).thenApply(v ->
                // etcd answers with an empty response (no header) here
                io.metastore.proto.etcdserverpb.MoveLeaderResponse.getDefaultInstance()), out);
    }
}
