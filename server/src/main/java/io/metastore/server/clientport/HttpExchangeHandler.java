package io.metastore.server.clientport;

import io.metastore.server.http.ClientHttpRoutes;
import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpRoute;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLSession;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The end of an HTTP/1.1 connection's pipeline: turns each aggregated request into an {@link HttpRequest}, hands it
 * to its route and answers the next request only when the previous response is complete (HTTP/1.1 answers in
 * order; a pipelined request waits, and reading pauses meanwhile). A route that throws gets a 500, logged once; the
 * connection and its event loop carry on.
 */
final class HttpExchangeHandler extends ChannelDuplexHandler {
    private static final Logger LOG = LoggerFactory.getLogger(HttpExchangeHandler.class);

    private final ClientHttpRoutes routes;
    private final Map<String, String> listenerHeaders;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private NettyHttpResponder current;

    HttpExchangeHandler(ClientHttpRoutes routes, Map<String, String> listenerHeaders) {
        this.routes = routes;
        this.listenerHeaders = listenerHeaders;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (current != null) {
            waiting.add(request);
            ctx.channel().config().setAutoRead(false);
            return;
        }
        serve(ctx, request);
    }

    private void serve(ChannelHandlerContext ctx, FullHttpRequest netty) {
        HttpRequest request;
        boolean malformed;
        try {
            malformed = netty.decoderResult().isFailure();
            request = malformed ? null : toRequest(ctx, netty);
        } finally {
            netty.release();
        }
        NettyHttpResponder responder = new NettyHttpResponder(ctx, listenerHeaders, () -> next(ctx));
        current = responder;
        if (malformed) { // as Go's server answers a request it cannot parse
            responder.respond(400, "text/plain; charset=utf-8",
                    "400 Bad Request".getBytes(StandardCharsets.UTF_8));
            ctx.close();
            return;
        }
        HttpRoute route = routes.resolve(request.path());
        try {
            route.serve(request, responder);
        } catch (RuntimeException | Error e) {
            LOG.warn("HTTP route for {} {} failed", request.method(), request.path(), e);
            responder.failed();
        }
    }

    /** The current response is complete: serve a request that waited, or read on. */
    private void next(ChannelHandlerContext ctx) {
        current = null;
        FullHttpRequest queued = waiting.poll();
        if (queued != null) {
            serve(ctx, queued);
        } else if (ctx.channel().isActive() && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    private static HttpRequest toRequest(ChannelHandlerContext ctx, FullHttpRequest netty) {
        String uri = netty.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? "" : uri.substring(q + 1);
        int hash = query.indexOf('#');
        if (hash >= 0) {
            query = query.substring(0, hash);
        }
        if (path.startsWith("http://") || path.startsWith("https://")) { // absolute-form request target
            int slash = path.indexOf('/', path.indexOf("//") + 2);
            path = slash < 0 ? "/" : path.substring(slash);
        }
        Map<String, String> headers = new HashMap<>();
        for (Map.Entry<String, String> h : netty.headers()) {
            headers.put(h.getKey().toLowerCase(Locale.ROOT), h.getValue());
        }
        ByteBuf content = netty.content();
        byte[] body = ByteBufUtil.getBytes(content, content.readerIndex(), content.readableBytes(), false);
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        SSLSession session = ssl == null ? null : ssl.engine().getSession();
        return new HttpRequest(netty.method().name(), path, query, Map.copyOf(headers), body, session,
                ctx.channel().remoteAddress());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (current == null) { // a quiet watch stream, or a route still working, is not idle
                ctx.close();
            }
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    /**
     * Every close from outside passes here: grpc-java's server shutdown closes each connection it accepted, HTTP ones
     * included, and so does {@link HttpConnections}. An open stream gets its terminating chunk before the close.
     */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        NettyHttpResponder r = current;
        if (r != null && r.streaming()) {
            current = null;
            r.endForClose().addListener(written -> ctx.close(promise));
        } else {
            ctx.close(promise);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (current != null) {
            NettyHttpResponder r = current;
            current = null;
            r.channelClosed();
        }
        waiting.forEach(FullHttpRequest::release);
        waiting.clear();
        super.channelInactive(ctx);
    }

    /**
     * gRPC's server writes its close commands (handshake timeout, shutdown) into every connection it accepted,
     * including those that turned out to be HTTP/1.1: they mean nothing here (shutdown closes the channel, see
     * {@link #close}) and the HTTP encoder could not write them.
     */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpObject || msg instanceof ByteBuf) {
            super.write(ctx, msg, promise);
        } else {
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("HTTP connection from {} failed", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }
}
