package io.metastore.server.http;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The HTTP routes of one listener, matched as Go's http.ServeMux matches them: an exact path first, else the
 * longest registered prefix; nothing matching gives Go's "404 page not found". Routes may be added while the
 * listener runs (the gateway and the metrics helpers register theirs at start).
 */
public final class ClientHttpRoutes {
    /** Go's http.NotFound body and type, as etcd answers an unknown path. */
    public static final HttpRoute NOT_FOUND = (request, response) -> response.header("X-Content-Type-Options", "nosniff")
            .respond(404, "text/plain; charset=utf-8", "404 page not found\n".getBytes(StandardCharsets.UTF_8));

    private final Map<String, HttpRoute> exact = new ConcurrentHashMap<>();
    /** Longest prefix first, so the most specific route wins. */
    private final List<Map.Entry<String, HttpRoute>> prefixes = new CopyOnWriteArrayList<>();
    private final List<ClientHttpRoutes> included = new CopyOnWriteArrayList<>();

    /** Serves {@code path} and nothing under it. */
    public ClientHttpRoutes exact(String path, HttpRoute route) {
        requirePath(path);
        exact.put(path, route);
        return this;
    }

    /** Serves every path starting with {@code prefix} that no exact route or longer prefix claims. */
    public synchronized ClientHttpRoutes prefix(String prefix, HttpRoute route) {
        requirePath(prefix);
        prefixes.removeIf(e -> e.getKey().equals(prefix));
        List<Map.Entry<String, HttpRoute>> sorted = new ArrayList<>(prefixes);
        sorted.add(Map.entry(prefix, route));
        sorted.sort(Comparator.comparingInt((Map.Entry<String, HttpRoute> e) -> e.getKey().length()).reversed());
        prefixes.clear();
        prefixes.addAll(sorted);
        return this;
    }

    /**
     * Serves {@code other}'s routes too, as they are now and as they will be (e.g. the ops routes, which the metrics
     * listener serves alone and the client port next to the gateway). Own routes win over included ones only where
     * Go's mux would pick them anyway: an exact path first, then the longest prefix of all.
     */
    public ClientHttpRoutes include(ClientHttpRoutes other) {
        if (other == this) {
            throw new IllegalArgumentException("a route set cannot include itself");
        }
        included.add(other);
        return this;
    }

    /** The route for {@code path} ({@link #NOT_FOUND} when none). */
    public HttpRoute resolve(String path) {
        HttpRoute r = exactMatch(path);
        if (r != null) {
            return r;
        }
        Map.Entry<String, HttpRoute> p = longestPrefix(path);
        return p == null ? NOT_FOUND : p.getValue();
    }

    private HttpRoute exactMatch(String path) {
        HttpRoute r = exact.get(path);
        for (int i = 0; r == null && i < included.size(); i++) {
            r = included.get(i).exactMatch(path);
        }
        return r;
    }

    private Map.Entry<String, HttpRoute> longestPrefix(String path) {
        Map.Entry<String, HttpRoute> best = null;
        for (Map.Entry<String, HttpRoute> e : prefixes) {
            if (path.startsWith(e.getKey())) {
                best = e; // sorted longest first
                break;
            }
        }
        for (ClientHttpRoutes other : included) {
            Map.Entry<String, HttpRoute> e = other.longestPrefix(path);
            if (e != null && (best == null || e.getKey().length() > best.getKey().length())) {
                best = e;
            }
        }
        return best;
    }

    private static void requirePath(String path) {
        if (path == null || !path.startsWith("/")) {
            throw new IllegalArgumentException("a route path starts with '/': " + path);
        }
    }
}
