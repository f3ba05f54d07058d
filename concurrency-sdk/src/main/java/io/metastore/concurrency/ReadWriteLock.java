package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.TxnResponse;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fair distributed readers-writer lock (etcd's {@code recipes.RWMutex}): a reader puts a unique key under
 * {@code <prefix>/read/}, a writer under {@code <prefix>/write/}, both with the session's lease. A reader waits
 * until no writer key is older than its own (readers share); a writer waits until no key of either kind is older.
 * Older = lower create revision, so requests are served in arrival order and a waiting writer holds back later
 * readers (no writer starvation). Waits are watch-based, as in {@link Mutex}.
 *
 * <p>One instance holds at most one key at a time (a read or a write hold) and is not thread-safe.
 */
public final class ReadWriteLock {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Session session;
    private final EtcdConnection conn;
    private final String prefix;
    private ByteString myKey;
    private long myRevision = -1;
    private boolean write;

    public ReadWriteLock(Session session, String prefix) {
        this.session = session;
        this.conn = session.connection();
        this.prefix = prefix + "/";
    }

    public void lockRead() throws InterruptedException {
        acquireForever(false);
    }

    public boolean lockRead(Duration timeout) throws InterruptedException {
        return acquire(false, Deadline.after(timeout));
    }

    public void unlockRead() {
        release(false);
    }

    public void lockWrite() throws InterruptedException {
        acquireForever(true);
    }

    public boolean lockWrite(Duration timeout) throws InterruptedException {
        return acquire(true, Deadline.after(timeout));
    }

    public void unlockWrite() {
        release(true);
    }

    /** Create revision of the held key (a fencing token ordering all holds of this lock); -1 when none. */
    public long revision() {
        return myRevision;
    }

    private void acquireForever(boolean forWrite) throws InterruptedException {
        if (!acquire(forWrite, Deadline.NONE)) {
            throw new AssertionError("no deadline");
        }
    }

    private boolean acquire(boolean forWrite, Deadline deadline) throws InterruptedException {
        try {
            return tryAcquire(forWrite, deadline);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    private boolean tryAcquire(boolean forWrite, Deadline deadline) throws InterruptedException {
        if (myKey != null) {
            throw new IllegalStateException("rwlock: this instance already holds or waits for the lock");
        }
        if (!session.isAlive()) {
            throw session.lostException();
        }
        String kind = forWrite ? "write/" : "read/";
        while (true) {
            ByteString key = Ops.bytes(prefix + kind + Long.toHexString(session.lease()) + "-"
                    + Long.toHexString(SEQUENCE.incrementAndGet()));
            TxnResponse r = Ops.putIfAbsent(conn, key, ByteString.EMPTY, session.lease());
            if (r.getSucceeded()) {
                myKey = key;
                myRevision = r.getHeader().getRevision();
                write = forWrite;
                break;
            }
        }
        // a writer waits for every older key; a reader only for older writers
        ByteString blockers = Ops.bytes(forWrite ? prefix : prefix + "write/");
        try {
            Waits.awaitNoneCreatedAtOrBelow(conn, blockers, myRevision - 1, deadline, session);
        } catch (TimeoutException e) {
            releaseQuietly();
            return false;
        } catch (InterruptedException | RuntimeException e) {
            releaseQuietly();
            throw e;
        }
        RangeResponse mine;
        try {
            mine = conn.kv().range(Ops.get(myKey));
        } catch (RuntimeException e) {
            releaseQuietly();
            throw e;
        }
        if (mine.getKvsCount() == 0) {
            myKey = null;
            myRevision = -1;
            throw new SessionLostException("rwlock: session is expired");
        }
        return true;
    }

    private void release(boolean forWrite) {
        if (myKey == null || write != forWrite) {
            throw new IllegalStateException("rwlock: " + (forWrite ? "write" : "read") + " lock not held");
        }
        conn.kv().deleteRange(Ops.delete(myKey));
        myKey = null;
        myRevision = -1;
    }

    private void releaseQuietly() {
        ByteString key = myKey;
        myKey = null;
        myRevision = -1;
        Interrupts.runUninterrupted(() -> conn.kv().deleteRange(Ops.delete(key)));
    }
}
