package io.metastore.server.ops;

import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.server.EtcdServer;
import io.metastore.server.http.HttpRoute;
import io.metastore.server.maintenance.MemberHealth;
import io.metastore.server.metrics.MemberMetrics;
import io.metastore.server.metrics.MetricsExposition;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The operational HTTP endpoints etcd serves on its client (and --listen-metrics-urls) port: /health, /livez,
 * /readyz and their per-check paths, /version, /metrics, by exact path, for the transport's router to mount.
 */
public final class OpsRoutes {
    private OpsRoutes() {
    }

    public static Map<String, HttpRoute> create(EtcdServer server, MemberMetrics metrics) {
        MemberHealth health = new MemberHealth(server);
        Map<String, HttpRoute> routes = new LinkedHashMap<>();
        routes.put("/health", new HealthRoute(health, metrics));

        Map<String, ProbeRoute.Check> livez = new LinkedHashMap<>();
        livez.put("serializable_read", () -> health.read(true));
        mount(routes, "/livez", livez);

        Map<String, ProbeRoute.Check> readyz = new LinkedHashMap<>();
        readyz.put("data_corruption", () -> CompletableFuture.completedFuture(health.alarmCheck(AlarmType.CORRUPT)));
        readyz.put("serializable_read", () -> health.read(true));
        readyz.put("linearizable_read", () -> health.read(false));
        readyz.put("non_learner", () -> CompletableFuture.completedFuture(health.nonLearnerCheck()));
        mount(routes, "/readyz", readyz);

        routes.put("/version", new VersionRoute());
        routes.put("/metrics", new MetricsRoute(new MetricsExposition(metrics.registry())));
        return Map.copyOf(routes);
    }

    private static void mount(Map<String, HttpRoute> routes, String root, Map<String, ProbeRoute.Check> checks) {
        ProbeRoute probe = new ProbeRoute(checks);
        routes.put(root, probe);
        for (String name : checks.keySet()) {
            routes.put(root + "/" + name, probe.single(name));
        }
    }
}
