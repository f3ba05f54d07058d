package io.metastore.server.http;

/**
 * Serves the requests for one path (or path prefix) on a client or metrics port. Called on a transport
 * thread: a route must not block; it answers at once or hands the work on and answers later.
 */
@FunctionalInterface
public interface HttpRoute {
    void serve(HttpRequest request, HttpResponder response);
}
