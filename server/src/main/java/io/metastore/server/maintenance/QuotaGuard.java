package io.metastore.server.maintenance;

import io.metastore.storage.MvccStore;

/**
 * etcd's backend quota (server/storage/quota.go): a write that would grow the database past the quota is
 * refused and raises the NOSPACE alarm. The database size is sampled at most every 100 ms, since asking
 * the engine on every request would cost more than the check is worth.
 */
public final class QuotaGuard {
    /** etcd's per-request overhead estimates. */
    public static final int KV_OVERHEAD = 256;
    public static final int LEASE_GRANT_COST = 64;

    private final MvccStore store;
    private final long quotaBytes;
    private volatile long sampledSize;
    private volatile long sampledAtNanos;
    private volatile boolean stale = true;

    public QuotaGuard(MvccStore store, long quotaBytes) {
        this.store = store;
        this.quotaBytes = quotaBytes;
    }

    public long quotaBytes() {
        return quotaBytes;
    }

    public boolean available(long cost) {
        return size() + cost <= quotaBytes;
    }

    /**
     * The next check measures again: after a defragment, or when an operator disarms NOSPACE having freed space,
     * a size sampled just before would refuse the next write and raise the alarm again.
     */
    public void resample() {
        stale = true;
    }

    private long size() {
        long now = System.nanoTime();
        if (stale || now - sampledAtNanos > 100_000_000L) {
            stale = false;
            sampledSize = store.stats().sizeBytes();
            sampledAtNanos = now;
        }
        return sampledSize;
    }
}
