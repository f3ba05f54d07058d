package io.metastore.server.grpc;

import io.grpc.Context;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;

/** Answers a Lock/Election unary call from its {@link BlockingCalls} future, in the call's own Context. */
final class Replies {
    private Replies() {
    }

    static <T> void reply(CompletableFuture<T> result, StreamObserver<T> out) {
        Context ctx = Context.current(); // so that the error mapping can tell a client cancel from a shutdown
        result.whenComplete((v, t) -> ctx.run(() -> {
            try {
                if (t != null) {
                    out.onError(CoordinationErrors.toStatus(t));
                } else {
                    out.onNext(v);
                    out.onCompleted();
                }
            } catch (RuntimeException closed) {
                // the call ended meanwhile (client gone, server stopping): nobody to answer
            }
        }));
    }
}
