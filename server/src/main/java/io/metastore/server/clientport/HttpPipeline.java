package io.metastore.server.clientport;

import io.metastore.server.http.ClientHttpRoutes;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 side of a listener: what a connection gets once it is known not to be gRPC. Bodies are aggregated
 * whole (see {@link #maxBodyBytes}); larger ones get 413 and the connection is closed.
 */
public final class HttpPipeline {
    /** Go's net/http keeps idle connections until the client goes; a bound keeps abandoned ones from piling up. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    /**
     * etcd's client handler answers every request with these (its --cors default "*"), 404s and errors included;
     * its metrics listener does not.
     */
    public static final Map<String, String> ETCD_CORS_HEADERS = orderedHeaders(
            "Access-Control-Allow-Headers", "accept, content-type, authorization",
            "Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE",
            "Access-Control-Allow-Origin", "*");

    private final ClientHttpRoutes routes;
    private final int maxRequestBytes;
    private final Duration idleTimeout;
    private final HttpConnections connections;
    private final Map<String, String> listenerHeaders;

    /** @param listenerHeaders added to every response of this listener (e.g. {@link #ETCD_CORS_HEADERS}) */
    public HttpPipeline(ClientHttpRoutes routes, int maxRequestBytes, Duration idleTimeout,
                        HttpConnections connections, Map<String, String> listenerHeaders) {
        this.routes = routes;
        this.maxRequestBytes = maxRequestBytes;
        this.idleTimeout = idleTimeout;
        this.connections = connections;
        this.listenerHeaders = listenerHeaders;
    }

    /**
     * The largest body read: etcd's gRPC limit (--max-request-bytes plus 512 KiB of envelope) as JSON, where base64
     * makes bytes 4/3 as long. The gateway checks the decoded request against the gRPC limit itself.
     */
    static int maxBodyBytes(int maxRequestBytes) {
        long grpcLimit = maxRequestBytes + 512L * 1024;
        return (int) Math.min(Integer.MAX_VALUE - 8, grpcLimit * 4 / 3 + 64 * 1024);
    }

    private static Map<String, String> orderedHeaders(String... nameValue) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put(nameValue[i], nameValue[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }

    /** Appends the HTTP/1.1 handlers to the pipeline of a connection that was just accepted or sniffed. */
    void install(ChannelPipeline p) {
        connections.add(p.channel());
        p.addLast("http-idle", new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
        p.addLast("http-codec", new HttpServerCodec());
        p.addLast("http-keep-alive", new HttpServerKeepAliveHandler());
        p.addLast("http-aggregator", new HttpObjectAggregator(maxBodyBytes(maxRequestBytes)));
        p.addLast("http-exchange", new HttpExchangeHandler(routes, listenerHeaders));
    }
}
