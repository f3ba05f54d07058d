package io.metastore.raft;

import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.impl.RatisMetricRegistryImpl;
import org.apache.ratis.thirdparty.com.codahale.metrics.MetricRegistry;
import org.apache.ratis.thirdparty.com.codahale.metrics.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Hands two of Ratis's own timings to a {@link RaftLatencyListener}: the Raft log's flush (fsync) time and the
 * leader's AppendEntries latency per follower. Ratis (3.3.0) measures both with Dropwizard timers in its metric
 * registries ("ratis.log_worker.&lt;member&gt;.syncTime", "ratis_grpc.log_appender.&lt;member&gt;.&lt;peer&gt;_latency"
 * and "…_latency_heartbeat") and offers no callback. Its registries call every reporter registration when they are
 * created, before the timers are looked up by name; so a timer registered here under that name first is the one
 * Ratis then uses, and it forwards each duration. Peers added after start get Ratis's plain timers (no round trips
 * reported for them). The registrations are global to the JVM: each node only touches its own member's registries.
 */
final class RatisLatencyTap implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RatisLatencyTap.class);

    private final String memberId;
    private final List<String> peers;
    private final RaftLatencyListener listener;
    private final Consumer<RatisMetricRegistry> onCreate = this::registryCreated;
    private final Consumer<RatisMetricRegistry> onRemove = r -> { };

    private RatisLatencyTap(String memberId, List<String> peers, RaftLatencyListener listener) {
        this.memberId = memberId;
        this.peers = peers;
        this.listener = listener;
    }

    /** Installs the tap before the Ratis server is built; null when nobody listens. */
    static RatisLatencyTap install(String memberId, List<String> peers, RaftLatencyListener listener) {
        if (listener == null) {
            return null;
        }
        RatisLatencyTap tap = new RatisLatencyTap(memberId, peers, listener);
        MetricRegistries.global().addReporterRegistration(tap.onCreate, tap.onRemove);
        return tap;
    }

    private void registryCreated(RatisMetricRegistry registry) {
        MetricRegistryInfo info = registry.getMetricRegistryInfo();
        if (!memberId.equals(info.getPrefix()) || !(registry instanceof RatisMetricRegistryImpl impl)) {
            return;
        }
        MetricRegistry dropwizard = impl.getDropWizardMetricRegistry();
        String prefix = MetricRegistry.name(info.getApplicationName(), info.getMetricsComponentName(), memberId);
        if ("ratis".equals(info.getApplicationName()) && "log_worker".equals(info.getMetricsComponentName())) {
            register(dropwizard, MetricRegistry.name(prefix, "syncTime"), listener::logSynced);
        } else if ("ratis_grpc".equals(info.getApplicationName())
                && "log_appender".equals(info.getMetricsComponentName())) {
            for (String peer : peers) {
                LongConsumer rtt = nanos -> listener.peerRoundTrip(peer, nanos);
                register(dropwizard, MetricRegistry.name(prefix, peer + "_latency"), rtt);
                register(dropwizard, MetricRegistry.name(prefix, peer + "_latency_heartbeat"), rtt);
            }
        }
    }

    private static void register(MetricRegistry registry, String name, LongConsumer sink) {
        try {
            registry.register(name, new ForwardingTimer(sink));
        } catch (IllegalArgumentException e) {
            LOG.debug("Ratis timer {} exists already; its durations are not reported", name);
        }
    }

    @Override
    public void close() {
        MetricRegistries.global().removeReporterRegistration(onCreate, onRemove);
    }

    /** A Dropwizard timer (Ratis keeps reading it as such) that also forwards every duration. */
    private static final class ForwardingTimer extends Timer {
        private final LongConsumer sink;

        ForwardingTimer(LongConsumer sink) {
            this.sink = sink;
        }

        @Override
        public void update(long duration, TimeUnit unit) {
            super.update(duration, unit);
            try {
                sink.accept(unit.toNanos(duration));
            } catch (RuntimeException e) {
                LOG.debug("latency listener failed", e);
            }
        }
    }
}
