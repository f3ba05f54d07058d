package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/** Completes a unary call from a domain future; validation errors thrown synchronously are answered too. */
final class Unary {
    private Unary() {}

    static <T> void reply(Supplier<CompletableFuture<T>> call, StreamObserver<T> out) {
        CompletableFuture<T> f;
        try {
            f = call.get();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        f.whenComplete((v, e) -> {
            if (e != null) {
                out.onError(GrpcErrors.toStatus(e));
            } else {
                out.onNext(v);
                out.onCompleted();
            }
        });
    }

    static <T> void replyNow(Supplier<T> call, StreamObserver<T> out) {
        T v;
        try {
            v = call.get();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        out.onNext(v);
        out.onCompleted();
    }
}
