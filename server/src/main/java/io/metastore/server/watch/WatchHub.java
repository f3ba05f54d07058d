package io.metastore.server.watch;

import io.metastore.storage.Bytes;
import io.metastore.storage.Event;
import io.metastore.storage.MvccException;
import io.metastore.storage.MvccStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * etcd's watchable store: watchers that are caught up ("synced") get each applied revision pushed to them
 * by {@link #notify}; watchers that start in the past, or whose stream could not take more ("victims"),
 * are "unsynced" and caught up from store history by one background thread, then become synced again.
 *
 * <p>Every watcher keeps the lowest revision it has not been sent ({@code nextRev}); a revision is only
 * ever delivered at or above it, so the hand-over between history and live notifications can neither skip
 * nor repeat an event.
 */
public final class WatchHub implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WatchHub.class);
    /** etcd's watchBatchMaxRevs and maxWatchersPerSync. */
    static final int MAX_REVISIONS_PER_BATCH = 1000;
    static final int MAX_WATCHERS_PER_SYNC = 512;

    private final MvccStore store;
    private final Duration progressInterval;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition syncWanted = lock.newCondition();
    private final Map<ByteBuffer, Set<Watcher>> syncedByKey = new HashMap<>();
    private final Set<Watcher> syncedRanges = new LinkedHashSet<>();
    private final Set<Watcher> unsynced = new LinkedHashSet<>();
    private final Set<WatchStream> streams = new HashSet<>();
    private long lastNotified;
    private boolean syncRequested;
    private volatile boolean closed;
    private final Thread syncThread;
    private final Thread progressThread;

    private final long maxWatchers;
    /** Watchers of all streams (guarded by lock). */
    private long liveWatchers;

    public WatchHub(MvccStore store, Duration progressInterval) {
        this(store, progressInterval, 0);
    }

    /** @param maxWatchers the most watchers this member keeps at once over all streams; 0 for no limit */
    public WatchHub(MvccStore store, Duration progressInterval, long maxWatchers) {
        this.maxWatchers = maxWatchers;
        this.store = store;
        this.progressInterval = progressInterval;
        this.lastNotified = store.currentRevision();
        this.syncThread = new Thread(this::syncLoop, "watch-sync");
        this.syncThread.setDaemon(true);
        this.syncThread.start();
        this.progressThread = new Thread(this::progressLoop, "watch-progress");
        this.progressThread.setDaemon(true);
        this.progressThread.start();
    }

    public WatchStream openStream(WatchSink sink) {
        WatchStream s = new WatchStream(this, sink);
        lock.lock();
        try {
            streams.add(s);
        } finally {
            lock.unlock();
        }
        return s;
    }

    /** The message a create request gets once the member holds --max-watchers watchers. */
    public static final String TOO_MANY_WATCHERS = "etcdserver: too many watchers";

    public int watcherCount() {
        lock.lock();
        try {
            return (int) liveWatchers; // kept with every add and remove, for --max-watchers
        } finally {
            lock.unlock();
        }
    }

    /** Watchers behind the store that are catching up from history (etcd's slow watchers). */
    public int slowWatcherCount() {
        lock.lock();
        try {
            return unsynced.size();
        } finally {
            lock.unlock();
        }
    }

    /** Called on the apply thread after the revision's transaction is committed and published. */
    public void notify(List<Event> events, long revision) {
        lock.lock();
        try {
            lastNotified = Math.max(lastNotified, revision);
            if (!events.isEmpty()) {
                deliver(events, revision);
            }
            flushPendingProgress();
        } finally {
            lock.unlock();
        }
    }

    /** The store content was replaced (snapshot install): every watcher must re-read from history. */
    public void reset() {
        lock.lock();
        try {
            lastNotified = store.currentRevision();
            for (WatchStream s : streams) {
                for (Watcher w : s.watchers.values()) {
                    if (w.synced) {
                        markUnsynced(w);
                    }
                }
            }
            wakeSyncLocked();
        } finally {
            lock.unlock();
        }
    }

    private void deliver(List<Event> events, long revision) {
        Map<Watcher, List<Event>> matched = new LinkedHashMap<>();
        for (Event e : events) {
            Set<Watcher> exact = syncedByKey.get(ByteBuffer.wrap(e.kv().key()));
            if (exact != null) {
                for (Watcher w : exact) {
                    matched.computeIfAbsent(w, x -> new ArrayList<>()).add(e);
                }
            }
            for (Watcher w : syncedRanges) {
                if (w.matches(e.kv().key())) {
                    matched.computeIfAbsent(w, x -> new ArrayList<>()).add(e);
                }
            }
        }
        List<Watcher> victims = null;
        for (Map.Entry<Watcher, List<Event>> m : matched.entrySet()) {
            Watcher w = m.getKey();
            List<Event> selected = w.select(m.getValue());
            if (selected.isEmpty()) {
                continue;
            }
            if (w.stream.offerEvents(WatchMessage.events(w, revision, selected))) {
                w.nextRev = revision + 1;
                w.sentSinceTick = true;
            } else {
                if (victims == null) {
                    victims = new ArrayList<>();
                }
                victims.add(w);
            }
        }
        if (victims != null) {
            for (Watcher w : victims) {
                w.nextRev = revision;
                markUnsynced(w);
            }
            wakeSyncLocked();
        }
    }

    void refuse(WatchStream s, String reason) {
        lock.lock();
        try {
            s.enqueueControl(WatchMessage.createFailed(store.currentRevision(), reason));
        } finally {
            lock.unlock();
        }
    }

    void create(WatchStream s, WatchRequestSpec spec) {
        lock.lock();
        try {
            long current = store.currentRevision();
            if (spec.rangeEnd().length > 0 && !Bytes.isOpenEnd(spec.rangeEnd())
                    && Bytes.compare(spec.key(), spec.rangeEnd()) >= 0) {
                s.enqueueControl(WatchMessage.createFailed(current, "mvcc: watcher range is empty"));
                return;
            }
            if (spec.startRevision() < 0) {
                s.enqueueControl(WatchMessage.createFailed(current,
                        "etcdserver: mvcc: required revision has been compacted"));
                return;
            }
            if (maxWatchers > 0 && liveWatchers >= maxWatchers) {
                // refused like any other failed create (created + canceled with a reason), which every etcd
                // client already handles; the stream and its other watchers carry on
                s.enqueueControl(WatchMessage.createFailed(current, TOO_MANY_WATCHERS));
                return;
            }
            long id;
            if (spec.watchId() != 0) {
                if (s.watchers.containsKey(spec.watchId())) {
                    s.enqueueControl(WatchMessage.createFailed(current,
                            "mvcc: duplicate watch ID provided on the WatchStream"));
                    return;
                }
                id = spec.watchId();
            } else {
                id = s.allocateId();
            }
            long start = spec.startRevision() == 0 ? current + 1 : spec.startRevision();
            Watcher w = new Watcher(id, s, spec, start);
            s.watchers.put(id, w);
            liveWatchers++;
            s.enqueueControl(WatchMessage.created(id, current));
            if (start > lastNotified) {
                markSynced(w);
            } else {
                markUnsynced(w);
                wakeSyncLocked();
            }
        } finally {
            lock.unlock();
        }
    }

    void cancel(WatchStream s, long watchId) {
        lock.lock();
        try {
            Watcher w = s.watchers.remove(watchId);
            if (w == null) {
                return; // etcd answers nothing for an unknown watch ID
            }
            removeLocked(w);
            s.enqueueControl(WatchMessage.canceled(watchId, store.currentRevision()));
            flushPendingProgress();
        } finally {
            lock.unlock();
        }
    }

    void requestProgress(WatchStream s) {
        lock.lock();
        try {
            s.progressPending = true;
            flushPendingProgress();
        } finally {
            lock.unlock();
        }
    }

    void closeStream(WatchStream s) {
        lock.lock();
        try {
            streams.remove(s);
            for (Watcher w : s.watchers.values()) {
                removeLocked(w);
            }
            s.watchers.clear();
        } finally {
            lock.unlock();
        }
    }

    /** A RequestProgress is answered only once every watcher of its stream is synced (etcd's guarantee). */
    private void flushPendingProgress() {
        for (WatchStream s : streams) {
            if (!s.progressPending) {
                continue;
            }
            boolean allSynced = true;
            for (Watcher w : s.watchers.values()) {
                if (!w.synced) {
                    allSynced = false;
                    break;
                }
            }
            if (allSynced) {
                s.progressPending = false;
                s.enqueueControl(WatchMessage.progress(-1, lastNotified));
            }
        }
    }

    private void markSynced(Watcher w) {
        w.synced = true;
        unsynced.remove(w);
        if (w.isSingleKey()) {
            syncedByKey.computeIfAbsent(ByteBuffer.wrap(w.key), k -> new LinkedHashSet<>()).add(w);
        } else {
            syncedRanges.add(w);
        }
    }

    private void markUnsynced(Watcher w) {
        removeFromSynced(w);
        w.synced = false;
        unsynced.add(w);
    }

    private void removeLocked(Watcher w) {
        if (!w.closed) {
            liveWatchers--;
        }
        w.closed = true;
        removeFromSynced(w);
        unsynced.remove(w);
    }

    private void removeFromSynced(Watcher w) {
        if (w.isSingleKey()) {
            Set<Watcher> set = syncedByKey.get(ByteBuffer.wrap(w.key));
            if (set != null) {
                set.remove(w);
                if (set.isEmpty()) {
                    syncedByKey.remove(ByteBuffer.wrap(w.key));
                }
            }
        } else {
            syncedRanges.remove(w);
        }
    }

    void wakeSync() {
        lock.lock();
        try {
            wakeSyncLocked();
        } finally {
            lock.unlock();
        }
    }

    private void wakeSyncLocked() {
        syncRequested = true;
        syncWanted.signal();
    }

    // ---- catching up unsynced watchers from history ----

    private void syncLoop() {
        while (!closed) {
            try {
                List<Watcher> batch = awaitBatch();
                if (batch != null && !batch.isEmpty()) {
                    catchUp(batch);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("watch sync pass failed", e);
            }
        }
    }

    /** Waits until there is work (or 100 ms pass, etcd's resync period), then picks watchers with room. */
    private List<Watcher> awaitBatch() throws InterruptedException {
        lock.lock();
        try {
            if (!syncRequested) {
                syncWanted.await(100, TimeUnit.MILLISECONDS);
            }
            syncRequested = false;
            List<Watcher> batch = new ArrayList<>();
            for (Watcher w : unsynced) {
                if (batch.size() >= MAX_WATCHERS_PER_SYNC) {
                    break;
                }
                if (w.stream.hasRoom()) {
                    batch.add(w);
                }
            }
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private void catchUp(List<Watcher> batch) {
        long target;
        lock.lock();
        try {
            target = lastNotified;
        } finally {
            lock.unlock();
        }
        long compactRev = store.compactRevision();
        long from = Long.MAX_VALUE;
        boolean needPrev = false;
        List<Watcher> live = new ArrayList<>();
        for (Watcher w : batch) {
            if (w.closed) {
                continue;
            }
            if (w.nextRev < compactRev) {
                cancelCompacted(w, compactRev);
                continue;
            }
            live.add(w);
            if (w.nextRev <= target) {
                from = Math.min(from, w.nextRev);
                needPrev |= w.prevKv;
            }
        }
        if (from <= target) {
            long to = Math.min(target, from + MAX_REVISIONS_PER_BATCH - 1);
            List<Event> events;
            try {
                events = store.events(from, to, MAX_REVISIONS_PER_BATCH, needPrev);
            } catch (MvccException.Compacted e) {
                wakeSync(); // compacted meanwhile: the next pass cancels the affected watchers
                return;
            }
            long batchEnd = events.isEmpty() ? to : Math.max(to, events.get(events.size() - 1).revision());
            for (Watcher w : live) {
                if (w.nextRev > batchEnd) {
                    continue;
                }
                List<Event> selected = w.select(events);
                if (!selected.isEmpty() && !w.stream.offerEvents(WatchMessage.events(w, target, selected))) {
                    continue; // stream full again: retry from the same revision later
                }
                if (!selected.isEmpty()) {
                    w.sentSinceTick = true;
                }
                w.nextRev = batchEnd + 1;
            }
        }
        promoteCaughtUp(live);
    }

    private void promoteCaughtUp(List<Watcher> live) {
        lock.lock();
        try {
            boolean more = false;
            for (Watcher w : live) {
                if (w.closed || w.synced) {
                    continue;
                }
                if (w.nextRev > lastNotified) {
                    markSynced(w);
                } else {
                    more = true;
                }
            }
            if (more) {
                wakeSyncLocked();
            }
            flushPendingProgress();
        } finally {
            lock.unlock();
        }
    }

    private void cancelCompacted(Watcher w, long compactRev) {
        lock.lock();
        try {
            if (w.stream.watchers.remove(w.id, w)) {
                removeLocked(w);
                w.stream.enqueueControl(WatchMessage.compacted(w.id, compactRev));
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- progress notifications ----

    private void progressLoop() {
        long intervalNanos = progressInterval.toNanos();
        while (!closed) {
            try {
                TimeUnit.NANOSECONDS.sleep(intervalNanos);
                sendProgressNotifications();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("watch progress pass failed", e);
            }
        }
    }

    /** Synced watchers with progress_notify that saw no event during the last interval get an empty response. */
    void sendProgressNotifications() {
        lock.lock();
        try {
            for (WatchStream s : streams) {
                for (Watcher w : s.watchers.values()) {
                    if (!w.progressNotify) {
                        continue;
                    }
                    if (w.synced && !w.sentSinceTick) {
                        s.enqueueControl(WatchMessage.progress(w.id, lastNotified));
                    }
                    w.sentSinceTick = false;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        syncThread.interrupt();
        progressThread.interrupt();
        try {
            syncThread.join(2000);
            progressThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
