package io.metastore.server.clientport;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.util.concurrent.TimeUnit;

/**
 * The open HTTP/1.1 connections of one member, on every listener. grpc-java's shutdown reaches only those it
 * accepted, and its shutdownNow and handshake timeout not even those (they are gRPC frames an HTTP/1.1 pipeline
 * cannot carry); the HTTP-only listeners it does not know at all. So the member closes them itself.
 */
public final class HttpConnections {
    private final ChannelGroup channels = new DefaultChannelGroup("http-connections", GlobalEventExecutor.INSTANCE);
    private volatile boolean closed;

    void add(Channel channel) {
        channels.add(channel);
        if (closed) { // raced with close(): a connection accepted during shutdown is not served
            channel.close();
        }
    }

    /** Open connections right now (tests, diagnostics). */
    public int size() {
        return channels.size();
    }

    /**
     * Ends every open exchange (a stream gets its terminating chunk; the routes' onClose callbacks run) and closes
     * the connections, waiting at most {@code timeoutMillis} (a client that stopped reading cannot take the last
     * chunk) before dropping them outright.
     */
    public void close(long timeoutMillis) {
        closed = true;
        // each close passes the connection's HttpExchangeHandler, which ends an open stream first
        if (!channels.close().awaitUninterruptibly(timeoutMillis, TimeUnit.MILLISECONDS)) {
            channels.forEach(c -> c.unsafe().closeForcibly());
        }
    }
}
