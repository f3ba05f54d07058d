package io.metastore.server.kv;

import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.storage.KeyValue;
import io.metastore.storage.RangeQuery;
import io.metastore.storage.RangeResult;

import java.util.Arrays;
import java.util.function.Function;

/** etcd's Txn compare (txn/txn.go applyCompare): every key in the range must satisfy it. */
public final class Compares {
    private Compares() {}

    private static final KeyValue ABSENT = new KeyValue(new byte[0], KeyValue.EMPTY, 0, 0, 0, 0);

    public static boolean holds(Compare c, Function<RangeQuery, RangeResult> reader) {
        RangeResult rr = reader.apply(RangeQuery.of(c.getKey().toByteArray(), c.getRangeEnd().toByteArray()));
        if (rr.kvs().isEmpty()) {
            // a missing key has no value to compare: VALUE compares fail, the others compare against zeros
            return c.getTarget() != Compare.CompareTarget.VALUE && holds(c, ABSENT);
        }
        for (KeyValue kv : rr.kvs()) {
            if (!holds(c, kv)) {
                return false;
            }
        }
        return true;
    }

    private static boolean holds(Compare c, KeyValue kv) {
        int cmp = switch (c.getTarget()) {
            case VALUE -> Arrays.compareUnsigned(kv.value(),
                    c.hasValue() ? c.getValue().toByteArray() : KeyValue.EMPTY);
            case CREATE -> Long.compare(kv.createRevision(), c.hasCreateRevision() ? c.getCreateRevision() : 0);
            case MOD -> Long.compare(kv.modRevision(), c.hasModRevision() ? c.getModRevision() : 0);
            case VERSION -> Long.compare(kv.version(), c.hasVersion() ? c.getVersion() : 0);
            case LEASE -> Long.compare(kv.lease(), c.hasLease() ? c.getLease() : 0);
            default -> 0;
        };
        return switch (c.getResult()) {
            case EQUAL -> cmp == 0;
            case NOT_EQUAL -> cmp != 0;
            case GREATER -> cmp > 0;
            case LESS -> cmp < 0;
            default -> true;
        };
    }
}
