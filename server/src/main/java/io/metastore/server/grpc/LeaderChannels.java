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
            return NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort()).usePlaintext().build();
        });
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
