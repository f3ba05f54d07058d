package io.metastore.server.clientport;

import io.metastore.server.http.ClientHttpRoutes;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 side of a listener: what a connection gets once it is known not to be gRPC. Bodies are aggregated
 * up to etcd's gRPC limit (--max-request-bytes plus 512 KiB of envelope), so a request the gateway passes on is
 * never refused for its size by HTTP first.
 */
public final class HttpPipeline {
    /** Go's net/http keeps idle connections until the client goes; a bound keeps abandoned ones from piling up. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    private final ClientHttpRoutes routes;
    private final int maxRequestBytes;
    private final Duration idleTimeout;
    private final HttpConnections connections;

    public HttpPipeline(ClientHttpRoutes routes, int maxRequestBytes, Duration idleTimeout,
                        HttpConnections connections) {
        this.routes = routes;
        this.maxRequestBytes = maxRequestBytes;
        this.idleTimeout = idleTimeout;
        this.connections = connections;
    }

    /** Appends the HTTP/1.1 handlers to the pipeline of a connection that was just accepted or sniffed. */
    void install(ChannelPipeline p) {
        connections.add(p.channel());
        p.addLast("http-idle", new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
        p.addLast("http-codec", new HttpServerCodec());
        p.addLast("http-keep-alive", new HttpServerKeepAliveHandler());
        p.addLast("http-aggregator", new HttpObjectAggregator(maxRequestBytes + 512 * 1024));
        p.addLast("http-exchange", new HttpExchangeHandler(routes));
    }
}
