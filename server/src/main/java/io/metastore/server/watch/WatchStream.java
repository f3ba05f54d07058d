package io.metastore.server.watch;

import io.metastore.server.fault.FailureContainment;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One client watch stream: its watchers and a bounded queue of outgoing messages. When the queue is full,
 * event deliveries are refused and the watcher falls back to catching up from history later, so a client
 * that stops reading costs bounded memory and never slows down writers or other streams.
 */
public final class WatchStream {
    static final int MAX_QUEUED_MESSAGES = 128;
    static final long MAX_QUEUED_BYTES = 8L * 1024 * 1024;

    private final WatchHub hub;
    private final WatchSink sink;
    final Map<Long, Watcher> watchers = new ConcurrentHashMap<>();
    private final ArrayDeque<WatchMessage> queue = new ArrayDeque<>();
    private long queuedBytes;
    private long nextAutoId;
    /** A RequestProgress that waits until every watcher of the stream is synced (guarded by the hub lock). */
    boolean progressPending;
    private volatile boolean closed;

    WatchStream(WatchHub hub, WatchSink sink) {
        this.hub = hub;
        this.sink = sink;
    }

    public void create(WatchRequestSpec spec) {
        hub.create(this, spec);
    }

    /** Answers a create request that was refused before reaching the hub (etcd: permission) with a cancel. */
    public void refuse(String reason) {
        hub.refuse(this, reason);
    }

    public void cancel(long watchId) {
        hub.cancel(this, watchId);
    }

    public void requestProgress() {
        hub.requestProgress(this);
    }

    /** The next message to send, or null. Called by the transport when it can write. */
    public WatchMessage poll() {
        WatchMessage m;
        synchronized (queue) {
            m = queue.poll();
            if (m != null) {
                queuedBytes -= m.weight();
            }
        }
        if (m != null && !m.events().isEmpty()) {
            hub.wakeSync();
        }
        return m;
    }

    public void close() {
        if (!closed) {
            closed = true;
            hub.closeStream(this);
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** Auto IDs count up from 0 per stream, skipping IDs the client chose (etcd's rule). */
    long allocateId() {
        while (watchers.containsKey(nextAutoId)) {
            nextAutoId++;
        }
        return nextAutoId++;
    }

    /** Control messages (created, canceled, progress) are tiny and always accepted, to keep them in order. */
    void enqueueControl(WatchMessage m) {
        synchronized (queue) {
            queue.add(m);
            queuedBytes += m.weight();
        }
        wakeSink();
    }

    /** Event messages are refused when the queue is full. */
    boolean offerEvents(WatchMessage m) {
        synchronized (queue) {
            if (queue.size() >= MAX_QUEUED_MESSAGES || queuedBytes >= MAX_QUEUED_BYTES) {
                return false;
            }
            queue.add(m);
            queuedBytes += m.weight();
        }
        wakeSink();
        return true;
    }

    /**
     * Tells the transport there is something to send. This runs on the apply thread: a transport that throws
     * must cost its own stream, never the member, so the stream is closed and the failure contained.
     */
    private void wakeSink() {
        try {
            sink.messagesAvailable();
        } catch (RuntimeException e) {
            FailureContainment.contained("watch-stream", e);
            close();
        }
    }

    /** Room for a catch-up batch: below half the bound, so victims do not flap. */
    boolean hasRoom() {
        synchronized (queue) {
            return queue.size() < MAX_QUEUED_MESSAGES / 2 && queuedBytes < MAX_QUEUED_BYTES / 2;
        }
    }
}
