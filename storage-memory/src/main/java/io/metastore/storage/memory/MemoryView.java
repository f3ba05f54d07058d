package io.metastore.storage.memory;

import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;

import java.util.NavigableMap;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * A point-in-time view of a {@link MemoryBackend}: versions are filtered to the newest revision committed
 * when it was opened (the store only ever adds versions above that) and metadata is a private copy.
 */
final class MemoryView implements MvccBackend.BackendView {
    private final MemoryBackend backend;
    private final long maxMain;
    private final NavigableMap<byte[], byte[]> meta;

    MemoryView(MemoryBackend backend, long maxMain, NavigableMap<byte[], byte[]> meta) {
        this.backend = backend;
        this.maxMain = maxMain;
        this.meta = meta;
    }

    @Override
    public StoredVersion latest(byte[] key, long atRevision) {
        return backend.latest(key, Math.min(atRevision, maxMain));
    }

    @Override
    public void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor) {
        backend.scanLatest(start, end, Math.min(atRevision, maxMain), visitor);
    }

    @Override
    public void scanKeyHistory(byte[] key, long maxRevision, Predicate<StoredVersion> visitor) {
        backend.scanKeyHistory(key, Math.min(maxRevision, maxMain), visitor);
    }

    @Override
    public void scanRevisions(long fromRevision, long toRevision, Predicate<StoredVersion> visitor) {
        backend.scanRevisions(fromRevision, Math.min(toRevision, maxMain), visitor);
    }

    @Override
    public byte[] getMeta(byte[] key) {
        return meta.get(key);
    }

    @Override
    public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
        MemoryBackend.scanPrefix(meta, prefix, visitor);
    }

    @Override
    public void close() {
        // nothing held
    }
}
