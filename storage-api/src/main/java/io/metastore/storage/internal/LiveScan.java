package io.metastore.storage.internal;

import io.metastore.storage.KeyValue;
import io.metastore.storage.spi.BackendReader;

import java.util.function.Predicate;

/**
 * The live keys of one read revision, in key order, as the range evaluator consumes them. Implemented once
 * over the backend (committed data) and once over a write transaction's overlay (its own pending writes).
 */
@FunctionalInterface
public interface LiveScan {
    /** Visits each live key in etcd's interval (start, end) with its current version; false stops. */
    void scan(byte[] start, byte[] end, Predicate<KeyValue> visitor);

    /** Committed data at {@code revision}: each key's latest version there, deleted keys skipped. */
    static LiveScan committed(BackendReader reader, long revision) {
        return (start, end, visitor) -> {
            if (!KeyInterval.isEmpty(start, end)) { // engines need not handle end <= start
                reader.scanLatest(start, end, revision, v -> v.tombstone() || visitor.test(v.kv()));
            }
        };
    }
}
