package io.metastore.server.clientport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A listener that serves HTTP/1.1 only: etcd's --listen-client-http-urls (the gateway and ops endpoints without
 * gRPC) and --listen-metrics-urls (only /metrics and the health endpoints). https:// URLs use the client TLS
 * settings, as etcd does for both.
 */
public final class HttpListener implements AutoCloseable {
    private final Channel bound;

    private HttpListener(Channel bound) {
        this.bound = bound;
    }

    /**
     * @param tls for a TLS listener, the client context built without ALPN; null for plaintext
     */
    public static HttpListener start(InetSocketAddress address, SslContext tls, HttpPipeline http,
                                     EventLoopGroup group) throws IOException {
        AlpnChoice alpn = AlpnChoice.serving(false, true);
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(TlsHandshake.newSslHandler(tls, alpn, ch.alloc()));
                        }
                        http.install(ch.pipeline());
                    }
                });
        try {
            return new HttpListener(b.bind(address).syncUninterruptibly().channel());
        } catch (RuntimeException e) {
            throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
        }
    }

    /** The port actually bound (tests may ask for port 0). */
    public int port() {
        return ((InetSocketAddress) bound.localAddress()).getPort();
    }

    /** Stops accepting; open connections are {@link HttpConnections}' to close. */
    @Override
    public void close() {
        bound.close().syncUninterruptibly();
    }
}
