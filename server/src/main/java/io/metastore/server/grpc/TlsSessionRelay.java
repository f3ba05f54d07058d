package io.metastore.server.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

import javax.net.ssl.SSLSession;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Carries the TLS session of a request that arrived over another protocol (the HTTP/JSON gateway) into a call
 * on an in-process channel, so {@link ClientCertificates} finds the client certificate there exactly as on a
 * gRPC connection and a certificate's CN is the user for etcd's --client-cert-auth on both paths.
 *
 * <p>Metadata carry strings only, so the call carries an unguessable handle and the session stays here until
 * the call ends. Only the in-process server this relay's {@link #interceptor()} is installed on honours the
 * handle; a network client sending the same header reaches no such interceptor, and an unknown handle is
 * ignored.
 */
public final class TlsSessionRelay {
    private static final Metadata.Key<String> HANDLE =
            Metadata.Key.of("metastore-relayed-tls-session", Metadata.ASCII_STRING_MARSHALLER);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, SSLSession> sessions = new ConcurrentHashMap<>();

    /** Registers {@code session} for one call: adds its handle to {@code headers}; close the result when it ended. */
    public Registration attach(SSLSession session, Metadata headers) {
        byte[] raw = new byte[16];
        RANDOM.nextBytes(raw);
        String handle = HexFormat.of().formatHex(raw);
        sessions.put(handle, session);
        headers.put(HANDLE, handle);
        return () -> sessions.remove(handle);
    }

    /** Install on the in-process server the relayed calls go through (before the member's own interceptors). */
    public ServerInterceptor interceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                String handle = headers.get(HANDLE);
                headers.removeAll(HANDLE);
                SSLSession session = handle == null ? null : sessions.get(handle);
                if (session == null) {
                    return next.startCall(call, headers);
                }
                return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public io.grpc.Attributes getAttributes() {
                        return super.getAttributes().toBuilder()
                                .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session).build();
                    }
                }, headers);
            }
        };
    }

    /** Ends one call's registration. */
    @FunctionalInterface
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
