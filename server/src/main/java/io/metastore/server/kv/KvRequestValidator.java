package io.metastore.server.kv;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.server.etcd.EtcdError;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The checks etcd makes before a KV request reaches Raft (v3rpc/key.go), in the same order, so the first
 * error reported is the one etcd reports.
 */
public final class KvRequestValidator {
    private final int maxTxnOps;

    public KvRequestValidator(int maxTxnOps) {
        this.maxTxnOps = maxTxnOps;
    }

    public void checkRange(RangeRequest r) {
        if (r.getKey().isEmpty()) {
            throw EtcdError.EMPTY_KEY.toException();
        }
        if (RangeRequest.SortOrder.forNumber(r.getSortOrderValue()) == null
                || RangeRequest.SortTarget.forNumber(r.getSortTargetValue()) == null) {
            throw EtcdError.INVALID_SORT_OPTION.toException();
        }
    }

    public void checkPut(PutRequest r) {
        if (r.getKey().isEmpty()) {
            throw EtcdError.EMPTY_KEY.toException();
        }
        if (r.getIgnoreValue() && !r.getValue().isEmpty()) {
            throw EtcdError.VALUE_PROVIDED.toException();
        }
        if (r.getIgnoreLease() && r.getLease() != 0) {
            throw EtcdError.LEASE_PROVIDED.toException();
        }
    }

    public void checkDelete(DeleteRangeRequest r) {
        if (r.getKey().isEmpty()) {
            throw EtcdError.EMPTY_KEY.toException();
        }
    }

    public void checkTxn(TxnRequest r) {
        checkTxn(r, maxTxnOps);
        // interval checks come after the cheap checks so a huge request cannot make them quadratic
        checkIntervals(r.getSuccessList());
        checkIntervals(r.getFailureList());
    }

    private void checkTxn(TxnRequest r, int budget) {
        int ops = Math.max(r.getCompareCount(), Math.max(r.getSuccessCount(), r.getFailureCount()));
        if (ops > budget) {
            throw EtcdError.TOO_MANY_OPS.toException();
        }
        for (var c : r.getCompareList()) {
            if (c.getKey().isEmpty()) {
                throw EtcdError.EMPTY_KEY.toException();
            }
        }
        for (RequestOp op : r.getSuccessList()) {
            checkOp(op, budget - ops);
        }
        for (RequestOp op : r.getFailureList()) {
            checkOp(op, budget - ops);
        }
    }

    private void checkOp(RequestOp op, int budget) {
        switch (op.getRequestCase()) {
            case REQUEST_RANGE -> checkRange(op.getRequestRange());
            case REQUEST_PUT -> checkPut(op.getRequestPut());
            case REQUEST_DELETE_RANGE -> checkDelete(op.getRequestDeleteRange());
            case REQUEST_TXN -> checkTxn(op.getRequestTxn(), budget);
            default -> throw EtcdError.KEY_NOT_FOUND.toException();
        }
    }

    /**
     * Within one branch (nested branches included) a key may be put once and never both put and deleted;
     * a nested txn's then- and else-branch exclude each other, so they may touch the same key.
     */
    private static Footprint checkIntervals(List<RequestOp> ops) {
        Footprint fp = new Footprint();
        for (RequestOp op : ops) {
            if (op.hasRequestDeleteRange()) {
                DeleteRangeRequest d = op.getRequestDeleteRange();
                fp.deletes.add(new Interval(d.getKey(), d.getRangeEnd()));
            }
        }
        for (RequestOp op : ops) {
            if (!op.hasRequestTxn()) {
                continue;
            }
            Footprint then = checkIntervals(op.getRequestTxn().getSuccessList());
            Footprint otherwise = checkIntervals(op.getRequestTxn().getFailureList());
            for (ByteString k : then.puts) {
                if (fp.puts.contains(k) || fp.deleted(k)) {
                    throw EtcdError.DUPLICATE_KEY.toException();
                }
                fp.puts.add(k);
            }
            for (ByteString k : otherwise.puts) {
                if ((fp.puts.contains(k) && !then.puts.contains(k)) || fp.deleted(k)) {
                    throw EtcdError.DUPLICATE_KEY.toException();
                }
                fp.puts.add(k);
            }
            fp.deletes.addAll(then.deletes);
            fp.deletes.addAll(otherwise.deletes);
        }
        for (RequestOp op : ops) {
            if (!op.hasRequestPut()) {
                continue;
            }
            ByteString k = op.getRequestPut().getKey();
            if (fp.puts.contains(k) || fp.deleted(k)) {
                throw EtcdError.DUPLICATE_KEY.toException();
            }
            fp.puts.add(k);
        }
        return fp;
    }

    private static final class Footprint {
        final Set<ByteString> puts = new HashSet<>();
        final List<Interval> deletes = new ArrayList<>();

        boolean deleted(ByteString key) {
            for (Interval i : deletes) {
                if (i.contains(key)) {
                    return true;
                }
            }
            return false;
        }
    }

    private record Interval(ByteString start, ByteString end) {
        boolean contains(ByteString key) {
            return io.metastore.storage.Bytes.inRange(key.toByteArray(), start.toByteArray(), end.toByteArray());
        }
    }
}
