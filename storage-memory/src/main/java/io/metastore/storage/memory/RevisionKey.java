package io.metastore.storage.memory;

import io.metastore.storage.Bytes;

import java.util.Comparator;

/** Position of a version in revision order; the key only separates entries a caller put at the same revision. */
record RevisionKey(long main, long sub, byte[] key) {
    static final Comparator<RevisionKey> ORDER = Comparator.comparingLong(RevisionKey::main)
            .thenComparingLong(RevisionKey::sub)
            .thenComparing(RevisionKey::key, Bytes::compare);

    /** Sorts before every entry of revision {@code main}. */
    static RevisionKey first(long main) {
        return new RevisionKey(main, Long.MIN_VALUE, new byte[0]);
    }
}
