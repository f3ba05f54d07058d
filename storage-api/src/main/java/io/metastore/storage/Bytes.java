package io.metastore.storage;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Unsigned lexicographic byte-string order, the order etcd keys sort in. */
public final class Bytes {
    private Bytes() {}

    public static int compare(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b);
    }

    /**
     * True when {@code key} lies in etcd's interval for (start, end): an empty end means the single key
     * {@code start}; end {@code "\0"} means every key >= start.
     */
    public static boolean inRange(byte[] key, byte[] start, byte[] end) {
        if (end == null || end.length == 0) {
            return Arrays.equals(key, start);
        }
        if (compare(key, start) < 0) {
            return false;
        }
        return isOpenEnd(end) || compare(key, end) < 0;
    }

    /** etcd's "\0" range end: open-ended. */
    public static boolean isOpenEnd(byte[] end) {
        return end != null && end.length == 1 && end[0] == 0;
    }

    public static String toDisplay(byte[] b) {
        if (b == null) return "null";
        return new String(b, StandardCharsets.UTF_8);
    }
}
