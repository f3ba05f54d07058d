package io.metastore.server.coordination;

import com.google.protobuf.ByteString;
import io.metastore.concurrency.EtcdConnection;
import io.metastore.concurrency.Mutex;
import io.metastore.concurrency.Session;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.ResponseHeader;

import java.util.concurrent.TimeUnit;

/**
 * etcd's {@code v3lockpb.Lock} semantics (server/etcdserver/api/v3lock): the SDK's {@link Mutex} — etcd's
 * algorithm and key layout {@code <name>/<lease hex>} — run against this member as a client, on the caller's
 * lease. As in etcd the lease stays the caller's: nothing here renews it (the lock lives exactly as long as the
 * caller keeps its lease alive) or revokes it. Lease 0 gets a fresh 60 s lease that nobody renews, as in etcd.
 *
 * <p>Thread-safe; each call blocks its thread, and is abandoned (key withdrawn) when that thread is interrupted.
 */
public final class LockRecipes {
    /** Go's {@code concurrency.ErrSessionExpired}, which etcd's Lock returns when the lease ran out meanwhile. */
    public static final String SESSION_EXPIRED = "mutex: session is expired";
    private static final long RPC_TIMEOUT_SECONDS = 10;

    private final EtcdConnection conn;

    public LockRecipes(EtcdConnection conn) {
        this.conn = conn;
    }

    /** The lock key the caller now owns, and the header of the read that confirmed it. */
    public record Held(ByteString key, ResponseHeader header) {
    }

    /**
     * Blocks until the lock named {@code name} is held under {@code lease}. Errors: the lease does not exist
     * (etcd's "requested lease not found"), it expired while waiting ({@value #SESSION_EXPIRED}), interrupt.
     *
     * @param token the caller's auth token (null: none), so the lock keys are subject to the caller's permissions
     */
    public Held lock(ByteString name, long lease, String token) throws InterruptedException {
        String prefix = Callers.text(name, "lock name");
        EtcdConnection c = Callers.connection(conn, token);
        Session session = Session.builder(c).lease(lease).withoutKeepAlive().build();
        try {
            Mutex mutex = new Mutex(session, prefix);
            mutex.lock();
            ByteString key = ByteString.copyFromUtf8(mutex.key());
            LeaseLiveness.require(c, session.lease(), key, mutex.revision(), SESSION_EXPIRED);
            return new Held(key, mutex.header());
        } finally {
            session.close(); // only forgets the session: the lease is not ours to revoke
        }
    }

    /** Releases a lock by deleting its key, as etcd does: a key that is already gone is not an error. */
    public ResponseHeader unlock(ByteString key, String token) {
        return KVGrpc.newBlockingStub(Callers.connection(conn, token).channel())
                .withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .deleteRange(DeleteRangeRequest.newBuilder().setKey(key).build()).getHeader();
    }
}
