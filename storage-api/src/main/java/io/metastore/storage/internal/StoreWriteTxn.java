package io.metastore.storage.internal;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.Bytes;
import io.metastore.storage.Event;
import io.metastore.storage.KeyValue;
import io.metastore.storage.MvccException;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.RangeQuery;
import io.metastore.storage.RangeResult;
import io.metastore.storage.spi.BackendReader;
import io.metastore.storage.spi.StoredVersion;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * etcd's write transaction semantics (version/create/mod bookkeeping, tombstones, events) over a
 * {@link WriteOverlay}. Persisting and publishing is the {@link Host}'s job, so that every commit of the
 * store goes through one place.
 */
public final class StoreWriteTxn implements MvccWriteTxn {

    /** What the store provides to its transactions. */
    public interface Host {
        long compactRevision();

        /** Persists {@code txn} atomically with {@code applied} and publishes its revision. */
        void commit(StoreWriteTxn txn, AppliedIndex applied);

        /** The transaction was committed or discarded; another one may begin. */
        void finished(StoreWriteTxn txn);
    }

    private enum State { OPEN, COMMITTED, CLOSED }

    private final Host host;
    private final BackendReader reader;
    private final long baseRevision;
    private final WriteOverlay overlay = new WriteOverlay();
    private final List<Event> changes = new ArrayList<>();
    /** Pending metadata; a null value is a delete. */
    private final NavigableMap<byte[], byte[]> metaChanges = new TreeMap<>(Bytes::compare);
    private State state = State.OPEN;

    public StoreWriteTxn(Host host, BackendReader reader, long baseRevision) {
        this.host = host;
        this.reader = reader;
        this.baseRevision = baseRevision;
    }

    @Override
    public long writeRevision() {
        return baseRevision + 1;
    }

    /** The revision reads inside the transaction observe: the write revision once something changed. */
    private long readRevision() {
        return overlay.isEmpty() ? baseRevision : writeRevision();
    }

    @Override
    public RangeResult range(RangeQuery q) {
        checkOpen();
        long txnRevision = readRevision();
        long rev = q.revision() <= 0 ? txnRevision : q.revision();
        if (rev > txnRevision) {
            throw new MvccException.FutureRevision();
        }
        long compactRevision = host.compactRevision();
        if (rev < compactRevision) {
            throw new MvccException.Compacted(compactRevision);
        }
        // A read at or above the compact revision never loses versions to physical removal, which only
        // touches versions superseded at or below it; so no history lock is needed on the writer thread.
        LiveScan source = rev == txnRevision
                ? overlay.over(LiveScan.committed(reader, baseRevision))
                : LiveScan.committed(reader, rev);
        return RangeEvaluator.evaluate(q, source, txnRevision);
    }

    @Override
    public KeyValue get(byte[] key) {
        checkOpen();
        return latestLive(key);
    }

    @Override
    public KeyValue put(byte[] key, byte[] value, long lease) {
        checkOpen();
        if (key == null || key.length == 0) {
            throw new IllegalArgumentException("key is not provided");
        }
        boolean untouched = overlay.pending(key) == null;
        KeyValue prev = latestLive(key);
        long rev = writeRevision();
        KeyValue kv = prev == null
                ? new KeyValue(key, value, rev, rev, 1, lease)
                : new KeyValue(key, value, prev.createRevision(), rev, prev.version() + 1, lease);
        // only the first write of a key in the transaction tells whether it was live before
        overlay.record(new StoredVersion(kv, overlay.nextSub(), false), untouched && prev != null);
        changes.add(new Event(Event.Type.PUT, kv, prev));
        return prev;
    }

    @Override
    public List<KeyValue> deleteRange(byte[] key, byte[] rangeEnd) {
        checkOpen();
        List<KeyValue> deleted = new ArrayList<>();
        overlay.over(LiveScan.committed(reader, baseRevision)).scan(key, rangeEnd, deleted::add);
        for (KeyValue prev : deleted) {
            // a key the scan found live without a pending version was live in the committed data
            boolean wasLive = overlay.pending(prev.key()) == null;
            StoredVersion tombstone = StoredVersion.tombstone(prev.key(), writeRevision(), overlay.nextSub());
            overlay.record(tombstone, wasLive);
            changes.add(new Event(Event.Type.DELETE, tombstone.kv(), prev));
        }
        return Collections.unmodifiableList(deleted);
    }

    /** @param key never starting with byte 0x00: that prefix is reserved for the store's own bookkeeping */
    @Override
    public void putMeta(byte[] key, byte[] value) {
        checkOpen();
        Bookkeeping.checkApplicationKey(key);
        metaChanges.put(key, value == null ? KeyValue.EMPTY : value);
    }

    /** @param key never starting with byte 0x00: that prefix is reserved for the store's own bookkeeping */
    @Override
    public void deleteMeta(byte[] key) {
        checkOpen();
        Bookkeeping.checkApplicationKey(key);
        metaChanges.put(key, null);
    }

    @Override
    public List<Event> changes() {
        return Collections.unmodifiableList(changes);
    }

    @Override
    public void commit(AppliedIndex applied) {
        checkOpen();
        host.commit(this, applied);
        state = State.COMMITTED;
        host.finished(this);
    }

    @Override
    public void close() {
        if (state == State.OPEN) {
            state = State.CLOSED;
            host.finished(this);
        }
    }

    // ---- what the host persists ----

    public boolean changesKeySpace() {
        return !overlay.isEmpty();
    }

    public List<StoredVersion> writes() {
        return overlay.writes();
    }

    /** Pending metadata in key order; a null value means delete. */
    public NavigableMap<byte[], byte[]> metaChanges() {
        return Collections.unmodifiableNavigableMap(metaChanges);
    }

    public long liveKeyDelta() {
        return overlay.liveKeyDelta();
    }

    private KeyValue latestLive(byte[] key) {
        StoredVersion pending = overlay.pending(key);
        StoredVersion v = pending != null ? pending : reader.latest(key, baseRevision);
        return v == null || v.tombstone() ? null : v.kv();
    }

    private void checkOpen() {
        if (state != State.OPEN) {
            throw new IllegalStateException("write transaction already " + state.name().toLowerCase());
        }
    }
}
