package io.metastore.server.lease;

import com.google.protobuf.InvalidProtocolBufferException;
import io.metastore.proto.etcdserverpb.LeaseCheckpoint;
import io.metastore.proto.etcdserverpb.LeaseCheckpointRequest;
import io.metastore.proto.etcdserverpb.LeaseCheckpointResponse;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrantResponse;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.LeaseRevokeResponse;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.raftcmd.LeaseRecord;
import io.metastore.server.etcd.EtcdError;
import io.metastore.storage.Event;
import io.metastore.storage.KeyValue;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.RangeQuery;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * etcd's lessor. The lease table is replicated state: grants, revokes and checkpoints change it only when
 * applied from the Raft log, so every member holds the same leases. Deadlines are not replicated: only
 * the leader keeps them (set on promotion and on renewal) and proposes revokes when they pass, as etcd does.
 */
public final class LeaseManager {
    public static final long MAX_TTL_SECONDS = 9_000_000_000L;
    private static final byte[] META_PREFIX = "lease/".getBytes(StandardCharsets.US_ASCII);

    private final MvccStore store;
    private final long minTtlSeconds;
    private final LongSupplier nanoClock;
    private final Map<Long, Lease> leases = new ConcurrentHashMap<>();
    /** etcd's lessor metrics: grants and revokes applied on this member, renewals this member (as leader) made. */
    private final java.util.concurrent.atomic.AtomicLong granted = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong revoked = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong renewed = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean primary;

    public LeaseManager(MvccStore store, long minTtlSeconds, LongSupplier nanoClock) {
        this.store = store;
        this.minTtlSeconds = minTtlSeconds;
        this.nanoClock = nanoClock;
    }

    public long minTtlSeconds() {
        return minTtlSeconds;
    }

    public boolean exists(long id) {
        return leases.containsKey(id);
    }

    // ---- replicated changes (Raft apply thread) ----

    public LeaseGrantResponse grant(MvccWriteTxn txn, LeaseGrantRequest r) {
        if (r.getTTL() > MAX_TTL_SECONDS) {
            throw EtcdError.LEASE_TTL_TOO_LARGE.toException();
        }
        if (leases.containsKey(r.getID())) {
            throw EtcdError.LEASE_EXIST.toException();
        }
        long ttl = Math.max(r.getTTL(), minTtlSeconds);
        Lease lease = new Lease(r.getID(), ttl, 0);
        lease.deadlineNanos = nanoClock.getAsLong() + TimeUnit.SECONDS.toNanos(ttl);
        txn.putMeta(metaKey(r.getID()), record(lease).toByteArray());
        leases.put(lease.id, lease);
        granted.incrementAndGet();
        return LeaseGrantResponse.newBuilder()
                .setHeader(ResponseHeader.newBuilder().setRevision(txn.writeRevision() - 1))
                .setID(lease.id).setTTL(ttl).build();
    }

    /** Deletes every attached key in one revision, then forgets the lease. */
    public LeaseRevokeResponse revoke(MvccWriteTxn txn, LeaseRevokeRequest r) {
        Lease lease = leases.get(r.getID());
        if (lease == null) {
            throw EtcdError.LEASE_NOT_FOUND.toException();
        }
        for (byte[] key : lease.keys()) {
            txn.deleteRange(key, KeyValue.EMPTY);
        }
        txn.deleteMeta(metaKey(lease.id));
        leases.remove(lease.id);
        revoked.incrementAndGet();
        long rev = txn.changes().isEmpty() ? txn.writeRevision() - 1 : txn.writeRevision();
        return LeaseRevokeResponse.newBuilder().setHeader(ResponseHeader.newBuilder().setRevision(rev)).build();
    }

    public LeaseCheckpointResponse checkpoint(MvccWriteTxn txn, LeaseCheckpointRequest r) {
        for (LeaseCheckpoint cp : r.getCheckpointsList()) {
            Lease lease = leases.get(cp.getID());
            if (lease == null) {
                continue;
            }
            lease.checkpointedRemaining = cp.getRemainingTTL();
            txn.putMeta(metaKey(lease.id), record(lease).toByteArray());
        }
        return LeaseCheckpointResponse.newBuilder()
                .setHeader(ResponseHeader.newBuilder().setRevision(txn.writeRevision() - 1)).build();
    }

    /** Keeps key attachments in step with committed key changes. */
    public void onCommitted(List<Event> events) {
        for (Event e : events) {
            KeyValue prev = e.prevKv();
            long newLease = e.type() == Event.Type.PUT ? e.kv().lease() : 0;
            if (prev != null && prev.lease() != 0 && prev.lease() != newLease) {
                Lease old = leases.get(prev.lease());
                if (old != null) {
                    old.detach(e.kv().key());
                }
            }
            if (newLease != 0) {
                Lease lease = leases.get(newLease);
                if (lease != null) {
                    lease.attach(e.kv().key());
                }
            }
        }
    }

    /** Rebuilds the table from the store (start, snapshot install). */
    public void reload() {
        leases.clear();
        long now = nanoClock.getAsLong();
        store.scanMeta(META_PREFIX, (k, v) -> {
            try {
                LeaseRecord rec = LeaseRecord.parseFrom(v);
                Lease lease = new Lease(rec.getId(), rec.getTtl(), rec.getRemainingTtl());
                lease.deadlineNanos = now + TimeUnit.SECONDS.toNanos(restartRemaining(lease));
                leases.put(lease.id, lease);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("corrupt lease record", e);
            }
        });
        var all = store.range(RangeQuery.of(new byte[] {0}, new byte[] {0}).withKeysOnly(true));
        for (KeyValue kv : all.kvs()) {
            if (kv.lease() != 0) {
                Lease lease = leases.get(kv.lease());
                if (lease != null) {
                    lease.attach(kv.key());
                }
            }
        }
    }

    // ---- leader-only duties ----

    /** On becoming leader: every lease gets its remaining (or full) TTL plus {@code extension}, as etcd's Promote. */
    public void promote(long extensionNanos) {
        long now = nanoClock.getAsLong();
        for (Lease lease : leases.values()) {
            lease.deadlineNanos = now + TimeUnit.SECONDS.toNanos(restartRemaining(lease)) + extensionNanos;
            lease.revoking = false;
        }
        primary = true;
    }

    public void demote() {
        primary = false;
    }

    public boolean isPrimary() {
        return primary;
    }

    /** A detected stall (e.g. a long GC pause) must not revoke every lease at once: push deadlines out. */
    public void extendAll(long nanos) {
        for (Lease lease : leases.values()) {
            lease.deadlineNanos += nanos;
        }
    }

    /**
     * KeepAlive: the granted TTL, or 0 when the lease is unknown or its revoke is under way. A lease whose
     * deadline just passed but whose revoke has not been proposed yet is still alive in the replicated state,
     * so it is renewed (etcd would make the caller wait for the revoke instead). The lease's monitor orders
     * this against {@link #takeExpired}: either the renewal wins or the revoke does, never both.
     */
    public long renew(long id) {
        Lease lease = leases.get(id);
        if (lease == null) {
            return 0;
        }
        synchronized (lease) {
            if (lease.revoking) {
                return 0;
            }
            lease.deadlineNanos = nanoClock.getAsLong() + TimeUnit.SECONDS.toNanos(lease.ttlSeconds);
            renewed.incrementAndGet();
            return lease.ttlSeconds;
        }
    }

    public record TimeToLive(long id, long remainingSeconds, long grantedSeconds, List<byte[]> keys) {}

    /** Null when the lease does not exist. */
    public TimeToLive timeToLive(long id, boolean withKeys) {
        Lease lease = leases.get(id);
        if (lease == null) {
            return null;
        }
        long remaining = TimeUnit.NANOSECONDS.toSeconds(lease.remainingNanos(nanoClock.getAsLong()));
        return new TimeToLive(id, remaining, lease.ttlSeconds, withKeys ? lease.keys() : List.of());
    }

    public long grantedTotal() {
        return granted.get();
    }

    public long revokedTotal() {
        return revoked.get();
    }

    public long renewedTotal() {
        return renewed.get();
    }

    /** Leases in the replicated table now. */
    public int count() {
        return leases.size();
    }

    public List<Long> ids() {
        return new ArrayList<>(leases.keySet());
    }

    /** Expired leases not yet being revoked, at most {@code max}; marks them as being revoked. */
    public List<Long> takeExpired(int max) {
        long now = nanoClock.getAsLong();
        List<Long> out = new ArrayList<>();
        for (Lease lease : leases.values()) {
            if (out.size() >= max) {
                break;
            }
            synchronized (lease) {
                if (!lease.revoking && lease.deadlineNanos - now <= 0) {
                    lease.revoking = true;
                    out.add(lease.id);
                }
            }
        }
        return out;
    }

    /** A revoke proposal failed: let the expiry loop try again. */
    public void revokeFailed(long id) {
        Lease lease = leases.get(id);
        if (lease != null) {
            lease.revoking = false;
        }
    }

    /** Remaining TTLs that moved by more than {@code minDriftSeconds} since their last checkpoint. */
    public List<LeaseCheckpoint> checkpointsDue(long minDriftSeconds, int max) {
        long now = nanoClock.getAsLong();
        List<LeaseCheckpoint> out = new ArrayList<>();
        for (Lease lease : leases.values()) {
            if (out.size() >= max) {
                break;
            }
            long remaining = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(lease.remainingNanos(now)));
            long last = lease.checkpointedRemaining == 0 ? lease.ttlSeconds : lease.checkpointedRemaining;
            if (!lease.revoking && Math.abs(last - remaining) > minDriftSeconds) {
                out.add(LeaseCheckpoint.newBuilder().setID(lease.id).setRemainingTTL(remaining).build());
            }
        }
        return out;
    }

    private static long restartRemaining(Lease lease) {
        long cp = lease.checkpointedRemaining;
        return cp > 0 && cp < lease.ttlSeconds ? cp : lease.ttlSeconds;
    }

    private static LeaseRecord record(Lease lease) {
        return LeaseRecord.newBuilder().setId(lease.id).setTtl(lease.ttlSeconds)
                .setRemainingTtl(lease.checkpointedRemaining).build();
    }

    private static byte[] metaKey(long id) {
        return ByteBuffer.allocate(META_PREFIX.length + 8).put(META_PREFIX).putLong(id).array();
    }
}
