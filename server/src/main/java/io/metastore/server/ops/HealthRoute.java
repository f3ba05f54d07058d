package io.metastore.server.ops;

import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpResponder;
import io.metastore.server.http.HttpRoute;
import io.metastore.server.maintenance.MemberHealth;
import io.metastore.server.metrics.MemberMetrics;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * etcd's GET /health (etcdhttp/health.go): 200 {"health":"true","reason":""}, or 503 with the reason ("ALARM
 * NOSPACE", "ALARM CORRUPT", "RAFT NO LEADER", "RANGE ERROR:…"). ?exclude=NOSPACE ignores that alarm (repeatable);
 * ?serializable=true skips the leader check and reads locally. Counted in etcd_server_health_success/failures.
 * etcd 3.4 answers the same shape for a healthy member; it has no exclude/serializable parameters before 3.5.
 */
final class HealthRoute implements HttpRoute {
    private final MemberHealth health;
    private final MemberMetrics metrics;

    HealthRoute(MemberHealth health, MemberMetrics metrics) {
        this.health = health;
        this.metrics = metrics;
    }

    @Override
    public void serve(HttpRequest request, HttpResponder response) {
        if (PlainText.refuseUnlessGet(request.method(), response)) {
            return;
        }
        Map<String, List<String>> query = request.queryParameters();
        Set<String> excluded = new HashSet<>(query.getOrDefault("exclude", List.of()));
        boolean serializable = query.getOrDefault("serializable", List.of()).stream().findFirst()
                .map("true"::equals).orElse(false);
        health.health(excluded, serializable).whenComplete((verdict, error) -> {
            MemberHealth.Verdict v = error == null ? verdict
                    : new MemberHealth.Verdict(false, "RANGE ERROR:" + error.getMessage());
            metrics.healthChecked(v.healthy());
            String json = "{\"health\":\"" + v.healthy() + "\",\"reason\":\"" + jsonEscape(v.reason()) + "\"}";
            if (v.healthy()) {
                // Go writes the JSON without a Content-Type; net/http sniffs it as text/plain
                response.respond(200, PlainText.CONTENT_TYPE, json.getBytes(StandardCharsets.UTF_8));
            } else {
                PlainText.error(response, 503, json);
            }
        });
    }

    /** The escaping Go's encoding/json applies to the characters a reason can hold. */
    static String jsonEscape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '<' -> b.append("\\u003c");
                case '>' -> b.append("\\u003e");
                case '&' -> b.append("\\u0026");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
