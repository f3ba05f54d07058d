package io.metastore.auth;

import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;

import java.util.List;

/**
 * The permissions etcd requires for each KV request ({@code server/etcdserver/apply/auth.go}), built on
 * {@link PermissionChecker}:
 * <ul>
 *   <li>Range: READ on [key, range_end).</li>
 *   <li>Put: WRITE on the key; READ on it too with prev_kv; with a lease, WRITE on every key already attached
 *       to that lease (attaching to a lease the user could not revoke is refused), unless the user is admin.</li>
 *   <li>DeleteRange: WRITE on the range; READ too with prev_kv.</li>
 *   <li>Txn: READ on every compare's range, then each op of both branches as above, nested txns included.</li>
 *   <li>LeaseRevoke: WRITE on every key attached to the lease, unless admin.</li>
 * </ul>
 * The first failing check's {@link AuthException} is thrown.
 */
public final class RequestAuthorizer {

    /** The keys currently attached to a lease (empty if the lease does not exist); supplied by the server's lessor. */
    @FunctionalInterface
    public interface LeaseKeys {
        List<byte[]> keysOf(long leaseId);
    }

    private final PermissionChecker checker;
    private final LeaseKeys leaseKeys;

    public RequestAuthorizer(PermissionChecker checker, LeaseKeys leaseKeys) {
        this.checker = checker;
        this.leaseKeys = leaseKeys;
    }

    public void checkRange(AuthInfo who, RangeRequest r) {
        checker.checkRange(who, r.getKey().toByteArray(), r.getRangeEnd().toByteArray());
    }

    public void checkPut(AuthInfo who, PutRequest r) {
        byte[] key = r.getKey().toByteArray();
        checker.checkPut(who, key);
        if (r.getLease() != 0) {
            checkLeaseKeys(who, r.getLease());
        }
        if (r.getPrevKv()) {
            checker.checkRange(who, key, null);
        }
    }

    public void checkDeleteRange(AuthInfo who, DeleteRangeRequest r) {
        byte[] key = r.getKey().toByteArray();
        byte[] end = r.getRangeEnd().toByteArray();
        checker.checkDeleteRange(who, key, end);
        if (r.getPrevKv()) {
            checker.checkRange(who, key, end);
        }
    }

    public void checkTxn(AuthInfo who, TxnRequest r) {
        for (Compare c : r.getCompareList()) {
            checker.checkRange(who, c.getKey().toByteArray(), c.getRangeEnd().toByteArray());
        }
        checkOps(who, r.getSuccessList());
        checkOps(who, r.getFailureList());
    }

    public void checkLeaseRevoke(AuthInfo who, long leaseId) {
        checkLeaseKeys(who, leaseId);
    }

    private void checkOps(AuthInfo who, List<RequestOp> ops) {
        for (RequestOp op : ops) {
            switch (op.getRequestCase()) {
                case REQUEST_RANGE -> checkRange(who, op.getRequestRange());
                case REQUEST_PUT -> checkPut(who, op.getRequestPut());
                case REQUEST_DELETE_RANGE -> {
                    // etcd checks prev_kv's READ before the WRITE here (the opposite order of DeleteRange)
                    DeleteRangeRequest d = op.getRequestDeleteRange();
                    if (d.getPrevKv()) {
                        checker.checkRange(who, d.getKey().toByteArray(), d.getRangeEnd().toByteArray());
                    }
                    checker.checkDeleteRange(who, d.getKey().toByteArray(), d.getRangeEnd().toByteArray());
                }
                case REQUEST_TXN -> checkTxn(who, op.getRequestTxn());
                default -> { } // empty op: nothing to check
            }
        }
    }

    private void checkLeaseKeys(AuthInfo who, long leaseId) {
        List<byte[]> keys = leaseKeys.keysOf(leaseId);
        if (keys == null || keys.isEmpty() || checker.isAdmin(who)) {
            return;
        }
        for (byte[] k : keys) {
            checker.checkPut(who, k);
        }
    }
}
