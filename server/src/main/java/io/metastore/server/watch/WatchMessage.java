package io.metastore.server.watch;

import io.metastore.storage.Event;

import java.util.List;

/**
 * One response on a watch stream, in domain terms. {@code revision} is the header revision etcd would send
 * (0 for a compaction cancel). {@code withPrevKv} tells the transport whether to include prev_kv.
 */
public record WatchMessage(long watchId, long revision, boolean created, boolean canceled, long compactRevision,
                           String cancelReason, List<Event> events, boolean withPrevKv, boolean fragmentable) {

    static WatchMessage created(long watchId, long revision) {
        return new WatchMessage(watchId, revision, true, false, 0, "", List.of(), false, false);
    }

    static WatchMessage createFailed(long revision, String reason) {
        return new WatchMessage(-1, revision, true, true, 0, reason, List.of(), false, false);
    }

    static WatchMessage canceled(long watchId, long revision) {
        return new WatchMessage(watchId, revision, false, true, 0, "", List.of(), false, false);
    }

    static WatchMessage compacted(long watchId, long compactRevision) {
        return new WatchMessage(watchId, 0, false, true, compactRevision,
                "etcdserver: mvcc: required revision has been compacted", List.of(), false, false);
    }

    static WatchMessage progress(long watchId, long revision) {
        return new WatchMessage(watchId, revision, false, false, 0, "", List.of(), false, false);
    }

    static WatchMessage events(Watcher w, long revision, List<Event> events) {
        return new WatchMessage(w.id, revision, false, false, 0, "", events, w.prevKv, w.fragment);
    }

    /** Approximate bytes, for the per-stream memory bound. */
    long weight() {
        long n = 64;
        for (Event e : events) {
            n += 48 + e.kv().key().length + e.kv().value().length;
            if (withPrevKv && e.prevKv() != null) {
                n += e.prevKv().key().length + e.prevKv().value().length;
            }
        }
        return n;
    }
}
