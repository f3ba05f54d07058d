package io.metastore.storage.internal;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.BackendReader;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The store's own state, kept in backend meta next to the application's metadata so it is written in the
 * same atomic batch as the data it describes. Every bookkeeping key starts with byte 0x00; application
 * meta keys never do ({@link #checkApplicationKey}), so the two cannot collide and scans can hide ours.
 */
public final class Bookkeeping {
    private Bookkeeping() {}

    public static final byte RESERVED_PREFIX = 0x00;

    static final byte[] CURRENT_REVISION = key("current-revision");
    /** Logical compaction: reads below it fail. Also the target of the scheduled physical compaction. */
    static final byte[] COMPACT_REVISION = key("compact-revision");
    /** Physical compaction completed up to this revision; below {@link #COMPACT_REVISION} means "resume". */
    static final byte[] COMPACT_FINISHED = key("compact-finished");
    static final byte[] APPLIED_INDEX = key("applied-index");
    /** Present while a snapshot restore is loading: the content is neither the old nor the new store. */
    static final byte[] RESTORE_IN_PROGRESS = key("restore-in-progress");

    /** What the store recovers on open (and after a restore). */
    public record State(long currentRevision, long compactRevision, long compactFinished, AppliedIndex applied,
                        boolean restoreInterrupted) {
        public static final State EMPTY = new State(1, 0, 0, AppliedIndex.NONE, false);
    }

    public static State read(BackendReader reader) {
        return new State(
                readLong(reader, CURRENT_REVISION, 1),
                readLong(reader, COMPACT_REVISION, 0),
                readLong(reader, COMPACT_FINISHED, 0),
                readApplied(reader),
                reader.getMeta(RESTORE_IN_PROGRESS) != null);
    }

    public static boolean isReserved(byte[] metaKey) {
        return metaKey.length > 0 && metaKey[0] == RESERVED_PREFIX;
    }

    public static void checkApplicationKey(byte[] metaKey) {
        if (isReserved(metaKey)) {
            throw new IllegalArgumentException("meta keys starting with byte 0x00 are reserved for the store");
        }
    }

    public static void putCurrentRevision(BackendBatch batch, long revision) {
        batch.putMeta(CURRENT_REVISION, encodeLong(revision));
    }

    public static void putCompactRevision(BackendBatch batch, long revision) {
        batch.putMeta(COMPACT_REVISION, encodeLong(revision));
    }

    public static void putCompactFinished(BackendBatch batch, long revision) {
        batch.putMeta(COMPACT_FINISHED, encodeLong(revision));
    }

    public static void putApplied(BackendBatch batch, AppliedIndex applied) {
        batch.putMeta(APPLIED_INDEX, ByteBuffer.allocate(16).putLong(applied.term()).putLong(applied.index()).array());
    }

    public static void markRestoreInProgress(BackendBatch batch) {
        batch.putMeta(RESTORE_IN_PROGRESS, new byte[] {1});
    }

    public static void clearRestoreInProgress(BackendBatch batch) {
        batch.deleteMeta(RESTORE_IN_PROGRESS);
    }

    private static byte[] key(String name) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        byte[] k = new byte[n.length + 1];
        k[0] = RESERVED_PREFIX;
        System.arraycopy(n, 0, k, 1, n.length);
        return k;
    }

    private static long readLong(BackendReader reader, byte[] key, long absent) {
        byte[] v = reader.getMeta(key);
        return v == null ? absent : ByteBuffer.wrap(v).getLong();
    }

    private static AppliedIndex readApplied(BackendReader reader) {
        byte[] v = reader.getMeta(APPLIED_INDEX);
        if (v == null) {
            return AppliedIndex.NONE;
        }
        ByteBuffer b = ByteBuffer.wrap(v);
        return new AppliedIndex(b.getLong(), b.getLong());
    }

    private static byte[] encodeLong(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }
}
