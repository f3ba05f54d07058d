package io.metastore.server.kv;

import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.etcdserverpb.ResponseOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.server.etcd.EtcdError;
import io.metastore.storage.MvccException;
import io.metastore.storage.MvccStore;
import io.metastore.storage.RangeQuery;

import java.util.List;

/**
 * A Txn whose every branch only reads is served like a Range, without Raft (etcd does the same): all
 * compares and ranges read one revision, so the answer is a consistent snapshot.
 */
public final class ReadOnlyTxn {
    private ReadOnlyTxn() {}

    public static boolean isReadOnly(TxnRequest r) {
        return onlyReads(r.getSuccessList()) && onlyReads(r.getFailureList());
    }

    /** etcd serves a read-only txn serializably only when every range in it asks for that. */
    public static boolean isSerializable(TxnRequest r) {
        return allSerializable(r.getSuccessList()) && allSerializable(r.getFailureList());
    }

    private static boolean onlyReads(List<RequestOp> ops) {
        for (RequestOp op : ops) {
            switch (op.getRequestCase()) {
                case REQUEST_RANGE -> { }
                case REQUEST_TXN -> {
                    if (!isReadOnly(op.getRequestTxn())) {
                        return false;
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean allSerializable(List<RequestOp> ops) {
        for (RequestOp op : ops) {
            if (op.hasRequestRange() && !op.getRequestRange().getSerializable()) {
                return false;
            }
            if (op.hasRequestTxn() && !isSerializable(op.getRequestTxn())) {
                return false;
            }
        }
        return true;
    }

    public static TxnResponse execute(MvccStore store, TxnRequest r) {
        long rev = store.currentRevision();
        KvApplier.TxnPath path = KvApplier.TxnPath.decide(r, q -> store.range(q.atRevision(rev)));
        return execute(store, r, path, rev);
    }

    private static TxnResponse execute(MvccStore store, TxnRequest r, KvApplier.TxnPath path, long rev) {
        TxnResponse.Builder resp = TxnResponse.newBuilder().setSucceeded(path.succeeded())
                .setHeader(ResponseHeader.newBuilder().setRevision(rev));
        int nested = 0;
        for (RequestOp op : path.succeeded() ? r.getSuccessList() : r.getFailureList()) {
            if (op.hasRequestTxn()) {
                resp.addResponses(ResponseOp.newBuilder().setResponseTxn(
                        execute(store, op.getRequestTxn(), path.child(nested++), rev)));
            } else {
                RangeRequest rr = op.getRequestRange();
                RangeQuery q = KvProtos.toQuery(rr);
                try {
                    var result = store.range(q.revision() > 0 ? q : q.atRevision(rev));
                    resp.addResponses(ResponseOp.newBuilder().setResponseRange(
                            RangeResponses.build(result, rr.getKeysOnly(), rev)));
                } catch (MvccException.Compacted e) {
                    throw EtcdError.COMPACTED.toException();
                } catch (MvccException.FutureRevision e) {
                    throw EtcdError.FUTURE_REV.toException();
                }
            }
        }
        return resp.build();
    }
}
