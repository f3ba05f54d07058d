package io.metastore.storage.spi;

import io.metastore.storage.KeyValue;

/**
 * One entry of a key's history as an engine stores it: the version written at revision
 * ({@code kv.modRevision()}, {@code sub}). A tombstone records a delete; its kv has only key and mod revision.
 */
public record StoredVersion(KeyValue kv, long sub, boolean tombstone) {

    public byte[] key() {
        return kv.key();
    }

    public long main() {
        return kv.modRevision();
    }

    public static StoredVersion tombstone(byte[] key, long main, long sub) {
        return new StoredVersion(new KeyValue(key, KeyValue.EMPTY, 0, main, 0, 0), sub, true);
    }
}
