package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeRequest;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A multi-producer, multi-consumer FIFO queue (etcd's {@code recipes.Queue}): each item is a key under
 * {@code <prefix>/}, ordered by create revision, i.e. by the order the server committed the enqueues. Each item
 * is delivered to exactly one consumer (claimed by a delete guarded on its mod revision); an item is gone once
 * dequeued, so a consumer that crashes after {@code dequeue} loses it (at-most-once). Items have no lease and
 * survive their producer. Thread-safe.
 */
public final class DistributedQueue {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final EtcdConnection conn;
    private final ByteString prefix;
    private final RangeRequest head;

    public DistributedQueue(EtcdConnection conn, String prefix) {
        this.conn = conn;
        this.prefix = Ops.bytes(prefix + "/");
        this.head = Ops.firstCreated(this.prefix);
    }

    /** Appends {@code value}. */
    public void enqueue(String value) {
        // the name only has to be unique; order comes from the create revision
        String unique = Long.toHexString(System.currentTimeMillis()) + "-" + Long.toHexString(ProcessHandle.current().pid())
                + "-" + Long.toHexString(SEQUENCE.incrementAndGet()) + "-" + Long.toHexString(System.nanoTime());
        while (!Ops.putIfAbsent(conn, Ops.bytes(prefix.toStringUtf8() + unique), Ops.bytes(value), 0).getSucceeded()) {
            unique = unique + "x";
        }
    }

    /** Blocks until an item is available and takes it. */
    public String dequeue() throws InterruptedException {
        try {
            return QueueSupport.dequeue(conn, prefix, head, Deadline.NONE, true).orElseThrow();
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        }
    }

    /** Takes the next item, waiting at most {@code timeout}; empty if none came. */
    public Optional<String> dequeue(Duration timeout) throws InterruptedException {
        try {
            return QueueSupport.dequeue(conn, prefix, head, Deadline.after(timeout), true);
        } catch (TimeoutException e) {
            return Optional.empty();
        }
    }

    /** Takes the next item if there is one; never blocks. */
    public Optional<String> poll() {
        try {
            return QueueSupport.dequeue(conn, prefix, head, Deadline.NONE, false);
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("poll does not wait", e);
        }
    }
}
