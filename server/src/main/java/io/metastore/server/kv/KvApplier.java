package io.metastore.server.kv;

import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.etcdserverpb.ResponseOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.server.etcd.EtcdError;
import io.metastore.storage.KeyValue;
import io.metastore.storage.MvccException;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.RangeQuery;
import io.metastore.storage.RangeResult;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;

/**
 * Applies etcd's KV writes (Put, DeleteRange, Txn) to one write transaction, with etcd's semantics
 * (server/etcdserver/txn). Every error a request can meet is detected before its first write, so a failed
 * request leaves the transaction untouched. Responses carry only header.revision; the serving member
 * completes the header.
 */
public final class KvApplier {
    private final MvccStore store;
    private final LongPredicate leaseExists;
    private final KvOpCounters counters;

    public KvApplier(MvccStore store, LongPredicate leaseExists, KvOpCounters counters) {
        this.store = store;
        this.leaseExists = leaseExists;
        this.counters = counters;
    }

    public PutResponse put(MvccWriteTxn txn, PutRequest r) {
        checkPut(txn, r);
        return doPut(txn, r);
    }

    public DeleteRangeResponse deleteRange(MvccWriteTxn txn, DeleteRangeRequest r) {
        return doDelete(txn, r);
    }

    public TxnResponse txn(MvccWriteTxn txn, TxnRequest r) {
        // The whole path through nested txns is decided on the state before any write, as etcd does.
        TxnPath path = TxnPath.decide(r, q -> txn.range(q));
        checkPath(txn, r, path);
        counters.txn();
        return execute(txn, r, path);
    }

    private TxnResponse execute(MvccWriteTxn txn, TxnRequest r, TxnPath path) {
        List<RequestOp> ops = path.succeeded() ? r.getSuccessList() : r.getFailureList();
        TxnResponse.Builder resp = TxnResponse.newBuilder().setSucceeded(path.succeeded());
        int nested = 0;
        for (RequestOp op : ops) {
            ResponseOp.Builder out = ResponseOp.newBuilder();
            switch (op.getRequestCase()) {
                case REQUEST_RANGE -> {
                    counters.range();
                    out.setResponseRange(range(txn, op.getRequestRange()));
                }
                case REQUEST_PUT -> out.setResponsePut(doPut(txn, op.getRequestPut()));
                case REQUEST_DELETE_RANGE -> out.setResponseDeleteRange(doDelete(txn, op.getRequestDeleteRange()));
                case REQUEST_TXN -> out.setResponseTxn(execute(txn, op.getRequestTxn(), path.child(nested++)));
                default -> throw EtcdError.KEY_NOT_FOUND.toException();
            }
            resp.addResponses(out);
        }
        return resp.setHeader(header(txn)).build();
    }

    /** Errors of ops on the taken path, checked before anything is written (etcd's checkRequests). */
    private void checkPath(MvccWriteTxn txn, TxnRequest r, TxnPath path) {
        List<RequestOp> ops = path.succeeded() ? r.getSuccessList() : r.getFailureList();
        int nested = 0;
        for (RequestOp op : ops) {
            switch (op.getRequestCase()) {
                case REQUEST_RANGE -> checkRangeRevision(op.getRequestRange().getRevision());
                case REQUEST_PUT -> checkPut(txn, op.getRequestPut());
                case REQUEST_TXN -> checkPath(txn, op.getRequestTxn(), path.child(nested++));
                default -> { }
            }
        }
    }

    private void checkRangeRevision(long rev) {
        if (rev <= 0) {
            return;
        }
        if (rev > store.currentRevision()) {
            throw EtcdError.FUTURE_REV.toException();
        }
        if (rev < store.compactRevision()) {
            throw EtcdError.COMPACTED.toException();
        }
    }

    private void checkPut(MvccWriteTxn txn, PutRequest r) {
        if (r.getLease() != 0 && !leaseExists.test(r.getLease())) {
            throw EtcdError.LEASE_NOT_FOUND.toException();
        }
        if ((r.getIgnoreValue() || r.getIgnoreLease()) && txn.get(r.getKey().toByteArray()) == null) {
            throw EtcdError.KEY_NOT_FOUND.toException();
        }
    }

    private PutResponse doPut(MvccWriteTxn txn, PutRequest r) {
        byte[] key = r.getKey().toByteArray();
        byte[] value = r.getValue().toByteArray();
        long lease = r.getLease();
        if (r.getIgnoreValue() || r.getIgnoreLease()) {
            KeyValue current = txn.get(key);
            if (r.getIgnoreValue()) {
                value = current.value();
            }
            if (r.getIgnoreLease()) {
                lease = current.lease();
            }
        }
        KeyValue prev = txn.put(key, value, lease);
        counters.put();
        PutResponse.Builder resp = PutResponse.newBuilder().setHeader(header(txn));
        if (r.getPrevKv() && prev != null) {
            resp.setPrevKv(KvProtos.toProto(prev));
        }
        return resp.build();
    }

    private DeleteRangeResponse doDelete(MvccWriteTxn txn, DeleteRangeRequest r) {
        List<KeyValue> deleted = txn.deleteRange(r.getKey().toByteArray(), r.getRangeEnd().toByteArray());
        counters.delete();
        DeleteRangeResponse.Builder resp = DeleteRangeResponse.newBuilder()
                .setDeleted(deleted.size())
                .setHeader(header(txn));
        if (r.getPrevKv()) {
            for (KeyValue kv : deleted) {
                resp.addPrevKvs(KvProtos.toProto(kv));
            }
        }
        return resp.build();
    }

    /** A Range op inside a write txn: sees the txn's earlier writes unless it asks for an older revision. */
    private RangeResponse range(MvccWriteTxn txn, RangeRequest r) {
        RangeQuery q = KvProtos.toQuery(r);
        long visible = visibleRevision(txn);
        RangeResult result;
        try {
            if (q.revision() > 0 && q.revision() < visible) {
                result = store.range(q);
            } else {
                result = txn.range(q.atRevision(0));
            }
        } catch (MvccException.Compacted e) {
            throw EtcdError.COMPACTED.toException();
        } catch (MvccException.FutureRevision e) {
            throw EtcdError.FUTURE_REV.toException();
        }
        return RangeResponses.build(result, r.getKeysOnly(), visible);
    }

    /** etcd reports beginRev+1 once the txn has written something, beginRev before. */
    private static long visibleRevision(MvccWriteTxn txn) {
        return txn.changes().isEmpty() ? txn.writeRevision() - 1 : txn.writeRevision();
    }

    private static ResponseHeader header(MvccWriteTxn txn) {
        return ResponseHeader.newBuilder().setRevision(visibleRevision(txn)).build();
    }

    /** Which branch every (nested) txn takes, decided before any write. */
    record TxnPath(boolean succeeded, List<TxnPath> children) {
        TxnPath child(int i) {
            return children.get(i);
        }

        static TxnPath decide(TxnRequest r, java.util.function.Function<RangeQuery, RangeResult> reader) {
            boolean ok = true;
            for (Compare c : r.getCompareList()) {
                if (!Compares.holds(c, reader)) {
                    ok = false;
                    break;
                }
            }
            List<TxnPath> children = new ArrayList<>();
            for (RequestOp op : ok ? r.getSuccessList() : r.getFailureList()) {
                if (op.hasRequestTxn()) {
                    children.add(decide(op.getRequestTxn(), reader));
                }
            }
            return new TxnPath(ok, children);
        }
    }
}
