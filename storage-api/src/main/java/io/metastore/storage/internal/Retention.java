package io.metastore.storage.internal;

import io.metastore.storage.spi.StoredVersion;

/**
 * The one definition of what compaction to revision C keeps, shared by the physical compactor and by every
 * reader that must not depend on how far physical removal has progressed (hash): every version with
 * main >= C, plus each key's latest version with main < C unless it is a tombstone.
 *
 * <p>For reads at any revision >= C this keeps exactly what is needed. Keeping all of revision C (not only
 * each key's latest version there) lets watching from C replay revision C completely: a tombstone at C
 * survives so the delete is still reported (etcd-io/etcd#19179), and so does an earlier write of a key
 * that the same transaction wrote again.
 */
public final class Retention {
    private Retention() {}

    /**
     * @param latestAtCompact the key's latest stored version with main <= compactRevision (tombstones
     *                        included), or null
     */
    public static boolean retained(StoredVersion v, StoredVersion latestAtCompact, long compactRevision) {
        if (v.main() >= compactRevision) {
            return true;
        }
        return latestAtCompact != null && sameRevision(v, latestAtCompact) && !v.tombstone();
    }

    static boolean sameRevision(StoredVersion a, StoredVersion b) {
        return a.main() == b.main() && a.sub() == b.sub();
    }
}
