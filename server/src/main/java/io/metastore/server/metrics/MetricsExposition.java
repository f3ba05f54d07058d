package io.metastore.server.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Writes a member's metrics, with the JVM's and the process's (process_resident_memory_bytes,
 * process_cpu_seconds_total, process_open_fds, process_start_time_seconds, jvm_*), in Prometheus text format 0.0.4
 * as etcd's /metrics does.
 */
public final class MetricsExposition {
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    /**
     * The JVM and process metrics describe the process, not a member: one registry for every member of the JVM
     * (the JVM collectors also install GC listeners, which must not pile up as test members come and go).
     */
    private static final PrometheusRegistry PROCESS = processRegistry();

    /**
     * etcd names two counters without the _total suffix, which the Java client always appends to a counter in the
     * text format; their three lines (HELP, TYPE, sample) are renamed back so queries on etcd's names keep working.
     */
    private static final String[] UNSUFFIXED_COUNTERS = {"etcd_server_health_success", "etcd_server_health_failures"};

    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final PrometheusRegistry member;

    public MetricsExposition(PrometheusRegistry member) {
        this.member = member;
    }

    private static PrometheusRegistry processRegistry() {
        PrometheusRegistry r = new PrometheusRegistry();
        JvmMetrics.builder().register(r);
        return r;
    }

    public byte[] scrape() {
        MetricSnapshots.Builder all = MetricSnapshots.builder();
        for (MetricSnapshot s : member.scrape()) {
            all.metricSnapshot(s);
        }
        for (MetricSnapshot s : PROCESS.scrape()) {
            all.metricSnapshot(s);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(32 * 1024);
        try {
            writer.write(out, all.build());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        for (String name : UNSUFFIXED_COUNTERS) {
            text = text.replace(name + "_total", name);
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
