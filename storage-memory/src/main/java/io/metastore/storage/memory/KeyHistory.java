package io.metastore.storage.memory;

import io.metastore.storage.spi.StoredVersion;

import java.util.Arrays;

/**
 * The stored versions of one key in ascending (main, sub) order. Copy-on-write: the single writer replaces
 * the array, so readers always see a complete, immutable array without locking.
 */
final class KeyHistory {
    private static final StoredVersion[] NONE = new StoredVersion[0];

    private volatile StoredVersion[] versions = NONE;

    StoredVersion[] versions() {
        return versions;
    }

    boolean isEmpty() {
        return versions.length == 0;
    }

    /** Latest version with main <= atRevision, or null. */
    StoredVersion latest(long atRevision) {
        StoredVersion[] vs = versions;
        int i = lastIndexAtOrBelow(vs, atRevision);
        return i < 0 ? null : vs[i];
    }

    /** Index of the last version with main <= revision, -1 if none. */
    static int lastIndexAtOrBelow(StoredVersion[] vs, long revision) {
        int lo = 0;
        int hi = vs.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (vs[mid].main() <= revision) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi;
    }

    /** Adds or replaces the version at v's (main, sub); returns the replaced one, or null. Writer only. */
    StoredVersion put(StoredVersion v) {
        StoredVersion[] vs = versions;
        int i = find(vs, v.main(), v.sub());
        if (i >= 0) {
            StoredVersion[] copy = vs.clone();
            copy[i] = v;
            versions = copy;
            return vs[i];
        }
        int at = -i - 1;
        StoredVersion[] copy = new StoredVersion[vs.length + 1];
        System.arraycopy(vs, 0, copy, 0, at);
        copy[at] = v;
        System.arraycopy(vs, at, copy, at + 1, vs.length - at);
        versions = copy;
        return null;
    }

    /** Removes the version at (main, sub); returns it, or null if absent. Writer only. */
    StoredVersion remove(long main, long sub) {
        StoredVersion[] vs = versions;
        int i = find(vs, main, sub);
        if (i < 0) {
            return null;
        }
        StoredVersion[] copy = new StoredVersion[vs.length - 1];
        System.arraycopy(vs, 0, copy, 0, i);
        System.arraycopy(vs, i + 1, copy, i, vs.length - i - 1);
        versions = copy.length == 0 ? NONE : copy;
        return vs[i];
    }

    /** Binary search by (main, sub): the index, or -(insertion point) - 1. */
    private static int find(StoredVersion[] vs, long main, long sub) {
        int lo = 0;
        int hi = vs.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            StoredVersion m = vs[mid];
            int c = m.main() != main ? Long.compare(m.main(), main) : Long.compare(m.sub(), sub);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    @Override
    public String toString() {
        return Arrays.toString(versions);
    }
}
