package io.metastore.server.apply;

import java.util.concurrent.atomic.LongAdder;

/**
 * How many applied entries took longer than --warning-apply-duration; what etcd exports as
 * {@code etcd_server_slow_apply_total}. Incremented on the apply thread, read by the metrics exporter.
 */
public final class SlowApplyCounter {
    private final LongAdder count = new LongAdder();

    void increment() {
        count.increment();
    }

    public long count() {
        return count.sum();
    }
}
