package io.metastore.server.ops;

import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpResponder;
import io.metastore.server.http.HttpRoute;
import io.metastore.server.metrics.MetricsExposition;

/**
 * etcd's /metrics: the Prometheus text format 0.0.4 (etcd's promhttp handler answers any method; so does this).
 * The scrape runs the registry's callbacks, which only read in-memory state and the store's size counters.
 */
final class MetricsRoute implements HttpRoute {
    private final MetricsExposition exposition;

    MetricsRoute(MetricsExposition exposition) {
        this.exposition = exposition;
    }

    @Override
    public void serve(HttpRequest request, HttpResponder response) {
        byte[] body;
        try {
            body = exposition.scrape();
        } catch (RuntimeException e) {
            PlainText.error(response, 500, "An error has occurred while serving metrics:\n\n" + e.getMessage());
            return;
        }
        response.respond(200, MetricsExposition.CONTENT_TYPE, body);
    }
}
