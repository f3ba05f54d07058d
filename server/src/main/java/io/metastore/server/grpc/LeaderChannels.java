package io.metastore.server.grpc;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;

import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Client channels from this member to other members' client URLs, for the few calls etcd forwards to the
 * leader outside Raft (lease renewals). One channel per URL, kept until shutdown. An https:// URL is reached over
 * TLS: the server is verified against --trusted-ca-file (any certificate with --auto-tls, as etcd skips verification
 * of self-signed certificates; the JVM's trust store otherwise), and this member's client certificate is presented
 * when the other member asks for one (its --client-cert-auth).
 */
final class LeaderChannels implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final SslContext tls;

    /** @param tls for https:// URLs; null: the JVM's defaults, no client certificate */
    LeaderChannels(SslContext tls) {
        this.tls = tls;
    }

    ManagedChannel forUrl(String url) {
        return channels.computeIfAbsent(url, u -> {
            URI uri = URI.create(u);
            NettyChannelBuilder b = NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort())
                    .intercept(new ForwardToken());
            if (!"https".equals(uri.getScheme())) {
                return b.usePlaintext().build();
            }
            b.useTransportSecurity();
            if (tls != null) {
                b.sslContext(tls);
            }
            return b.build();
        });
    }

    /** A relayed call carries the client's token: the leader checks it again (etcd checks before relaying too). */
    private static final class ForwardToken implements io.grpc.ClientInterceptor {
        @Override
        public <Q, A> io.grpc.ClientCall<Q, A> interceptCall(io.grpc.MethodDescriptor<Q, A> method,
                                                              io.grpc.CallOptions options, io.grpc.Channel next) {
            String token = AuthInterceptor.TOKEN.get();
            io.grpc.ClientCall<Q, A> call = next.newCall(method, options);
            if (token == null) {
                return call;
            }
            return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                public void start(Listener<A> listener, io.grpc.Metadata headers) {
                    headers.put(AuthInterceptor.TOKEN_KEY, token);
                    super.start(listener, headers);
                }
            };
        }
    }

    @Override
    public void close() {
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow();
            try {
                c.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        channels.clear();
    }
}
