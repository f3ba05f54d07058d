package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.proto.mvccpb.KeyValue;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Leader election with etcd's algorithm (Go's {@code concurrency.Election}): each candidate puts
 * {@code <prefix>/<lease hex>} (value = its proclamation) under its session's lease; the key with the lowest
 * create revision is the leader; a candidate waits, watch-based, until every earlier key is gone. The leader can
 * change its value ({@link #proclaim}) while it still holds its key, and {@link #resign}s by deleting it; a crashed
 * leader's key expires with its lease.
 *
 * <p>Like {@link Mutex}, one instance is one candidacy and is not thread-safe; observing ({@link #leader()},
 * {@link #observe}) needs no candidacy and may be done from any thread.
 */
public final class Election {
    private final Session session;
    private final EtcdConnection conn;
    private final ByteString prefix;
    private ByteString leaderKey;
    private long leaderRevision = -1;
    private boolean leader;
    private ResponseHeader header;

    /** An election named {@code prefix}; candidates' keys live under {@code prefix + "/"}. */
    public Election(Session session, String prefix) {
        this.session = session;
        this.conn = session.connection();
        this.prefix = Ops.bytes(prefix + "/");
    }

    /**
     * An election to watch without taking part: {@link #leader()} and {@link #observe} need no lease, so no
     * session; {@link #campaign} is refused.
     */
    public Election(EtcdConnection conn, String prefix) {
        this.session = null;
        this.conn = conn;
        this.prefix = Ops.bytes(prefix + "/");
    }

    /**
     * A leadership won earlier, possibly by another process, identified by its key and that key's create
     * revision (Go's {@code ResumeElection}): {@link #proclaim} and {@link #resign} act on it if, and only if, the
     * key still has that create revision. {@code session} must be on the lease the key was put with.
     */
    public static Election resume(Session session, String prefix, String key, long revision) {
        Election e = new Election(session, prefix);
        e.leaderKey = Ops.bytes(key);
        e.leaderRevision = revision;
        e.leader = true;
        return e;
    }

    /** Blocks until this session leads, proclaiming {@code value}. */
    public void campaign(String value) throws InterruptedException {
        campaign(Ops.bytes(value));
    }

    /** {@link #campaign(String)} with a value that need not be text. */
    public void campaign(ByteString value) throws InterruptedException {
        try {
            campaign(value, Deadline.NONE);
        } catch (TimeoutException e) {
            throw new AssertionError("no deadline", e);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    /** Campaigns for at most {@code timeout}; false (candidacy withdrawn) if leadership did not come in time. */
    public boolean campaign(String value, Duration timeout) throws InterruptedException {
        try {
            campaign(Ops.bytes(value), Deadline.after(timeout));
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    /**
     * Changes the leader's value without losing leadership; throws {@link NotLeaderException} unless this
     * candidacy currently holds its key with the create revision it was elected with.
     */
    public void proclaim(String value) {
        proclaim(Ops.bytes(value));
    }

    /** {@link #proclaim(String)} with a value that need not be text. */
    public void proclaim(ByteString value) {
        if (!leader) {
            throw new NotLeaderException();
        }
        TxnResponse resp = conn.kv().txn(TxnRequest.newBuilder()
                .addCompare(Ops.createRevision(leaderKey, Compare.CompareResult.EQUAL, leaderRevision))
                .addSuccess(Ops.op(Ops.put(leaderKey, value, session.lease())))
                .build());
        if (!resp.getSucceeded()) {
            leader = false;
            throw new NotLeaderException();
        }
        header = resp.getHeader();
    }

    /**
     * Gives up leadership (or the candidacy) by deleting this candidate's key, guarded by its create revision so
     * a later candidacy under the same lease is never removed. A no-op when not campaigning.
     */
    public void resign() {
        if (leaderKey == null) {
            return;
        }
        ByteString key = leaderKey;
        long rev = leaderRevision;
        leaderKey = null;
        leaderRevision = -1;
        leader = false;
        TxnResponse resp = conn.kv().txn(TxnRequest.newBuilder()
                .addCompare(Ops.createRevision(key, Compare.CompareResult.EQUAL, rev))
                .addSuccess(Ops.op(Ops.delete(key))).build());
        header = resp.getHeader();
    }

    /**
     * The current leader's key-value (its value is the proclamation); {@link NoLeaderException} if none.
     * {@link #header()} then tells at which revision it was read.
     */
    public KeyValue leader() {
        RangeResponse r = Elections.leader(conn, prefix);
        header = r.getHeader();
        return r.getKvs(0);
    }

    /**
     * Calls {@code listener} (on a dedicated thread, in order) with the leader's key-value now and on every
     * change: a new leader, or a new proclamation of the current one. Watch-based; stop it with
     * {@link Observation#close()}.
     */
    public Observation observe(Consumer<KeyValue> listener) {
        return Observation.start(conn, prefix, (header, kv) -> listener.accept(kv));
    }

    /**
     * {@link #observe(Consumer)}, also passing the header of the response each report comes from (its revision
     * is the one the report reflects; for the first candidate's arrival, that key's mod revision), as etcd's
     * {@code Election.Observe} RPC streams them.
     */
    public Observation observeWithHeaders(BiConsumer<ResponseHeader, KeyValue> listener) {
        return Observation.start(conn, prefix, listener);
    }

    /**
     * Whether this candidacy won and has not since resigned, been found deposed, or lost its session. A local
     * view: like any lease-based leadership it can be stale (see the README on fencing); {@link #revision()} is
     * the term's fencing token.
     */
    public boolean isLeader() {
        return leader && session.isAlive();
    }

    /** This candidate's key while campaigning or leading, else null. */
    public String key() {
        return leaderKey == null ? null : leaderKey.toStringUtf8();
    }

    /** Create revision of this candidate's key (a fencing token for the leadership term); -1 when none. */
    public long revision() {
        return leaderRevision;
    }

    public ResponseHeader header() {
        return header;
    }

    private void campaign(ByteString value, Deadline deadline) throws InterruptedException, TimeoutException {
        if (session == null) {
            throw new IllegalStateException("this Election only observes: campaigning needs a session");
        }
        if (!session.isAlive()) {
            throw session.lostException();
        }
        ByteString key = Ops.bytes(prefix.toStringUtf8() + Long.toHexString(session.lease()));
        TxnResponse resp = conn.kv().txn(TxnRequest.newBuilder()
                .addCompare(Ops.absent(key))
                .addSuccess(Ops.op(Ops.put(key, value, session.lease())))
                .addFailure(Ops.op(Ops.get(key)))
                .build());
        leaderKey = key;
        leaderRevision = resp.getHeader().getRevision();
        leader = true; // provisional: lets proclaim() update an existing candidacy's value
        if (!resp.getSucceeded()) {
            // this session already campaigns (e.g. a resumed process): keep the candidacy, update the value
            KeyValue existing = resp.getResponses(0).getResponseRange().getKvs(0);
            leaderRevision = existing.getCreateRevision();
            if (!existing.getValue().equals(value)) {
                try {
                    proclaim(value);
                } catch (RuntimeException e) {
                    resignQuietly();
                    throw e;
                }
            }
        }
        leader = false;
        try {
            Waits.awaitNoneCreatedAtOrBelow(conn, prefix, leaderRevision - 1, deadline, session);
        } catch (InterruptedException | TimeoutException e) {
            resignQuietly(); // withdraw, or we would become leader later with nobody acting on it
            throw e;
        } catch (RuntimeException e) {
            resignQuietly();
            throw e;
        }
        RangeResponse mine;
        try {
            mine = conn.kv().range(Ops.get(key));
        } catch (RuntimeException e) {
            resignQuietly();
            throw e;
        }
        if (mine.getKvsCount() == 0 || mine.getKvs(0).getCreateRevision() != leaderRevision) {
            leaderKey = null;
            leaderRevision = -1;
            throw new SessionLostException("election: candidate key vanished while campaigning (session expired?)");
        }
        leader = true;
        header = mine.getHeader();
    }

    private void resignQuietly() {
        Interrupts.runUninterrupted(this::resign);
    }
}
