package io.metastore.server.coordination;

import com.google.protobuf.ByteString;
import io.metastore.concurrency.EtcdConnection;
import io.metastore.concurrency.SessionLostException;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;

import java.util.concurrent.TimeUnit;

/**
 * The last check before a Lock or Campaign answers "yours": the caller's lease still has time left. The recipes
 * already confirm that the key survived the wait (Jepsen found etcd 3.4 granting locks whose lease had expired
 * during the wait; 3.5 added that check), but a key can outlive its lease by the moment it takes the leader to
 * revoke an expired lease. A lease with under a second left, or gone, is refused — the caller could not act on
 * such a lock anyway — and the key is withdrawn so it blocks nobody.
 */
final class LeaseLiveness {
    private static final long RPC_TIMEOUT_SECONDS = 10;

    private LeaseLiveness() {
    }

    /** Throws {@link SessionLostException} with {@code expiredMessage} unless {@code lease} has at least 1 s left. */
    static void require(EtcdConnection conn, long lease, ByteString key, long createRevision, String expiredMessage) {
        long ttl = LeaseGrpc.newBlockingStub(conn.channel()).withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(lease).build()).getTTL();
        if (ttl > 0) {
            return;
        }
        // only our own key, and only the incarnation we were about to report: never someone else's later one
        KVGrpc.newBlockingStub(conn.channel()).withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS).txn(
                TxnRequest.newBuilder()
                        .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(createRevision))
                        .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
                        .build());
        throw new SessionLostException(expiredMessage);
    }
}
