package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.mvccpb.Event;
import io.metastore.proto.mvccpb.KeyValue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * The consumer side both queues share (etcd's recipes): read the head item, claim it with a delete guarded by its
 * mod revision (exactly one consumer wins it), and when the queue is empty wait — watch-based — for the next PUT
 * under the prefix, then read the head again (so the most urgent item wins even if several arrive at once). The
 * subclass decides the key layout (and so which item is the head) and how items are added.
 */
public abstract class KeyQueue {
    final EtcdConnection conn;
    final ByteString prefix;
    private final RangeRequest head;

    KeyQueue(EtcdConnection conn, ByteString prefix, RangeRequest head) {
        this.conn = conn;
        this.prefix = prefix;
        this.head = head;
    }

    /** Blocks until an item is available and takes the head item. */
    public String dequeue() throws InterruptedException {
        try {
            return take(Deadline.NONE, true).orElseThrow();
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        }
    }

    /** Takes the head item, waiting at most {@code timeout}; empty if none came. */
    public Optional<String> dequeue(Duration timeout) throws InterruptedException {
        try {
            return take(Deadline.after(timeout), true);
        } catch (TimeoutException e) {
            return Optional.empty();
        }
    }

    /** Takes the head item if there is one; never blocks. */
    public Optional<String> poll() {
        try {
            return take(Deadline.NONE, false);
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("poll does not wait", e);
        }
    }

    private Optional<String> take(Deadline deadline, boolean wait) throws InterruptedException, TimeoutException {
        try {
            return claimHead(deadline, wait);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    private Optional<String> claimHead(Deadline deadline, boolean wait) throws InterruptedException, TimeoutException {
        while (true) {
            RangeResponse r = conn.kv().range(head);
            if (r.getKvsCount() > 0) {
                KeyValue kv = r.getKvs(0);
                if (Ops.deleteIfModRevision(conn, kv.getKey(), kv.getModRevision())) {
                    return Optional.of(kv.getValue().toStringUtf8());
                }
                continue; // another consumer took it
            }
            if (!wait) {
                return Optional.empty();
            }
            Waits.awaitEventOrStale(conn, prefix, Ops.prefixEnd(prefix), r.getHeader().getRevision() + 1,
                    e -> e.getType() == Event.EventType.PUT, deadline, null);
        }
    }
}
