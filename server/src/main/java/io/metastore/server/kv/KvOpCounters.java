package io.metastore.server.kv;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How many KV operations this member executed against its store, as etcd's mvcc layer counts them: every range,
 * put and delete-range (those inside a Txn too; writes on every member as it applies them, reads on the member
 * that serves them), and every Txn.
 */
public final class KvOpCounters {
    private final AtomicLong ranges = new AtomicLong();
    private final AtomicLong puts = new AtomicLong();
    private final AtomicLong deletes = new AtomicLong();
    private final AtomicLong txns = new AtomicLong();

    void range() {
        ranges.incrementAndGet();
    }

    void put() {
        puts.incrementAndGet();
    }

    void delete() {
        deletes.incrementAndGet();
    }

    void txn() {
        txns.incrementAndGet();
    }

    /** A read served outside the applier (a Range or a read-only Txn answered by EtcdServer). */
    public void servedRange() {
        range();
    }

    public void servedTxn() {
        txn();
    }

    public long ranges() {
        return ranges.get();
    }

    public long puts() {
        return puts.get();
    }

    public long deletes() {
        return deletes.get();
    }

    public long txns() {
        return txns.get();
    }
}
