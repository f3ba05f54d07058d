package io.metastore.server.ops;

import io.metastore.server.MetaStore;
import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpResponder;
import io.metastore.server.http.HttpRoute;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Calls one of a member's ops routes the way the client port's router will, and collects the whole answer
 * (these routes never stream).
 */
final class RouteCall implements HttpResponder {
    record Answer(int status, String contentType, String body) {
    }

    private final CompletableFuture<Answer> answer = new CompletableFuture<>();

    static Answer get(MetaStore member, String path) {
        return call(member, "GET", path, "");
    }

    static Answer get(MetaStore member, String path, String query) {
        return call(member, "GET", path, query);
    }

    static Answer call(MetaStore member, String method, String path, String query) {
        HttpRoute route = member.opsRoutes().get(path);
        assertNotNull(route, "no route for " + path);
        RouteCall responder = new RouteCall();
        route.serve(new HttpRequest(method, path, query, Map.of(), new byte[0], null, null), responder);
        try {
            return responder.answer.get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(method + " " + path + "?" + query + " did not answer", e);
        }
    }

    @Override
    public void respond(int status, String contentType, byte[] body) {
        answer.complete(new Answer(status, contentType, new String(body, StandardCharsets.UTF_8)));
    }

    @Override
    public void startStream(int status, String contentType) {
        answer.completeExceptionally(new AssertionError("an ops route streamed"));
    }

    @Override
    public void writeChunk(byte[] chunk) {
    }

    @Override
    public void endStream() {
    }

    @Override
    public void onClose(Runnable callback) {
        answer.whenComplete((a, e) -> callback.run());
    }
}
