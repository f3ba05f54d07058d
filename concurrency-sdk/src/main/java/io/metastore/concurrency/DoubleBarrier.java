package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.proto.mvccpb.Event;
import io.metastore.proto.mvccpb.KeyValue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A double barrier for {@code count} participants (etcd's {@code recipes.DoubleBarrier}): {@link #enter()} blocks
 * until {@code count} participants have entered, {@link #leave()} blocks until all of them have left — a way to
 * start and finish a computation together.
 *
 * <p>Keys: each participant puts {@code <key>/waiters/<unique>} under its session's lease (a crashed participant
 * drops out when its lease expires); the {@code count}-th to enter puts {@code <key>/ready}, which wakes the
 * others. On the way out the participant with the lowest key revision waits for the highest to go, the others
 * delete themselves and wait for the lowest, so each waits on one key and the last one out removes
 * {@code <key>/ready} for the next round.
 *
 * <p>One instance is one participant and is not thread-safe.
 */
public final class DoubleBarrier {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Session session;
    private final EtcdConnection conn;
    private final int count;
    private final ByteString waiters;
    private final ByteString ready;
    private ByteString myKey;
    private long myRevision;

    public DoubleBarrier(Session session, String key, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1: " + count);
        }
        this.session = session;
        this.conn = session.connection();
        this.count = count;
        this.waiters = Ops.bytes(key + "/waiters/");
        this.ready = Ops.bytes(key + "/ready");
    }

    /** Blocks until {@code count} participants entered; {@link TooManyClientsException} if it is already full. */
    public void enter() throws InterruptedException {
        try {
            enter(Deadline.NONE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        }
    }

    /** Like {@link #enter()}, for at most {@code timeout}; false (and this participant withdrawn) on timeout. */
    public boolean enter(Duration timeout) throws InterruptedException {
        try {
            enter(Deadline.after(timeout));
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    /** Blocks until every participant has left. */
    public void leave() throws InterruptedException {
        try {
            leave(Deadline.NONE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        }
    }

    /** Like {@link #leave()}, for at most {@code timeout}; false on timeout (this participant has then left). */
    public boolean leave(Duration timeout) throws InterruptedException {
        try {
            leave(Deadline.after(timeout));
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    private void enter(Deadline deadline) throws InterruptedException, TimeoutException {
        try {
            doEnter(deadline);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    private void leave(Deadline deadline) throws InterruptedException, TimeoutException {
        try {
            doLeave(deadline);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    private void doEnter(Deadline deadline) throws InterruptedException, TimeoutException {
        if (myKey != null) {
            throw new IllegalStateException("double barrier: already entered");
        }
        if (entered().size() >= count) {
            throw new TooManyClientsException();
        }
        while (myKey == null) {
            ByteString key = Ops.bytes(waiters.toStringUtf8() + Long.toHexString(session.lease()) + "-"
                    + Long.toHexString(SEQUENCE.incrementAndGet()));
            TxnResponse r = Ops.putIfAbsent(conn, key, ByteString.EMPTY, session.lease());
            if (r.getSucceeded()) {
                myKey = key;
                myRevision = r.getHeader().getRevision();
            }
        }
        List<KeyValue> all = entered();
        if (all.size() >= count) {
            KeyValue last = all.get(count - 1);
            if (myRevision > last.getCreateRevision()) {
                deleteMine(); // we came after the barrier filled up
                throw new TooManyClientsException();
            }
            if (myRevision == last.getCreateRevision()) {
                conn.kv().put(PutRequest.newBuilder().setKey(ready).build()); // we complete it: wake everyone
                return;
            }
        }
        long from = myRevision;
        try {
            while (true) {
                Event e = Waits.awaitEventOrStale(conn, ready, ByteString.EMPTY, from,
                        ev -> ev.getType() == Event.EventType.PUT, deadline, session);
                if (e != null) {
                    return;
                }
                RangeResponse r = conn.kv().range(Ops.get(ready));
                if (r.getKvsCount() > 0) {
                    return;
                }
                from = r.getHeader().getRevision() + 1;
            }
        } catch (InterruptedException | TimeoutException | RuntimeException e) {
            Interrupts.runUninterrupted(this::deleteMine);
            throw e;
        }
    }

    private void doLeave(Deadline deadline) throws InterruptedException, TimeoutException {
        while (true) {
            RangeResponse r = conn.kv().range(Ops.prefix(waiters));
            if (r.getKvsCount() == 0) {
                myKey = null;
                return;
            }
            KeyValue lowest = r.getKvs(0);
            KeyValue highest = r.getKvs(0);
            for (KeyValue kv : r.getKvsList()) {
                if (kv.getModRevision() < lowest.getModRevision()) {
                    lowest = kv;
                }
                if (kv.getModRevision() > highest.getModRevision()) {
                    highest = kv;
                }
            }
            boolean isLowest = lowest.getKey().equals(myKey);
            if (r.getKvsCount() == 1 && isLowest) {
                conn.kv().deleteRange(Ops.delete(ready)); // last one out resets the barrier
                deleteMine();
                return;
            }
            if (isLowest) {
                // wait for the newest participant to leave (or drop out with its lease), then look again
                Waits.awaitDelete(conn, highest.getKey(), r.getHeader().getRevision(), deadline, null);
            } else {
                deleteMine();
                Waits.awaitDelete(conn, lowest.getKey(), r.getHeader().getRevision(), deadline, null);
            }
        }
    }

    private List<KeyValue> entered() {
        RangeRequest byAge = Ops.prefix(waiters).toBuilder()
                .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND).build();
        return conn.kv().range(byAge).getKvsList();
    }

    private void deleteMine() {
        if (myKey != null) {
            conn.kv().deleteRange(Ops.delete(myKey));
            myKey = null;
        }
    }
}
