package io.metastore.server.http.gateway;

import com.google.protobuf.Message;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.metastore.server.http.HttpResponder;

import java.nio.charset.StandardCharsets;

/** One unary call for one HTTP request: the response message as JSON, or etcd's error body. */
final class UnaryExchange extends ClientCall.Listener<Message> {
    private final HttpResponder response;
    private final Runnable done;
    private volatile Message reply;

    /** @param done runs once the call ended (releases what the request held) */
    UnaryExchange(HttpResponder response, Runnable done) {
        this.response = response;
        this.done = done;
    }

    static void run(ClientCall<Message, Message> call, Metadata headers, Message request, HttpResponder response,
                    Runnable done) {
        call.start(new UnaryExchange(response, done), headers);
        call.request(2);
        call.sendMessage(request);
        call.halfClose();
        // the client went away before the answer: nothing is waiting for the result any more. Registered last:
        // the exchange may be over already (a refusal answered at once), and a cancelled call refuses sends
        response.onClose(() -> call.cancel("HTTP exchange closed", null));
    }

    @Override
    public void onMessage(Message message) {
        reply = message;
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
        try {
            Message r = reply;
            if (status.isOk() && r != null) {
                response.respond(200, JsonGateway.CONTENT_TYPE, ProtoJson.print(r).getBytes(StandardCharsets.UTF_8));
            } else {
                Status s = status.isOk() ? Status.INTERNAL.withDescription("no response message") : status;
                response.respond(GatewayErrors.httpStatus(s.getCode()), JsonGateway.CONTENT_TYPE,
                        GatewayErrors.body(s));
            }
        } finally {
            done.run();
        }
    }
}
