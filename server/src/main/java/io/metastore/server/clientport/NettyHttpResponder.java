package io.metastore.server.clientport;

import io.metastore.server.http.HttpResponder;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.LastHttpContent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;

/**
 * One exchange's {@link HttpResponder} on a Netty channel. Every call is moved onto the channel's event loop, so
 * its state needs no locks and writes keep the order the route made them in.
 */
final class NettyHttpResponder implements HttpResponder {
    private static final Logger LOG = LoggerFactory.getLogger(NettyHttpResponder.class);

    private enum State { NEW, STREAMING, DONE }

    /**
     * A stream whose client stops reading cannot hold memory without bound: past this many unwritten bytes the
     * connection is cut (its onClose runs; a watch route then cancels its watch). Routes that can wait should.
     */
    static final long MAX_PENDING_STREAM_BYTES = 32L * 1024 * 1024;

    private final ChannelHandlerContext ctx;
    private final Runnable whenDone;
    private final List<Runnable> onClose = new ArrayList<>();
    /** Headers every response of this listener carries (etcd's CORS headers on client URLs), then the route's. */
    private final List<Map.Entry<String, String>> headers;
    private State state = State.NEW;

    /** @param whenDone told (on the event loop) once the response is complete, so the next request may start */
    NettyHttpResponder(ChannelHandlerContext ctx, Map<String, String> listenerHeaders, Runnable whenDone) {
        this.ctx = ctx;
        this.whenDone = whenDone;
        this.headers = new ArrayList<>(listenerHeaders.entrySet());
    }

    @Override
    public HttpResponder header(String name, String value) {
        Map.Entry<String, String> h = Map.entry(name, value);
        onLoop(() -> {
            if (state == State.NEW) {
                headers.add(h);
            }
        });
        return this;
    }

    /** Go's net/http adds Date to every response; the listener's and the route's headers follow. */
    private void addHeaders(HttpResponse r, String contentType) {
        // Go's canonical spelling ("Content-Type", not Netty's lower-case constants), byte-compatible with etcd
        r.headers().set("Date", DateFormatter.format(new Date()));
        for (Map.Entry<String, String> h : headers) {
            r.headers().add(h.getKey(), h.getValue());
        }
        r.headers().set("Content-Type", contentType);
    }

    @Override
    public void respond(int status, String contentType, byte[] body) {
        onLoop(() -> {
            if (state != State.NEW) {
                return;
            }
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                    Unpooled.wrappedBuffer(body));
            addHeaders(r, contentType);
            r.headers().setInt("Content-Length", body.length);
            ctx.writeAndFlush(r);
            finish(true);
        });
    }

    @Override
    public void startStream(int status, String contentType) {
        onLoop(() -> {
            if (state != State.NEW) {
                return;
            }
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
            addHeaders(r, contentType);
            r.headers().set("Transfer-Encoding", HttpHeaderValues.CHUNKED);
            ctx.writeAndFlush(r);
            state = State.STREAMING;
        });
    }

    @Override
    public void writeChunk(byte[] chunk) {
        if (chunk.length == 0) {
            return; // an empty chunk would end the chunked body
        }
        onLoop(() -> {
            if (state != State.STREAMING) {
                return;
            }
            ChannelOutboundBuffer pending = ctx.channel().unsafe().outboundBuffer();
            if (pending != null && pending.totalPendingWriteBytes() + chunk.length > MAX_PENDING_STREAM_BYTES) {
                LOG.warn("HTTP stream to {} cut: the client is not reading ({} bytes unsent)",
                        ctx.channel().remoteAddress(), pending.totalPendingWriteBytes());
                ctx.close();
                return;
            }
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(chunk)));
        });
    }

    @Override
    public void endStream() {
        onLoop(() -> {
            if (state == State.STREAMING) {
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                finish(true);
            }
        });
    }

    @Override
    public void onClose(Runnable callback) {
        onLoop(() -> {
            if (state == State.DONE) {
                runQuietly(callback);
            } else {
                onClose.add(callback);
            }
        }, () -> runQuietly(callback));
    }

    /** The route threw: 500 if nothing was sent yet, else the connection is cut (a started body cannot be fixed). */
    void failed() {
        if (state == State.NEW) {
            respond(500, "text/plain; charset=utf-8", "Internal Server Error\n".getBytes(StandardCharsets.UTF_8));
        } else if (state == State.STREAMING) {
            ctx.close();
        }
    }

    boolean streaming() {
        return state == State.STREAMING;
    }

    /**
     * The connection is being closed from outside (member shutdown): an open stream ends with its terminating chunk
     * first, so the client sees a complete response. Completes when that is written (at once if nothing to end).
     */
    ChannelFuture endForClose() {
        if (state != State.STREAMING) {
            return ctx.newSucceededFuture();
        }
        ChannelFuture written = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        finish(false);
        return written;
    }

    /** The connection closed under the exchange: the route's work for it stops. */
    void channelClosed() {
        if (state != State.DONE) {
            finish(false);
        }
    }

    private void finish(boolean nextMayStart) {
        state = State.DONE;
        List<Runnable> callbacks = List.copyOf(onClose);
        onClose.clear();
        callbacks.forEach(NettyHttpResponder::runQuietly);
        if (nextMayStart) {
            whenDone.run();
        }
    }

    private void onLoop(Runnable task) {
        onLoop(task, () -> { });
    }

    /** @param ifLoopGone run instead when the event loop has terminated (the connection is long closed then) */
    private void onLoop(Runnable task, Runnable ifLoopGone) {
        if (ctx.executor().inEventLoop()) {
            task.run();
            return;
        }
        try {
            ctx.executor().execute(task);
        } catch (RejectedExecutionException e) {
            ifLoopGone.run();
        }
    }

    private static void runQuietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("an HTTP exchange's onClose callback failed", e);
        }
    }
}
