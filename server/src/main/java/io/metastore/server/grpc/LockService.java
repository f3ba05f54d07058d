package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.v3lockpb.LockGrpc;
import io.metastore.proto.v3lockpb.LockRequest;
import io.metastore.proto.v3lockpb.LockResponse;
import io.metastore.proto.v3lockpb.UnlockRequest;
import io.metastore.proto.v3lockpb.UnlockResponse;
import io.metastore.server.coordination.LockRecipes;

/** v3lockpb.Lock over {@link LockRecipes}, run off the transport threads by {@link BlockingCalls}. */
final class LockService extends LockGrpc.LockImplBase {
    private final LockRecipes locks;
    private final BlockingCalls calls;

    LockService(LockRecipes locks, BlockingCalls calls) {
        this.locks = locks;
        this.calls = calls;
    }

    @Override
    public void lock(LockRequest request, StreamObserver<LockResponse> out) {
        String token = CallerToken.current();
        Replies.reply(calls.waiting(() -> {
            LockRecipes.Held held = locks.lock(request.getName(), request.getLease(), token);
            return LockResponse.newBuilder().setHeader(held.header()).setKey(held.key()).build();
        }), out);
    }

    @Override
    public void unlock(UnlockRequest request, StreamObserver<UnlockResponse> out) {
        String token = CallerToken.current();
        Replies.reply(calls.quick(() -> UnlockResponse.newBuilder()
                .setHeader(locks.unlock(request.getKey(), token)).build()), out);
    }
}
