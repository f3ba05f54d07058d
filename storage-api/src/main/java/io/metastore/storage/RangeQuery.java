package io.metastore.storage;

/**
 * etcd's RangeRequest in domain terms. {@code rangeEnd} empty = the single key; {@code "\0"} = all keys
 * >= key. {@code revision} <= 0 = the current revision. {@code limit} 0 = unlimited. Min/max filters
 * use 0 as "unset" and are inclusive.
 */
public record RangeQuery(byte[] key, byte[] rangeEnd, long revision, long limit,
                         SortOrder sortOrder, SortTarget sortTarget,
                         boolean keysOnly, boolean countOnly,
                         long minModRevision, long maxModRevision,
                         long minCreateRevision, long maxCreateRevision) {

    public enum SortOrder { NONE, ASCEND, DESCEND }
    public enum SortTarget { KEY, VERSION, CREATE, MOD, VALUE }

    public static RangeQuery of(byte[] key, byte[] rangeEnd) {
        return new RangeQuery(key, rangeEnd, 0, 0, SortOrder.NONE, SortTarget.KEY, false, false, 0, 0, 0, 0);
    }

    public static RangeQuery key(byte[] key) {
        return of(key, KeyValue.EMPTY);
    }

    public RangeQuery atRevision(long rev) {
        return new RangeQuery(key, rangeEnd, rev, limit, sortOrder, sortTarget, keysOnly, countOnly,
                minModRevision, maxModRevision, minCreateRevision, maxCreateRevision);
    }

    public RangeQuery withLimit(long newLimit) {
        return new RangeQuery(key, rangeEnd, revision, newLimit, sortOrder, sortTarget, keysOnly, countOnly,
                minModRevision, maxModRevision, minCreateRevision, maxCreateRevision);
    }

    public RangeQuery sorted(SortOrder order, SortTarget target) {
        return new RangeQuery(key, rangeEnd, revision, limit, order, target, keysOnly, countOnly,
                minModRevision, maxModRevision, minCreateRevision, maxCreateRevision);
    }

    public RangeQuery withKeysOnly(boolean v) {
        return new RangeQuery(key, rangeEnd, revision, limit, sortOrder, sortTarget, v, countOnly,
                minModRevision, maxModRevision, minCreateRevision, maxCreateRevision);
    }

    public RangeQuery withCountOnly(boolean v) {
        return new RangeQuery(key, rangeEnd, revision, limit, sortOrder, sortTarget, keysOnly, v,
                minModRevision, maxModRevision, minCreateRevision, maxCreateRevision);
    }

    public RangeQuery withModRevisionBounds(long min, long max) {
        return new RangeQuery(key, rangeEnd, revision, limit, sortOrder, sortTarget, keysOnly, countOnly,
                min, max, minCreateRevision, maxCreateRevision);
    }

    public RangeQuery withCreateRevisionBounds(long min, long max) {
        return new RangeQuery(key, rangeEnd, revision, limit, sortOrder, sortTarget, keysOnly, countOnly,
                minModRevision, maxModRevision, min, max);
    }
}
