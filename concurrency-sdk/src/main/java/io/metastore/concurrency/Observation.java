package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.mvccpb.Event;
import io.metastore.proto.mvccpb.KeyValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * A running {@link Election#observe} (Go's {@code Election.Observe}): reports the leader's key-value whenever the
 * leadership or the leader's proclamation changes. It reads the first-created key, reports it, then watches that
 * key: each PUT is a new proclamation, its DELETE means a new leader is due, so it reads again. With no candidate
 * it watches the prefix for the first PUT. Broken or compacted watches are recovered by re-reading; a leader seen
 * twice that way (same key and mod revision) is reported once.
 */
public final class Observation implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Observation.class);
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final Object BROKEN = new Object();

    private final EtcdConnection conn;
    private final ByteString prefix;
    private final BiConsumer<ResponseHeader, KeyValue> listener;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile WatchStream following;
    private KeyValue lastReported;

    private Observation(EtcdConnection conn, ByteString prefix, BiConsumer<ResponseHeader, KeyValue> listener) {
        this.conn = conn;
        this.prefix = prefix;
        this.listener = listener;
        this.thread = new Thread(this::run, "election-observer-" + IDS.incrementAndGet());
        this.thread.setDaemon(true);
    }

    static Observation start(EtcdConnection conn, ByteString prefix, BiConsumer<ResponseHeader, KeyValue> listener) {
        Observation o = new Observation(conn, prefix, listener);
        o.thread.start();
        return o;
    }

    /**
     * Completes normally after {@link #close()}, exceptionally if observing failed for good (e.g. permission
     * denied, or the listener threw).
     */
    public CompletableFuture<Void> stopped() {
        return stopped;
    }

    /** Stops observing and waits (briefly) for the observer thread to finish. */
    @Override
    public void close() {
        closed = true;
        WatchStream w = following;
        if (w != null) {
            w.cancel();
        }
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (!closed) {
                try {
                    observeOneLeader();
                } catch (RuntimeException e) {
                    if (closed || !Waits.retryable(e)) {
                        throw e;
                    }
                    Thread.sleep(200); // cluster unavailable for a moment: keep observing
                }
            }
            stopped.complete(null);
        } catch (InterruptedException e) {
            stopped.complete(null);
        } catch (RuntimeException | Error e) {
            if (closed) {
                stopped.complete(null);
            } else {
                LOG.warn("election observer on {} stopped: {}", prefix.toStringUtf8(), e.toString());
                stopped.completeExceptionally(e);
            }
        }
    }

    /** Reports the current (or next) leader and follows its key until it is deleted or the watch breaks. */
    private void observeOneLeader() throws InterruptedException {
        RangeResponse r = conn.kv().range(Ops.firstCreated(prefix));
        KeyValue kv;
        long seenAt;
        if (r.getKvsCount() == 0) {
            Event first = awaitFirstPut(r.getHeader().getRevision() + 1);
            if (first == null) {
                return; // watch broke: read again
            }
            kv = first.getKv();
            seenAt = kv.getModRevision();
            // as Go: the revision this report reflects is the candidate's put, not the end of its watch response
            report(r.getHeader().toBuilder().setRevision(seenAt).build(), kv);
        } else {
            kv = r.getKvs(0);
            seenAt = r.getHeader().getRevision();
            report(r.getHeader(), kv);
        }

        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        WatchStream w = WatchStream.open(conn, kv.getKey(), ByteString.EMPTY, seenAt + 1, resp -> {
            for (Event e : resp.getEventsList()) {
                events.add(new HeadedEvent(resp.getHeader(), e));
            }
        });
        w.ended().whenComplete((v, t) -> events.add(BROKEN));
        following = w;
        try {
            while (!closed) {
                Object next = events.take();
                if (next == BROKEN) {
                    // compacted, server restart, leader change of the cluster...: re-read after a short pause
                    Thread.sleep(100);
                    return;
                }
                HeadedEvent e = (HeadedEvent) next;
                if (e.event().getType() == Event.EventType.DELETE) {
                    return; // leadership moves on
                }
                report(e.header(), e.event().getKv());
            }
        } finally {
            following = null;
            w.cancel();
        }
    }

    private Event awaitFirstPut(long fromRevision) throws InterruptedException {
        try {
            return Waits.awaitEventOrStale(conn, prefix, Ops.prefixEnd(prefix), fromRevision,
                    e -> e.getType() == Event.EventType.PUT, Deadline.NONE, null);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no deadline", e);
        }
    }

    private record HeadedEvent(ResponseHeader header, Event event) {
    }

    private void report(ResponseHeader header, KeyValue kv) {
        if (lastReported != null && lastReported.getKey().equals(kv.getKey())
                && lastReported.getModRevision() == kv.getModRevision()) {
            return;
        }
        lastReported = kv;
        if (!closed) {
            listener.accept(header, kv);
        }
    }
}
