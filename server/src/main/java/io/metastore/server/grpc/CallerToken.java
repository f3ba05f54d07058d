package io.metastore.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Keeps the caller's etcd auth token ({@code token} header) in the call's Context, so that services acting on
 * the caller's behalf through {@link LocalClientChannel} can send it on: the keys they touch are then checked
 * against the caller's permissions, not the server's.
 */
final class CallerToken implements ServerInterceptor {
    static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
    private static final Context.Key<String> CURRENT = Context.key("metastore.caller-token");

    /** The token of the call being served, or null when the caller sent none. */
    static String current() {
        return CURRENT.get();
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        String token = headers.get(TOKEN);
        if (token == null) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(CURRENT, token), call, headers, next);
    }
}
