package io.metastore.server.http.gateway;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.grpc.Status;

import java.nio.charset.StandardCharsets;

/**
 * Failed calls as etcd 3.6's gateway (grpc-gateway v2) reports them: the HTTP status from grpc-gateway's
 * {@code HTTPStatusFromCode} and the body {@code {"code":<grpc code>,"message":"<text>","details":[]}}, a
 * {@code google.rpc.Status} as JSON. Once a stream has started, the error is its last line,
 * {@code {"error":{...}}}. (etcd 3.4/3.5 used grpc-gateway v1: {@code {"error":"<text>","message":"<text>",
 * "code":<grpc code>}}; clients such as Patroni read either.)
 */
final class GatewayErrors {
    // Go's protojson does not escape '<', '>' or '&' as Gson does by default
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private GatewayErrors() {}

    /** grpc-gateway's runtime.HTTPStatusFromCode. */
    static int httpStatus(Status.Code code) {
        return switch (code) {
            case OK -> 200;
            case CANCELLED -> 499;
            case UNKNOWN, INTERNAL, DATA_LOSS -> 500;
            case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
            case DEADLINE_EXCEEDED -> 504;
            case NOT_FOUND -> 404;
            case ALREADY_EXISTS, ABORTED -> 409;
            case PERMISSION_DENIED -> 403;
            case UNAUTHENTICATED -> 401;
            case RESOURCE_EXHAUSTED -> 429;
            case UNIMPLEMENTED -> 501;
            case UNAVAILABLE -> 503;
        };
    }

    /** The body of a failed unary call. */
    static byte[] body(Status status) {
        return bytes(GSON.toJson(statusJson(status)));
    }

    /** The last line of a stream that failed, newline included. */
    static byte[] streamLine(Status status) {
        JsonObject line = new JsonObject();
        line.add("error", statusJson(status));
        return bytes(GSON.toJson(line) + "\n");
    }

    private static JsonObject statusJson(Status status) {
        JsonObject o = new JsonObject();
        o.addProperty("code", status.getCode().value());
        o.addProperty("message", status.getDescription() == null ? "" : status.getDescription());
        o.add("details", new JsonArray());
        return o;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
