package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.TxnRequest;

/**
 * A priority queue (etcd's {@code recipes.PriorityQueue}): item keys are {@code <prefix>/<priority %05d>/<seq
 * %016d>}, so key order is priority order (0 first) and, within one priority, enqueue order. Dequeue takes the
 * first key, claimed exactly once as in {@link DistributedQueue}.
 *
 * <p>Sequence numbers come from the last key of that priority plus one; a counter key
 * {@code <prefix>__seq/<priority>} (outside the item range) is rewritten by every enqueue and compared by mod
 * revision, so two producers racing for the same number cannot both win. Thread-safe.
 */
public final class PriorityQueue extends KeyQueue {
    public static final int MAX_PRIORITY = 65_535;

    private final String name;

    public PriorityQueue(EtcdConnection conn, String prefix) {
        super(conn, Ops.bytes(prefix + "/"),
                Ops.top(Ops.bytes(prefix + "/"), RangeRequest.SortTarget.KEY, RangeRequest.SortOrder.ASCEND).build());
        this.name = prefix;
    }

    /** Adds {@code value} with {@code priority} in [0, 65535]; lower numbers are dequeued first. */
    public void enqueue(String value, int priority) {
        if (priority < 0 || priority > MAX_PRIORITY) {
            throw new IllegalArgumentException("priority must be in [0, " + MAX_PRIORITY + "]: " + priority);
        }
        String level = String.format("%s/%05d/", name, priority);
        ByteString guard = Ops.bytes(String.format("%s__seq/%05d", name, priority));
        while (true) {
            RangeResponse last = conn.kv().range(
                    Ops.top(Ops.bytes(level), RangeRequest.SortTarget.KEY, RangeRequest.SortOrder.DESCEND).build());
            long seq = 0;
            if (last.getKvsCount() > 0) {
                String k = last.getKvs(0).getKey().toStringUtf8();
                seq = Long.parseLong(k.substring(k.lastIndexOf('/') + 1)) + 1;
            }
            ByteString key = Ops.bytes(String.format("%s%016d", level, seq));
            // nobody enqueued at this priority since our read: the guard was not modified after it
            boolean ok = conn.kv().txn(TxnRequest.newBuilder()
                    .addCompare(Ops.modRevision(guard, Compare.CompareResult.LESS, last.getHeader().getRevision() + 1))
                    .addSuccess(Ops.op(Ops.put(guard, ByteString.EMPTY, 0)))
                    .addSuccess(Ops.op(Ops.put(key, Ops.bytes(value), 0)))
                    .build()).getSucceeded();
            if (ok) {
                return;
            }
        }
    }
}
