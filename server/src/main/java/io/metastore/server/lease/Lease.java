package io.metastore.server.lease;

import io.metastore.storage.Bytes;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListSet;

/** One lease: its granted TTL, the keys attached to it and, on the leader, when it expires. */
final class Lease {
    final long id;
    final long ttlSeconds;
    /** Remaining TTL as last persisted by a checkpoint; 0 = never checkpointed. */
    volatile long checkpointedRemaining;
    /** System.nanoTime() deadline; meaningful only while the local member is the leader. */
    volatile long deadlineNanos;
    /** Set while a revoke for this lease is proposed, so the expiry loop does not propose it twice. */
    volatile boolean revoking;
    private final ConcurrentSkipListSet<byte[]> keys = new ConcurrentSkipListSet<>(Bytes::compare);

    Lease(long id, long ttlSeconds, long checkpointedRemaining) {
        this.id = id;
        this.ttlSeconds = ttlSeconds;
        this.checkpointedRemaining = checkpointedRemaining;
    }

    void attach(byte[] key) {
        keys.add(key);
    }

    void detach(byte[] key) {
        keys.remove(key);
    }

    /** Attached keys in key order (etcd deletes them in that order on revoke). */
    List<byte[]> keys() {
        return new ArrayList<>(keys);
    }

    long remainingNanos(long now) {
        return Math.max(0, deadlineNanos - now);
    }
}
