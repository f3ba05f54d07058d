package io.metastore.server.watch;

import io.metastore.storage.Bytes;
import io.metastore.storage.Event;

import java.util.ArrayList;
import java.util.List;

/** One watch on a stream: what it matches and how far it has been delivered. */
final class Watcher {
    final long id;
    final WatchStream stream;
    final byte[] key;
    /** etcd interval end: empty = single key, "\0" = all keys >= key. */
    final byte[] end;
    final boolean noPut;
    final boolean noDelete;
    final boolean prevKv;
    final boolean progressNotify;
    final boolean fragment;

    /** Lowest revision not yet delivered; guarded by the hub lock while synced. */
    long nextRev;
    boolean synced;
    boolean closed;
    /** Set when events were sent since the last progress tick (etcd skips the notification then). */
    volatile boolean sentSinceTick;

    Watcher(long id, WatchStream stream, WatchRequestSpec spec, long startRev) {
        this.id = id;
        this.stream = stream;
        this.key = spec.key();
        this.end = spec.rangeEnd();
        this.noPut = spec.noPut();
        this.noDelete = spec.noDelete();
        this.prevKv = spec.prevKv();
        this.progressNotify = spec.progressNotify();
        this.fragment = spec.fragment();
        this.nextRev = startRev;
    }

    boolean isSingleKey() {
        return end.length == 0;
    }

    boolean matches(byte[] k) {
        return Bytes.inRange(k, key, end);
    }

    /** The events this watcher wants among {@code events}, all of revision >= nextRev. */
    List<Event> select(List<Event> events) {
        List<Event> out = null;
        for (Event e : events) {
            if (e.revision() < nextRev || !matches(e.kv().key())) {
                continue;
            }
            if ((e.type() == Event.Type.PUT && noPut) || (e.type() == Event.Type.DELETE && noDelete)) {
                continue;
            }
            if (out == null) {
                out = new ArrayList<>();
            }
            out.add(e);
        }
        return out == null ? List.of() : out;
    }
}
