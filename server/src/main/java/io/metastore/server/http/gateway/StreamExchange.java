package io.metastore.server.http.gateway;

import com.google.protobuf.Message;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.metastore.server.http.HttpResponder;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One streaming call for one HTTP request, as etcd's gateway runs it: the body's requests are sent, the client
 * side is half-closed, and every response message becomes one chunk {@code {"result":<message>}\n}. The
 * server decides when the stream ends: a keep-alive stream ends after answering (Patroni reads one result and
 * waits for the end), a watch stays open until the HTTP client goes away, which cancels the call.
 *
 * <p>Memory: the gateway asks gRPC for one message at a time, the next only after the previous chunk was
 * handed to {@link HttpResponder#writeChunk}, so the call itself holds at most one message; the services
 * keep their own bounded queues behind flow control (a watch's queue fills and its watchers fall back to
 * catching up from history). What the transport buffers after {@code writeChunk} is the transport's bound:
 * the {@link HttpResponder} interface has no writability signal, so a transport must cap its per-connection
 * write buffer (and close a connection that exceeds it) for a client that stops reading.
 */
final class StreamExchange extends ClientCall.Listener<Message> {
    private static final byte[] PREFIX = "{\"result\":".getBytes(StandardCharsets.UTF_8);
    private static final byte[] SUFFIX = "}\n".getBytes(StandardCharsets.UTF_8);

    private final ClientCall<Message, Message> call;
    private final HttpResponder response;
    private final Runnable done;
    /** Touched only on the call's serialized listener callbacks. */
    private boolean started;
    /** Set when the HTTP exchange is over first (the client went away): nobody is left to tell how it ended. */
    private volatile boolean abandoned;

    private StreamExchange(ClientCall<Message, Message> call, HttpResponder response, Runnable done) {
        this.call = call;
        this.response = response;
        this.done = done;
    }

    static void run(ClientCall<Message, Message> call, Metadata headers, List<Message> requests,
                    HttpResponder response, Runnable done) {
        StreamExchange exchange = new StreamExchange(call, response, done);
        call.start(exchange, headers);
        call.request(1);
        for (Message r : requests) {
            call.sendMessage(r);
        }
        call.halfClose();
        // registered last: a cancelled call refuses sends, and the exchange may be over already
        response.onClose(() -> {
            exchange.abandoned = true;
            call.cancel("HTTP exchange closed", null);
        });
    }

    @Override
    public void onMessage(Message message) {
        if (abandoned) {
            return;
        }
        if (!started) {
            started = true;
            response.startStream(200, JsonGateway.CONTENT_TYPE);
        }
        byte[] json = ProtoJson.print(message).getBytes(StandardCharsets.UTF_8);
        byte[] chunk = new byte[PREFIX.length + json.length + SUFFIX.length];
        System.arraycopy(PREFIX, 0, chunk, 0, PREFIX.length);
        System.arraycopy(json, 0, chunk, PREFIX.length, json.length);
        System.arraycopy(SUFFIX, 0, chunk, PREFIX.length + json.length, SUFFIX.length);
        response.writeChunk(chunk);
        call.request(1);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
        try {
            if (abandoned) {
                return;
            }
            if (status.isOk()) {
                if (!started) {
                    response.startStream(200, JsonGateway.CONTENT_TYPE);
                }
                response.endStream();
            } else if (started) {
                response.writeChunk(GatewayErrors.streamLine(status));
                response.endStream();
            } else {
                // grpc-gateway v2: an error before the first message sets the status; the body is the error line
                response.respond(GatewayErrors.httpStatus(status.getCode()), JsonGateway.CONTENT_TYPE,
                        GatewayErrors.streamLine(status));
            }
        } finally {
            done.run();
        }
    }
}
