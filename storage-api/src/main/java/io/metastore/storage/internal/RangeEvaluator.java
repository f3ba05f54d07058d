package io.metastore.storage.internal;

import io.metastore.storage.Bytes;
import io.metastore.storage.KeyValue;
import io.metastore.storage.RangeQuery;
import io.metastore.storage.RangeQuery.SortOrder;
import io.metastore.storage.RangeQuery.SortTarget;
import io.metastore.storage.RangeResult;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * etcd's Range options (count, limit/more, sort, filters, keys_only, count_only) over the live keys of one
 * revision. Revision validation is the caller's job: this class only shapes the answer.
 */
public final class RangeEvaluator {
    private RangeEvaluator() {}

    private static final Comparator<KeyValue> BY_KEY = (a, b) -> Bytes.compare(a.key(), b.key());

    public static RangeResult evaluate(RangeQuery q, LiveScan source, long headerRevision) {
        if (KeyInterval.isEmpty(q.key(), q.rangeEnd())) {
            return new RangeResult(List.of(), false, 0, headerRevision);
        }
        long[] count = {0};
        if (q.countOnly()) {
            // count ignores limit and the min/max filters, so nothing but the count is needed
            source.scan(q.key(), q.rangeEnd(), kv -> {
                count[0]++;
                return true;
            });
            return new RangeResult(List.of(), false, count[0], headerRevision);
        }

        Comparator<KeyValue> order = sortOrder(q);
        long limit = Math.max(0, q.limit());
        // Without sort or filters the scan order is the answer order: keep limit+1 versions (the extra one
        // only tells "more") instead of the whole range, but keep counting to the end.
        boolean keepFirstOnly = order == null && !hasFilters(q) && limit > 0;
        List<KeyValue> matched = new ArrayList<>();
        source.scan(q.key(), q.rangeEnd(), kv -> {
            count[0]++;
            if ((!keepFirstOnly || matched.size() <= limit) && passesFilters(q, kv)) {
                matched.add(kv);
            }
            return true;
        });
        if (order != null) {
            matched.sort(order);
        }
        boolean more = limit > 0 && matched.size() > limit;
        List<KeyValue> page = more ? matched.subList(0, (int) limit) : matched;
        List<KeyValue> kvs = new ArrayList<>(page.size());
        for (KeyValue kv : page) {
            kvs.add(q.keysOnly() ? kv.withoutValue() : kv);
        }
        return new RangeResult(List.copyOf(kvs), more, count[0], headerRevision);
    }

    /** The comparator to apply, or null when key-ascending scan order already is the answer order. */
    static Comparator<KeyValue> sortOrder(RangeQuery q) {
        SortOrder sortOrder = q.sortOrder() == null ? SortOrder.NONE : q.sortOrder();
        SortTarget target = q.sortTarget() == null ? SortTarget.KEY : q.sortTarget();
        // etcd: NONE with a non-KEY target means ASCEND; NONE or ASCEND by KEY is the natural order
        if (target == SortTarget.KEY && sortOrder != SortOrder.DESCEND) {
            return null;
        }
        Comparator<KeyValue> byTarget = switch (target) {
            case KEY -> BY_KEY;
            case VERSION -> Comparator.comparingLong(KeyValue::version);
            case CREATE -> Comparator.comparingLong(KeyValue::createRevision);
            case MOD -> Comparator.comparingLong(KeyValue::modRevision);
            case VALUE -> (a, b) -> Bytes.compare(a.value(), b.value());
        };
        if (sortOrder == SortOrder.DESCEND) {
            byTarget = byTarget.reversed();
        }
        // etcd's sort is unstable; breaking ties by key makes answers identical on every member
        return byTarget.thenComparing(BY_KEY);
    }

    private static boolean hasFilters(RangeQuery q) {
        return q.minModRevision() != 0 || q.maxModRevision() != 0
                || q.minCreateRevision() != 0 || q.maxCreateRevision() != 0;
    }

    private static boolean passesFilters(RangeQuery q, KeyValue kv) {
        return (q.minModRevision() == 0 || kv.modRevision() >= q.minModRevision())
                && (q.maxModRevision() == 0 || kv.modRevision() <= q.maxModRevision())
                && (q.minCreateRevision() == 0 || kv.createRevision() >= q.minCreateRevision())
                && (q.maxCreateRevision() == 0 || kv.createRevision() <= q.maxCreateRevision());
    }
}
