package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.proto.mvccpb.KeyValue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * A fair distributed mutex over etcd keys, with etcd's algorithm (Go's {@code concurrency.Mutex}): every contender
 * puts {@code <prefix>/<lease hex>} with its session's lease; the key with the lowest create revision owns the
 * lock; everyone else watches for the deletion of the newest key created before its own. Acquisition order is
 * therefore create-revision order (FIFO), and the owner's create revision ({@link #revision()}) is a fencing token
 * that strictly increases from one owner to the next.
 *
 * <p>A crashed owner's key disappears when its lease expires, so the lock is released after at most one session
 * TTL. That same property means a paused owner (GC, swap, partition) can lose the lock without noticing in time:
 * guard the protected writes with {@link #ownerGuard()} (or check the fencing token where the writes land) — see
 * the README.
 *
 * <p>The key is derived from the lease, so two {@code Mutex} objects over the same session and prefix share one
 * key: the second "acquires" what the first holds (re-entrant, as in etcd) and an unlock of either releases it.
 * An instance is meant for one owner at a time and is not thread-safe; give each thread its own session and
 * mutex, or synchronize.
 */
public final class Mutex {
    /** Go's {@code ErrLockReleased} text. */
    static final String RELEASED = "mutex: lock has already been released";

    private final Session session;
    private final EtcdConnection conn;
    private final ByteString prefix;
    private ByteString myKey;
    private long myRevision = -1;
    private ResponseHeader header;

    /** A mutex named {@code prefix}; its keys live under {@code prefix + "/"}. */
    public Mutex(Session session, String prefix) {
        this.session = session;
        this.conn = session.connection();
        this.prefix = Ops.bytes(prefix + "/");
    }

    /** Blocks until this session owns the lock. */
    public void lock() throws InterruptedException {
        try {
            acquire(Deadline.NONE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    /** Waits at most {@code timeout} for the lock; false (and no trace left behind) if it did not come. */
    public boolean lock(Duration timeout) throws InterruptedException {
        try {
            acquire(Deadline.after(timeout));
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    /** Takes the lock if nobody holds it or waits for it; never blocks (Go's {@code TryLock}). */
    public boolean tryLock() {
        TxnResponse resp = enqueue();
        if (owns(resp)) {
            header = resp.getHeader();
            return true;
        }
        releaseQuietly();
        return false;
    }

    /** Releases the lock (deletes the key); throws if this mutex does not hold it. */
    public void unlock() {
        if (myKey == null) {
            throw new IllegalStateException(RELEASED);
        }
        conn.kv().deleteRange(Ops.delete(myKey));
        myKey = null;
        myRevision = -1;
    }

    /** The lock key ({@code <prefix>/<lease hex>}) while held or waited for, else null. */
    public String key() {
        return myKey == null ? null : myKey.toStringUtf8();
    }

    /** The lock key's create revision: the fencing token of the current hold; -1 when not held. */
    public long revision() {
        return myRevision;
    }

    /** Header of the response that confirmed the acquisition (its revision is at or after the acquisition). */
    public ResponseHeader header() {
        return header;
    }

    /**
     * A Txn compare that holds only while this mutex still owns the lock (Go's {@code IsOwner}): add it to the
     * writes the lock protects so that they fail instead of landing after the lock was lost.
     */
    public Compare ownerGuard() {
        if (myKey == null) {
            throw new IllegalStateException(RELEASED);
        }
        return Ops.createRevision(myKey, Compare.CompareResult.EQUAL, myRevision);
    }

    private void acquire(Deadline deadline) throws InterruptedException, TimeoutException {
        if (!session.isAlive()) {
            throw session.lostException();
        }
        TxnResponse resp = enqueue();
        if (owns(resp)) {
            header = resp.getHeader();
            return;
        }
        try {
            Waits.awaitNoneCreatedAtOrBelow(conn, prefix, myRevision - 1, deadline, session);
        } catch (InterruptedException | TimeoutException | RuntimeException e) {
            releaseQuietly(); // do not leave a waiter key that would block everyone queued behind it
            throw e;
        }
        // every predecessor is gone; make sure our own key survived the wait (the lease may have expired)
        RangeResponse mine;
        try {
            mine = conn.kv().range(Ops.get(myKey));
        } catch (RuntimeException e) {
            releaseQuietly();
            throw e;
        }
        if (mine.getKvsCount() == 0 || mine.getKvs(0).getCreateRevision() != myRevision) {
            myKey = null;
            myRevision = -1;
            throw new SessionLostException("mutex: session is expired");
        }
        header = mine.getHeader();
    }

    /**
     * One Txn that queues us (puts our key if absent) and reads the current owner, so the uncontended case
     * costs a single round trip.
     */
    private TxnResponse enqueue() {
        ByteString key = Ops.bytes(prefix.toStringUtf8() + Long.toHexString(session.lease()));
        TxnResponse resp = conn.kv().txn(TxnRequest.newBuilder()
                .addCompare(Ops.absent(key))
                .addSuccess(Ops.op(Ops.put(key, ByteString.EMPTY, session.lease())))
                .addSuccess(Ops.op(Ops.firstCreated(prefix)))
                .addFailure(Ops.op(Ops.get(key)))
                .addFailure(Ops.op(Ops.firstCreated(prefix)))
                .build());
        myKey = key;
        myRevision = resp.getSucceeded()
                ? resp.getHeader().getRevision()
                : resp.getResponses(0).getResponseRange().getKvs(0).getCreateRevision();
        return resp;
    }

    private boolean owns(TxnResponse resp) {
        List<KeyValue> owner = resp.getResponses(1).getResponseRange().getKvsList();
        return owner.isEmpty() || owner.get(0).getCreateRevision() == myRevision;
    }

    private void releaseQuietly() {
        ByteString key = myKey;
        myKey = null;
        myRevision = -1;
        if (key != null) {
            Interrupts.runUninterrupted(() -> conn.kv().deleteRange(Ops.delete(key)));
        }
    }
}
