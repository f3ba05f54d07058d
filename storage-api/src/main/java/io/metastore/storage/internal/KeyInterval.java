package io.metastore.storage.internal;

import io.metastore.storage.Bytes;

import java.util.Collections;
import java.util.NavigableMap;

/** etcd's (key, range_end) convention applied to sorted maps keyed by unsigned byte order. */
public final class KeyInterval {
    private KeyInterval() {}

    /** Smallest key etcd allows: the "all keys" request is ("\0", "\0"); empty keys are rejected. */
    public static final byte[] FIRST_KEY = {0};
    public static final byte[] OPEN_END = {0};

    public static boolean isSingleKey(byte[] end) {
        return end == null || end.length == 0;
    }

    /** range_end non-empty, not "\0" and <= key: etcd answers with an empty result, not an error. */
    public static boolean isEmpty(byte[] start, byte[] end) {
        return !isSingleKey(end) && !Bytes.isOpenEnd(end) && Bytes.compare(end, start) <= 0;
    }

    /** The entries of {@code map} (ordered by {@link Bytes#compare}) inside the interval. */
    public static <V> NavigableMap<byte[], V> slice(NavigableMap<byte[], V> map, byte[] start, byte[] end) {
        if (isEmpty(start, end)) {
            return Collections.emptyNavigableMap();
        }
        if (isSingleKey(end)) {
            return map.subMap(start, true, start, true);
        }
        if (Bytes.isOpenEnd(end)) {
            return map.tailMap(start, true);
        }
        return map.subMap(start, true, end, false);
    }
}
