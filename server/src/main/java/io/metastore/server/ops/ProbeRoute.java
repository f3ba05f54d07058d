package io.metastore.server.ops;

import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpResponder;
import io.metastore.server.http.HttpRoute;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * etcd 3.6's /livez and /readyz (etcdhttp/health.go, CheckRegistry): runs the named checks and answers "ok\n"
 * (200, with "[+]name ok" lines first under ?verbose), or 503 with every check's line ("[-]name failed: reason").
 * ?exclude=name skips a check (an unknown name is ignored, as etcd does); each check also has its own path
 * ({@link #single}). etcd runs its checks in map order; here they run in registration order. etcd 3.4 has neither
 * endpoint (404).
 */
final class ProbeRoute implements HttpRoute {
    /** A check: completes with null when it passes, else the reason. */
    interface Check extends Supplier<CompletableFuture<String>> {
    }

    private final Map<String, Check> checks;

    ProbeRoute(Map<String, Check> checks) {
        this.checks = new LinkedHashMap<>(checks);
    }

    /** The route for one check's own path, e.g. /readyz/linearizable_read (exclude does not apply there). */
    HttpRoute single(String name) {
        Check check = checks.get(name);
        return (request, response) -> run(request, response, List.of(name), Map.of(name, check));
    }

    @Override
    public void serve(HttpRequest request, HttpResponder response) {
        Set<String> excluded = new HashSet<>(request.queryParameters().getOrDefault("exclude", List.of()));
        List<String> names = new ArrayList<>();
        for (String name : checks.keySet()) {
            if (!excluded.contains(name)) {
                names.add(name);
            }
        }
        run(request, response, names, checks);
    }

    private static void run(HttpRequest request, HttpResponder response, List<String> names, Map<String, Check> checks) {
        if (PlainText.refuseUnlessGet(request.method(), response)) {
            return;
        }
        List<CompletableFuture<String>> results = new ArrayList<>();
        for (String name : names) {
            CompletableFuture<String> r;
            try {
                r = checks.get(name).get();
            } catch (RuntimeException e) {
                r = CompletableFuture.completedFuture(String.valueOf(e.getMessage()));
            }
            results.add(r.exceptionally(e -> String.valueOf(e.getMessage())));
        }
        boolean verbose = request.queryParameters().containsKey("verbose");
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            StringBuilder lines = new StringBuilder();
            boolean failed = false;
            for (int i = 0; i < names.size(); i++) {
                String reason = results.get(i).join();
                if (reason == null) {
                    lines.append("[+]").append(names.get(i)).append(" ok\n");
                } else {
                    failed = true;
                    lines.append("[-]").append(names.get(i)).append(" failed: ").append(reason).append('\n');
                }
            }
            if (failed) {
                // etcd: http.Error(w, reason, 503), which adds one more newline
                PlainText.error(response, 503, lines.toString());
                return;
            }
            String body = (verbose ? lines : "") + "ok\n";
            response.respond(200, PlainText.CONTENT_TYPE, body.getBytes(StandardCharsets.UTF_8));
        });
    }
}
