package io.metastore.server.http.gateway;

import com.google.gson.JsonObject;
import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpRoute;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Requests to a gateway route as the transport would hand them over (test scaffolding). */
final class GatewayCalls {
    private final HttpRoute route;

    GatewayCalls(HttpRoute route) {
        this.route = route;
    }

    /** Starts a request; the responder collects what comes back. */
    CollectingResponder send(String method, String path, String body, Map<String, String> headers) {
        return send(method, path, body, headers, null);
    }

    /** A request that came over TLS with this session (its peer certificates are the client's). */
    CollectingResponder send(String method, String path, String body, Map<String, String> headers,
                             javax.net.ssl.SSLSession tls) {
        CollectingResponder r = new CollectingResponder();
        Map<String, String> lower = new HashMap<>();
        headers.forEach((k, v) -> lower.put(k.toLowerCase(java.util.Locale.ROOT), v));
        route.serve(new HttpRequest(method, path, "", lower, body.getBytes(StandardCharsets.UTF_8), tls,
                new InetSocketAddress("127.0.0.1", 40000)), r);
        return r;
    }

    CollectingResponder send(String path, String body) {
        return send("POST", path, body, Map.of("Content-Type", "application/x-www-form-urlencoded"));
    }

    /** A unary call that must succeed; its response message as JSON. */
    JsonObject post(String path, String body) throws InterruptedException {
        return post(path, body, Map.of());
    }

    JsonObject post(String path, String body, Map<String, String> headers) throws InterruptedException {
        CollectingResponder r = send("POST", path, body, headers).awaitEnd();
        assertEquals(200, r.status(), () -> path + " " + body + " answered " + r.bodyText());
        assertEquals("application/json", r.contentType());
        return r.json();
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String unb64(String s) {
        return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
    }
}
