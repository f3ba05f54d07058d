package io.metastore.server.grpc;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Client channels from this member to other members' client URLs, for the few calls etcd forwards to the
 * leader outside Raft (lease renewals). One channel per URL, kept until shutdown.
 */
final class LeaderChannels implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    ManagedChannel forUrl(String url) {
        return channels.computeIfAbsent(url, u -> {
            URI uri = URI.create(u);
            return NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort()).usePlaintext()
                    .intercept(new ForwardToken()).build();
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
