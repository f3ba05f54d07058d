package io.metastore.auth;

import io.metastore.proto.authpb.Permission;
import io.metastore.proto.authpb.Role;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * One user's key permissions merged over all their roles, as etcd's range permission cache keeps them
 * ({@code server/auth/range_perm_cache.go}): a set of READ intervals and a set of WRITE intervals
 * (READWRITE lands in both). Immutable; built once per user and auth state.
 *
 * <p>Key encoding, as etcd's {@code BytesAffineComparable}: an interval is [key, rangeEnd); an empty
 * rangeEnd in a permission means the single key (the interval [key, key+"\0")); a rangeEnd of "\0" means
 * open-ended, represented here as {@code null} = greater than every key.
 */
public final class RangePermissions {
    static final RangePermissions NONE = new RangePermissions(new Intervals(List.of()), new Intervals(List.of()));

    private final Intervals read;
    private final Intervals write;

    private RangePermissions(Intervals read, Intervals write) {
        this.read = read;
        this.write = write;
    }

    /** Merges the permissions of {@code roles} (the user's roles that exist; unknown ones contribute nothing). */
    static RangePermissions of(Collection<Role> roles) {
        List<byte[][]> reads = new ArrayList<>();
        List<byte[][]> writes = new ArrayList<>();
        for (Role role : roles) {
            for (Permission p : role.getKeyPermissionList()) {
                byte[][] ivl = permissionInterval(p);
                switch (p.getPermType()) {
                    case READ -> reads.add(ivl);
                    case WRITE -> writes.add(ivl);
                    case READWRITE -> {
                        reads.add(ivl);
                        writes.add(ivl);
                    }
                    default -> { } // an unknown type from a newer etcd grants nothing
                }
            }
        }
        return new RangePermissions(new Intervals(reads), new Intervals(writes));
    }

    /**
     * Whether the request interval is covered: a single key ({@code rangeEnd} empty) must lie in one permitted
     * interval; a range [key, rangeEnd) (rangeEnd "\0" = to the end of the key space) must lie completely
     * inside the union of the permitted intervals.
     */
    public boolean permits(byte[] key, byte[] rangeEnd, boolean write) {
        Intervals set = write ? this.write : this.read;
        if (rangeEnd == null || rangeEnd.length == 0) {
            return set.containsPoint(key);
        }
        return set.containsRange(key, isOpenEnded(rangeEnd) ? null : rangeEnd);
    }

    static boolean isOpenEnded(byte[] rangeEnd) {
        return rangeEnd.length == 1 && rangeEnd[0] == 0;
    }

    /**
     * etcd's isValidPermissionRange: a non-empty key, and either a single key (no rangeEnd), key < rangeEnd, or
     * the open end "\0" (which also makes {"\0", "\0"} "every key").
     */
    static boolean isValidPermissionRange(byte[] key, byte[] rangeEnd) {
        if (key.length == 0) {
            return false;
        }
        if (rangeEnd.length == 0) {
            return true;
        }
        return Utf8Order.compare(key, rangeEnd) < 0 || isOpenEnded(rangeEnd);
    }

    private static byte[][] permissionInterval(Permission p) {
        byte[] key = p.getKey().toByteArray();
        byte[] end = p.getRangeEnd().toByteArray();
        if (end.length == 0) {
            return new byte[][] {key, Arrays.copyOf(key, key.length + 1)}; // the point: [key, key+"\0")
        }
        return new byte[][] {key, isOpenEnded(end) ? null : end};
    }

    /** Affine order: null (and, as in etcd, an empty array) is greater than every key. */
    static int compareAffine(byte[] a, byte[] b) {
        boolean aInf = a == null || a.length == 0;
        boolean bInf = b == null || b.length == 0;
        if (aInf || bInf) {
            return aInf == bInf ? 0 : (aInf ? 1 : -1);
        }
        return Utf8Order.compare(a, b);
    }

    /** A set of [begin, end) intervals, kept both as given and coalesced for logarithmic lookups. */
    private static final class Intervals {
        private final byte[][] begins; // coalesced, sorted, disjoint and non-touching
        private final byte[][] ends;
        private final List<byte[][]> original;

        Intervals(List<byte[][]> intervals) {
            List<byte[][]> sorted = new ArrayList<>(intervals);
            sorted.sort(Comparator.comparing((byte[][] i) -> i[0], RangePermissions::compareAffine));
            this.original = List.copyOf(sorted);
            List<byte[]> b = new ArrayList<>();
            List<byte[]> e = new ArrayList<>();
            for (byte[][] ivl : sorted) {
                if (compareAffine(ivl[0], ivl[1]) >= 0) {
                    continue; // empty interval (cannot be granted; defensive)
                }
                int last = e.size() - 1;
                if (last >= 0 && compareAffine(ivl[0], e.get(last)) <= 0) { // overlaps or touches: extend
                    if (compareAffine(ivl[1], e.get(last)) > 0) {
                        e.set(last, ivl[1]);
                    }
                } else {
                    b.add(ivl[0]);
                    e.add(ivl[1]);
                }
            }
            this.begins = b.toArray(new byte[0][]);
            this.ends = e.toArray(new byte[0][]);
        }

        boolean containsPoint(byte[] key) {
            int i = lastBeginAtOrBefore(key);
            return i >= 0 && compareAffine(key, ends[i]) < 0;
        }

        /** {@code end} null = open-ended. */
        boolean containsRange(byte[] begin, byte[] end) {
            if (compareAffine(begin, end) >= 0) {
                // An empty request interval: etcd's interval tree answers "covered" exactly when one
                // permitted interval intersects it, i.e. starts before its end and ends after its begin.
                for (byte[][] ivl : original) {
                    if (compareAffine(ivl[0], end) < 0 && compareAffine(begin, ivl[1]) < 0) {
                        return true;
                    }
                }
                return false;
            }
            int i = lastBeginAtOrBefore(begin);
            return i >= 0 && compareAffine(end, ends[i]) <= 0;
        }

        private int lastBeginAtOrBefore(byte[] key) {
            int lo = 0;
            int hi = begins.length - 1;
            int found = -1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (compareAffine(begins[mid], key) <= 0) {
                    found = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            return found;
        }
    }
}
