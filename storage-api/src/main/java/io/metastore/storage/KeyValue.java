package io.metastore.storage;

import java.util.Arrays;

/**
 * One version of a key, as etcd's mvccpb.KeyValue describes it. Arrays are never copied:
 * callers must treat them as immutable once handed to the store.
 */
public final class KeyValue {
    private final byte[] key;
    private final byte[] value;
    private final long createRevision;
    private final long modRevision;
    private final long version;
    private final long lease;

    public KeyValue(byte[] key, byte[] value, long createRevision, long modRevision, long version, long lease) {
        this.key = key;
        this.value = value == null ? EMPTY : value;
        this.createRevision = createRevision;
        this.modRevision = modRevision;
        this.version = version;
        this.lease = lease;
    }

    public static final byte[] EMPTY = new byte[0];

    public byte[] key() { return key; }
    public byte[] value() { return value; }
    public long createRevision() { return createRevision; }
    public long modRevision() { return modRevision; }
    public long version() { return version; }
    public long lease() { return lease; }

    /** The same version with an empty value (etcd's keys_only). */
    public KeyValue withoutValue() {
        return value.length == 0 ? this : new KeyValue(key, EMPTY, createRevision, modRevision, version, lease);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof KeyValue kv)) return false;
        return createRevision == kv.createRevision && modRevision == kv.modRevision && version == kv.version
                && lease == kv.lease && Arrays.equals(key, kv.key) && Arrays.equals(value, kv.value);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key) * 31 + Long.hashCode(modRevision);
    }

    @Override
    public String toString() {
        return "KeyValue{key=" + Bytes.toDisplay(key) + ", value=" + Bytes.toDisplay(value) + ", create=" + createRevision
                + ", mod=" + modRevision + ", version=" + version + ", lease=" + lease + "}";
    }
}
