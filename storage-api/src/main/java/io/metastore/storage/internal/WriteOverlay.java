package io.metastore.storage.internal;

import io.metastore.storage.Bytes;
import io.metastore.storage.KeyValue;
import io.metastore.storage.spi.StoredVersion;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The pending versions of one write transaction: every write in call order (what the batch persists and
 * watchers receive) plus, per key, the newest pending version (what reads inside the transaction see on
 * top of the committed data).
 */
public final class WriteOverlay {
    private final List<StoredVersion> writes = new ArrayList<>();
    private final NavigableMap<byte[], StoredVersion> latest = new TreeMap<>(Bytes::compare);
    /** Whether each touched key was live before the transaction, for the incremental live-key count. */
    private final NavigableMap<byte[], Boolean> liveBefore = new TreeMap<>(Bytes::compare);

    public boolean isEmpty() {
        return writes.isEmpty();
    }

    /** The sub-revision the next write gets. */
    public long nextSub() {
        return writes.size();
    }

    /** Newest pending version of {@code key} (possibly a tombstone), or null if untouched. */
    public StoredVersion pending(byte[] key) {
        return latest.get(key);
    }

    /** @param wasLive whether the key was live before the transaction; only the first write of a key counts */
    public void record(StoredVersion v, boolean wasLive) {
        writes.add(v);
        latest.put(v.key(), v);
        liveBefore.putIfAbsent(v.key(), wasLive);
    }

    public List<StoredVersion> writes() {
        return Collections.unmodifiableList(writes);
    }

    /** Change in the number of live keys if the transaction commits. */
    public long liveKeyDelta() {
        long delta = 0;
        for (var e : liveBefore.entrySet()) {
            boolean liveAfter = !latest.get(e.getKey()).tombstone();
            delta += (liveAfter ? 1 : 0) - (e.getValue() ? 1 : 0);
        }
        return delta;
    }

    /** {@code committed} with this overlay's pending versions merged in (pending wins, tombstones hide). */
    public LiveScan over(LiveScan committed) {
        return (start, end, visitor) -> {
            if (latest.isEmpty()) {
                committed.scan(start, end, visitor);
                return;
            }
            Merger merger = new Merger(KeyInterval.slice(latest, start, end).values().iterator(), visitor);
            committed.scan(start, end, merger::committed);
            merger.drain();
        };
    }

    /** Merge-join of a pushed, key-ordered committed scan with the pulled, key-ordered pending entries. */
    private static final class Merger {
        private final Iterator<StoredVersion> pending;
        private final Predicate<KeyValue> visitor;
        private StoredVersion next;
        private boolean stopped;

        Merger(Iterator<StoredVersion> pending, Predicate<KeyValue> visitor) {
            this.pending = pending;
            this.visitor = visitor;
            advance();
        }

        boolean committed(KeyValue kv) {
            while (next != null && Bytes.compare(next.key(), kv.key()) < 0) {
                if (!emitPending()) {
                    return false;
                }
            }
            if (next != null && Bytes.compare(next.key(), kv.key()) == 0) {
                return emitPending();
            }
            return emit(kv);
        }

        void drain() {
            while (!stopped && next != null) {
                emitPending();
            }
        }

        private boolean emitPending() {
            StoredVersion v = next;
            advance();
            return v.tombstone() || emit(v.kv());
        }

        private boolean emit(KeyValue kv) {
            if (!visitor.test(kv)) {
                stopped = true;
            }
            return !stopped;
        }

        private void advance() {
            next = pending.hasNext() ? pending.next() : null;
        }
    }
}
