package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;

import java.nio.charset.StandardCharsets;

/**
 * Builders for the handful of etcd requests the recipes use, named after the Go client's options
 * ({@code WithFirstCreate}, {@code WithLastCreate}, ...) so the algorithms read like etcd's.
 */
final class Ops {
    private Ops() {
    }

    static ByteString bytes(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    /** etcd's prefix range end: the prefix with its last byte below 0xff incremented and the rest dropped. */
    static ByteString prefixEnd(ByteString prefix) {
        byte[] b = prefix.toByteArray();
        for (int i = b.length - 1; i >= 0; i--) {
            if ((b[i] & 0xff) != 0xff) {
                byte[] end = java.util.Arrays.copyOf(b, i + 1);
                end[i]++;
                return ByteString.copyFrom(end);
            }
        }
        return ByteString.copyFrom(new byte[] {0}); // all 0xff: every key >= prefix
    }

    static RangeRequest get(ByteString key) {
        return RangeRequest.newBuilder().setKey(key).build();
    }

    static RangeRequest prefix(ByteString prefix) {
        return RangeRequest.newBuilder().setKey(prefix).setRangeEnd(prefixEnd(prefix)).build();
    }

    /** The oldest key (lowest create revision) under the prefix: the lock owner / election leader. */
    static RangeRequest firstCreated(ByteString prefix) {
        return top(prefix, RangeRequest.SortTarget.CREATE, RangeRequest.SortOrder.ASCEND).build();
    }

    /** The newest key under the prefix created at or before {@code maxCreateRevision}: the one to wait for. */
    static RangeRequest lastCreatedAtOrBelow(ByteString prefix, long maxCreateRevision) {
        return top(prefix, RangeRequest.SortTarget.CREATE, RangeRequest.SortOrder.DESCEND)
                .setMaxCreateRevision(maxCreateRevision).build();
    }

    static RangeRequest.Builder top(ByteString prefix, RangeRequest.SortTarget target, RangeRequest.SortOrder order) {
        return RangeRequest.newBuilder().setKey(prefix).setRangeEnd(prefixEnd(prefix))
                .setSortTarget(target).setSortOrder(order).setLimit(1);
    }

    static PutRequest put(ByteString key, ByteString value, long lease) {
        return PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease).build();
    }

    static DeleteRangeRequest delete(ByteString key) {
        return DeleteRangeRequest.newBuilder().setKey(key).build();
    }

    static RequestOp op(RangeRequest r) {
        return RequestOp.newBuilder().setRequestRange(r).build();
    }

    static RequestOp op(PutRequest r) {
        return RequestOp.newBuilder().setRequestPut(r).build();
    }

    static RequestOp op(DeleteRangeRequest r) {
        return RequestOp.newBuilder().setRequestDeleteRange(r).build();
    }

    static Compare createRevision(ByteString key, Compare.CompareResult result, long rev) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE).setResult(result)
                .setCreateRevision(rev).build();
    }

    static Compare modRevision(ByteString key, Compare.CompareResult result, long rev) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.MOD).setResult(result)
                .setModRevision(rev).build();
    }

    static Compare version(ByteString key, Compare.CompareResult result, long version) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.VERSION).setResult(result)
                .setVersion(version).build();
    }

    /** "Key does not exist" as etcd spells it: a missing key compares as create revision 0. */
    static Compare absent(ByteString key) {
        return createRevision(key, Compare.CompareResult.EQUAL, 0);
    }

    /** Put {@code key} only if it does not exist; returns the txn (succeeded = created, header = its revision). */
    static TxnResponse putIfAbsent(EtcdConnection c, ByteString key, ByteString value, long lease) {
        return c.kv().txn(TxnRequest.newBuilder().addCompare(absent(key)).addSuccess(op(put(key, value, lease)))
                .build());
    }

    /** Deletes {@code key} only if it was last modified at {@code modRevision}: claims a queue item exactly once. */
    static boolean deleteIfModRevision(EtcdConnection c, ByteString key, long modRevision) {
        return c.kv().txn(TxnRequest.newBuilder()
                .addCompare(modRevision(key, Compare.CompareResult.EQUAL, modRevision))
                .addSuccess(op(delete(key))).build()).getSucceeded();
    }
}
