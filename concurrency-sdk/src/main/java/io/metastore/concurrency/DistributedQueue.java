package io.metastore.concurrency;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A multi-producer, multi-consumer FIFO queue (etcd's {@code recipes.Queue}): each item is a key under
 * {@code <prefix>/}, ordered by create revision, i.e. by the order the server committed the enqueues. Each item
 * is delivered to exactly one consumer (claimed by a delete guarded on its mod revision); an item is gone once
 * dequeued, so a consumer that crashes after {@code dequeue} loses it (at-most-once). Items have no lease and
 * survive their producer. Thread-safe.
 */
public final class DistributedQueue extends KeyQueue {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    public DistributedQueue(EtcdConnection conn, String prefix) {
        super(conn, Ops.bytes(prefix + "/"), Ops.firstCreated(Ops.bytes(prefix + "/")));
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
}
