package io.metastore.storage.rocksdb;

import io.metastore.storage.KeyValue;
import io.metastore.storage.spi.StoredVersion;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Byte layouts of the RocksDB engine. All composite keys compare correctly with RocksDB's default bytewise
 * (unsigned memcmp) comparator.
 *
 * <p><b>Escaped user key</b> {@code esc(k)}: every {@code 0x00} byte of {@code k} becomes {@code 0x00 0xFF}, then
 * the terminator {@code 0x00 0x00} is appended. The code is prefix-free and order-preserving: for any binary
 * keys {@code a < b} (unsigned, a prefix sorts first) {@code esc(a) + x < esc(b) + y} for all suffixes x, y.
 *
 * <p><b>History key</b>: {@code esc(k) | BE64(~main) | BE64(~sub)} - per user key, newest revision first.
 * <br><b>Revision key</b>: {@code BE64(main) | BE64(sub)} - revision order.
 * <br><b>Version value</b> (current and history CFs): {@code flags(1) | uvarint main | uvarint sub |
 * uvarint create | uvarint version | uvarint lease | value bytes (rest)}; flags bit 0 = tombstone.
 */
final class KeyCodec {
    private KeyCodec() {}

    static final int REV_LEN = 16;
    static final byte FLAG_TOMBSTONE = 1;

    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    // ---------------------------------------------------------------- escaped user keys

    /** Length of {@code esc(key)} including its 2-byte terminator. */
    static int escapedLength(byte[] key) {
        int n = key.length + 2;
        for (byte b : key) {
            if (b == 0) n++;
        }
        return n;
    }

    /** Writes {@code esc(key)} at 0 of a new array of {@code escapedLength + extra} bytes. */
    private static byte[] escape(byte[] key, int extra) {
        byte[] out = new byte[escapedLength(key) + extra];
        int p = 0;
        for (byte b : key) {
            out[p++] = b;
            if (b == 0) out[p++] = (byte) 0xFF;
        }
        // terminator 0x00 0x00 is already zero
        return out;
    }

    static byte[] escaped(byte[] key) {
        return escape(key, 0);
    }

    /**
     * Exclusive upper bound of every history key of {@code key}: {@code esc(key)} with the terminator
     * {@code 00 00} replaced by {@code 00 01}. It is greater than every entry of {@code key} and smaller than
     * every entry of any greater key (after an escaped 0x00 only 0xFF or 0x00 can follow).
     */
    static byte[] historyKeyUpperBound(byte[] key) {
        byte[] out = escape(key, 0);
        out[out.length - 1] = 1;
        return out;
    }

    /** Decodes the user key of a history key whose escaped part has {@code escLen} bytes. */
    static byte[] unescape(byte[] composite, int escLen) {
        int end = escLen - 2;
        int zeros = 0;
        for (int i = 0; i < end; i++) {
            if (composite[i] == 0) zeros++;
        }
        byte[] out = new byte[end - zeros];
        int p = 0;
        for (int i = 0; i < end; i++) {
            byte b = composite[i];
            out[p++] = b;
            if (b == 0) i++; // skip the 0xFF escape
        }
        return out;
    }

    // ---------------------------------------------------------------- history / revision keys

    static byte[] historyKey(byte[] key, long main, long sub) {
        byte[] out = escape(key, REV_LEN);
        int at = out.length - REV_LEN;
        LONG_BE.set(out, at, ~main);
        LONG_BE.set(out, at + 8, ~sub);
        return out;
    }

    /** Seek target for "newest version of {@code key} with main <= maxMain" (maxMain >= 0). */
    static byte[] historySeekKey(byte[] key, long maxMain) {
        byte[] out = escape(key, REV_LEN);
        LONG_BE.set(out, out.length - REV_LEN, ~maxMain);
        // sub part stays 0x00..: smaller than ~sub for every sub >= 0, so all subs of maxMain follow
        return out;
    }

    /** Same seek target, built from an existing history key's escaped prefix. */
    static byte[] historySeekKeyFromPrefix(byte[] composite, int escLen, long maxMain) {
        byte[] out = Arrays.copyOf(composite, escLen + REV_LEN);
        LONG_BE.set(out, escLen, ~maxMain);
        LONG_BE.set(out, escLen + 8, 0L);
        return out;
    }

    /** Exclusive bound after every entry of the user key whose escaped prefix is {@code composite[0, escLen)}. */
    static byte[] nextUserKeySeek(byte[] composite, int escLen) {
        byte[] out = Arrays.copyOf(composite, escLen);
        out[escLen - 1] = 1;
        return out;
    }

    static int escLenOfHistoryKey(byte[] composite) {
        return composite.length - REV_LEN;
    }

    static long historyMain(byte[] composite) {
        return ~(long) LONG_BE.get(composite, composite.length - REV_LEN);
    }

    static long historySub(byte[] composite) {
        return ~(long) LONG_BE.get(composite, composite.length - 8);
    }

    /** True when {@code composite} is a history key with the same escaped user key as {@code prefix[0, escLen)}. */
    static boolean sameUserKey(byte[] composite, byte[] prefix, int escLen) {
        return composite.length == escLen + REV_LEN && Arrays.equals(composite, 0, escLen, prefix, 0, escLen);
    }

    static byte[] revisionKey(long main, long sub) {
        byte[] out = new byte[REV_LEN];
        LONG_BE.set(out, 0, main);
        LONG_BE.set(out, 8, sub);
        return out;
    }

    static long revisionMain(byte[] revKey) {
        return (long) LONG_BE.get(revKey, 0);
    }

    static long revisionSub(byte[] revKey) {
        return (long) LONG_BE.get(revKey, 8);
    }

    /** Smallest key greater than every key starting with {@code prefix}, or null if there is none. */
    static byte[] prefixUpperBound(byte[] prefix) {
        for (int i = prefix.length - 1; i >= 0; i--) {
            if (prefix[i] != (byte) 0xFF) {
                byte[] out = Arrays.copyOf(prefix, i + 1);
                out[i]++;
                return out;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- values

    static byte[] encodeValue(StoredVersion v) {
        KeyValue kv = v.kv();
        byte[] value = kv.value();
        long main = kv.modRevision();
        long sub = v.sub();
        long create = kv.createRevision();
        long version = kv.version();
        long lease = kv.lease();
        int len = 1 + varLen(main) + varLen(sub) + varLen(create) + varLen(version) + varLen(lease) + value.length;
        byte[] out = new byte[len];
        out[0] = v.tombstone() ? FLAG_TOMBSTONE : 0;
        int p = 1;
        p = putVar(out, p, main);
        p = putVar(out, p, sub);
        p = putVar(out, p, create);
        p = putVar(out, p, version);
        p = putVar(out, p, lease);
        System.arraycopy(value, 0, out, p, value.length);
        return out;
    }

    static StoredVersion decodeValue(byte[] key, byte[] in) {
        long[] pos = {1};
        long main = getVar(in, pos);
        long sub = getVar(in, pos);
        long create = getVar(in, pos);
        long version = getVar(in, pos);
        long lease = getVar(in, pos);
        int p = (int) pos[0];
        byte[] value = p == in.length ? KeyValue.EMPTY : Arrays.copyOfRange(in, p, in.length);
        return new StoredVersion(new KeyValue(key, value, create, main, version, lease), sub,
                (in[0] & FLAG_TOMBSTONE) != 0);
    }

    /** (main, sub) of an encoded value without decoding the rest. */
    static long[] decodeRevision(byte[] in) {
        long[] pos = {1};
        long main = getVar(in, pos);
        long sub = getVar(in, pos);
        return new long[] {main, sub};
    }

    private static int varLen(long v) {
        int n = 1;
        while ((v & ~0x7FL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    private static int putVar(byte[] out, int p, long v) {
        while ((v & ~0x7FL) != 0) {
            out[p++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out[p++] = (byte) v;
        return p;
    }

    private static long getVar(byte[] in, long[] pos) {
        int p = (int) pos[0];
        long v = 0;
        int shift = 0;
        while (true) {
            byte b = in[p++];
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) break;
            shift += 7;
            if (shift > 63) throw new IllegalStateException("corrupt varint");
        }
        pos[0] = p;
        return v;
    }
}
