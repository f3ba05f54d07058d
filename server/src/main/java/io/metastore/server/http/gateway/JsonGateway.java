package io.metastore.server.http.gateway;

import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.metastore.server.grpc.TlsSessionRelay;
import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpResponder;
import io.metastore.server.http.HttpRoute;

import java.util.List;

/**
 * etcd's HTTP/JSON gateway (grpc-gateway) for the paths under {@code /v3/} (and {@code /v3beta/},
 * {@code /v3alpha/}): every RPC is a {@code POST} whose body is the request message as JSON, answered with the
 * response message as JSON, or for streaming RPCs with newline-separated {@code {"result":...}} objects.
 *
 * <p>Each request becomes a call on {@code channel}, which must reach the member's own intercepted handlers
 * (its {@code LocalClientChannel}): the gateway is one more client of the gRPC API, so the leader guard and
 * auth apply exactly as to a gRPC client and there is no path around them. The {@code Authorization} header
 * is the call's token; with a {@link TlsSessionRelay} a request's TLS session reaches the call too, so a
 * client certificate's CN is the user under --client-cert-auth on this path as well.
 *
 * <p>Content-Type is not looked at (etcd's gateway accepts {@code curl -d}'s form type).
 */
public final class JsonGateway implements HttpRoute {
    static final String CONTENT_TYPE = "application/json";
    /** The path prefixes this route answers; the transport sends them here. */
    public static final List<String> PREFIXES = List.of("/v3/", "/v3beta/", "/v3alpha/");

    private final Channel channel;
    private final TlsSessionRelay tlsSessions;
    private final GatewayMethods methods = GatewayMethods.etcd();

    private JsonGateway(Channel channel, TlsSessionRelay tlsSessions) {
        this.channel = channel;
        this.tlsSessions = tlsSessions;
    }

    /** A gateway whose calls carry no TLS session (client-certificate users are then not recognised). */
    public static JsonGateway forMember(Channel channel) {
        return new JsonGateway(channel, null);
    }

    /** @param tlsSessions installed on the in-process server behind {@code channel} */
    public static JsonGateway forMember(Channel channel, TlsSessionRelay tlsSessions) {
        return new JsonGateway(channel, tlsSessions);
    }

    @Override
    public void serve(HttpRequest request, HttpResponder response) {
        MethodDescriptor<Message, Message> method = methods.find(request.path());
        if (method == null) {
            fail(response, 404, Status.NOT_FOUND.withDescription("Not Found"));
            return;
        }
        if (!"POST".equals(request.method())) {
            // grpc-gateway v2 answers a known path with another method 405, status Unimplemented
            fail(response, 405, Status.UNIMPLEMENTED.withDescription("Method Not Allowed"));
            return;
        }
        List<Message> requests;
        try {
            requests = ProtoJson.parseAll(request.body(), GatewayMethods.requestPrototype(method));
        } catch (ProtoJson.MalformedBody e) {
            fail(response, 400, Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            return;
        }
        Metadata headers = CallHeaders.of(request);
        Runnable release = () -> { };
        if (tlsSessions != null && request.sslSession() != null) {
            release = tlsSessions.attach(request.sslSession(), headers)::close;
        }
        // grpc-gateway forwards the gRPC response's headers as Grpc-Metadata-*; etcd's clients see this one
        response.header("Grpc-Metadata-Content-Type", "application/grpc");
        ClientCall<Message, Message> call = channel.newCall(method, CallOptions.DEFAULT);
        if (method.getType() == MethodDescriptor.MethodType.UNARY) {
            Message single = requests.isEmpty() ? GatewayMethods.requestPrototype(method) : requests.get(0);
            UnaryExchange.run(call, headers, single, response, release);
        } else if (method.getType() == MethodDescriptor.MethodType.SERVER_STREAMING) {
            // exactly one request; an empty body is the empty message, as for unary calls
            Message single = requests.isEmpty() ? GatewayMethods.requestPrototype(method) : requests.get(0);
            StreamExchange.run(call, headers, List.of(single), response, release);
        } else {
            StreamExchange.run(call, headers, requests, response, release);
        }
    }

    private static void fail(HttpResponder response, int httpStatus, Status status) {
        response.respond(httpStatus, CONTENT_TYPE, GatewayErrors.body(status));
    }
}
