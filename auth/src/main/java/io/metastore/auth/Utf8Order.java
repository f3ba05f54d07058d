package io.metastore.auth;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/**
 * etcd orders user and role names as Go strings, i.e. by their UTF-8 bytes (bucket key order and
 * {@code sort.Strings}). Java's {@link String#compareTo} orders UTF-16 units, which differs for characters
 * outside the BMP, so lists would come out in another order than etcd's.
 */
final class Utf8Order {
    static final Comparator<String> NAMES = (a, b) ->
            Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    /** Keys as etcd compares them ({@code bytes.Compare}). */
    static int compare(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b);
    }

    private Utf8Order() {
    }
}
