package io.metastore.storage.spi;

import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * Read primitives an engine provides. Intervals follow etcd: {@code end} empty = the single key
 * {@code start}; {@code end == "\0"} = every key >= start; otherwise [start, end). Visitors return false to
 * stop early. Arrays handed to visitors must not be mutated by the engine afterwards. A visitor may itself
 * call the reader (HashKV looks up a key's latest version while scanning revisions).
 */
public interface BackendReader {

    /** Latest version of {@code key} with main revision <= {@code atRevision}, tombstones included; or null. */
    StoredVersion latest(byte[] key, long atRevision);

    /** For each key in the interval, in key order, its latest version with main <= atRevision (tombstones included). */
    void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor);

    /** Every stored version of one key with main <= maxRevision, newest first. */
    void scanKeyHistory(byte[] key, long maxRevision, Predicate<StoredVersion> visitor);

    /** Every stored version with main in [fromRevision, toRevision], in (main, sub) order. */
    void scanRevisions(long fromRevision, long toRevision, Predicate<StoredVersion> visitor);

    byte[] getMeta(byte[] key);

    /** Metadata entries whose key starts with {@code prefix}, in unsigned key order. */
    void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor);
}
