package io.metastore.server.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.mvccpb.Event;
import io.metastore.storage.KeyValue;
import io.metastore.storage.RangeQuery;

/**
 * Conversions between etcd's protobuf messages and the store's types. Byte arrays are wrapped, not copied:
 * both sides treat them as immutable.
 */
public final class KvProtos {
    private KvProtos() {}

    public static ByteString wrap(byte[] b) {
        return b.length == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(b);
    }

    public static io.metastore.proto.mvccpb.KeyValue toProto(KeyValue kv) {
        var b = io.metastore.proto.mvccpb.KeyValue.newBuilder()
                .setKey(wrap(kv.key()))
                .setCreateRevision(kv.createRevision())
                .setModRevision(kv.modRevision())
                .setVersion(kv.version())
                .setLease(kv.lease());
        if (kv.value().length > 0) {
            b.setValue(wrap(kv.value()));
        }
        return b.build();
    }

    public static Event toProto(io.metastore.storage.Event e, boolean withPrevKv) {
        Event.Builder b = Event.newBuilder()
                .setType(e.type() == io.metastore.storage.Event.Type.PUT ? Event.EventType.PUT : Event.EventType.DELETE)
                .setKv(toProto(e.kv()));
        if (withPrevKv && e.prevKv() != null) {
            b.setPrevKv(toProto(e.prevKv()));
        }
        return b.build();
    }

    /** etcd's rule (txn/range.go): a non-key sort target with no order means ascending. */
    public static RangeQuery toQuery(RangeRequest r) {
        RangeQuery.SortOrder order = switch (r.getSortOrder()) {
            case ASCEND -> RangeQuery.SortOrder.ASCEND;
            case DESCEND -> RangeQuery.SortOrder.DESCEND;
            default -> RangeQuery.SortOrder.NONE;
        };
        RangeQuery.SortTarget target = switch (r.getSortTarget()) {
            case VERSION -> RangeQuery.SortTarget.VERSION;
            case CREATE -> RangeQuery.SortTarget.CREATE;
            case MOD -> RangeQuery.SortTarget.MOD;
            case VALUE -> RangeQuery.SortTarget.VALUE;
            default -> RangeQuery.SortTarget.KEY;
        };
        return new RangeQuery(r.getKey().toByteArray(), r.getRangeEnd().toByteArray(), r.getRevision(), r.getLimit(),
                order, target, r.getKeysOnly(), r.getCountOnly(), r.getMinModRevision(), r.getMaxModRevision(),
                r.getMinCreateRevision(), r.getMaxCreateRevision());
    }
}
