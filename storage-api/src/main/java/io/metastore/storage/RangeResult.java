package io.metastore.storage;

import java.util.List;

/**
 * {@code count} is the number of keys in the range at the read revision, ignoring limit and min/max filters
 * (Kubernetes derives remainingItemCount from it). {@code revision} is the store's current revision at read
 * time, not the requested one (etcd's header rule).
 */
public record RangeResult(List<KeyValue> kvs, boolean more, long count, long revision) {}
