package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeResponse;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * A single-key barrier (etcd's {@code recipes.Barrier}): while the key exists, {@link #await()}ers block; deleting
 * it ({@link #release()}) lets them all through. The key has no lease — a barrier survives its holder's crash,
 * so make sure someone releases it.
 */
public final class Barrier {
    private final EtcdConnection conn;
    private final ByteString key;

    public Barrier(EtcdConnection conn, String key) {
        this.conn = conn;
        this.key = Ops.bytes(key);
    }

    /** Raises the barrier; false if it was already up. */
    public boolean hold() {
        return Ops.putIfAbsent(conn, key, ByteString.EMPTY, 0).getSucceeded();
    }

    /** Lowers the barrier, releasing every waiter. */
    public void release() {
        conn.kv().deleteRange(Ops.delete(key));
    }

    /** Blocks until the barrier is down (returns at once if it is). */
    public void await() throws InterruptedException {
        try {
            await(Deadline.NONE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        }
    }

    /** Waits at most {@code timeout}; true if the barrier is down. */
    public boolean await(Duration timeout) throws InterruptedException {
        try {
            await(Deadline.after(timeout));
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    private void await(Deadline deadline) throws InterruptedException, TimeoutException {
        try {
            awaitDown(deadline);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    private void awaitDown(Deadline deadline) throws InterruptedException, TimeoutException {
        RangeResponse r = conn.kv().range(Ops.get(key));
        if (r.getKvsCount() == 0) {
            return;
        }
        Waits.awaitDelete(conn, key, r.getHeader().getRevision(), deadline, null);
    }
}
