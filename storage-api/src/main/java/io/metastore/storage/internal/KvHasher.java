package io.metastore.storage.internal;

import io.metastore.storage.spi.BackendReader;
import io.metastore.storage.spi.StoredVersion;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * HashKV: CRC32C over the versions with main <= revision that compaction logically retains, in (main, sub)
 * order. Versions that compaction has logically dropped but not yet physically removed are skipped, so
 * the hash depends on neither the engine nor the progress of physical compaction.
 *
 * <p>Each version is encoded big-endian as: main, sub (8 bytes each), tombstone flag (1 byte), key length
 * (4) + key, value length (4) + value, create revision, version, lease (8 each).
 */
public final class KvHasher {
    private KvHasher() {}

    public static int hash(BackendReader reader, long revision, long compactRevision) {
        CRC32C crc = new CRC32C();
        ByteBuffer fixed = ByteBuffer.allocate(8 + 8 + 1 + 4);
        ByteBuffer tail = ByteBuffer.allocate(8 * 3);
        reader.scanRevisions(0, revision, v -> {
            // Only versions below the compact revision can be logically dropped; checking them needs the
            // key's latest version at the compact revision (a point read, cheap since few such versions survive).
            if (v.main() < compactRevision
                    && !Retention.retained(v, reader.latest(v.key(), compactRevision), compactRevision)) {
                return true;
            }
            update(crc, fixed, tail, v);
            return true;
        });
        return (int) crc.getValue();
    }

    private static void update(CRC32C crc, ByteBuffer fixed, ByteBuffer tail, StoredVersion v) {
        var kv = v.kv();
        fixed.clear();
        fixed.putLong(v.main()).putLong(v.sub()).put((byte) (v.tombstone() ? 1 : 0)).putInt(kv.key().length);
        crc.update(fixed.array(), 0, fixed.position());
        crc.update(kv.key());
        fixed.clear();
        fixed.putInt(kv.value().length);
        crc.update(fixed.array(), 0, 4);
        crc.update(kv.value());
        tail.clear();
        tail.putLong(kv.createRevision()).putLong(kv.version()).putLong(kv.lease());
        crc.update(tail.array(), 0, tail.position());
    }
}
