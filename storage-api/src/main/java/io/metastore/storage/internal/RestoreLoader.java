package io.metastore.storage.internal;

import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;

import java.util.concurrent.locks.Lock;

/**
 * Loads a verified snapshot image into a cleared backend in bounded batches. The first batch marks the
 * backend as "restore in progress" and the last one clears the mark, so a crash in between is detected on
 * the next open instead of serving a half-loaded store.
 */
public final class RestoreLoader implements SnapshotCodec.Sink {
    private static final int MAX_RECORDS = 1000;
    private static final long MAX_BYTES = 4L << 20;

    private final MvccBackend backend;
    private final Lock commitLock;
    private BackendBatch batch;
    private int records;
    private long bytes;

    public RestoreLoader(MvccBackend backend, Lock commitLock) {
        this.backend = backend;
        this.commitLock = commitLock;
        this.batch = backend.newBatch();
        Bookkeeping.markRestoreInProgress(batch);
    }

    @Override
    public void version(StoredVersion v) {
        batch.putVersion(v);
        added(v.key().length + v.kv().value().length);
    }

    @Override
    public void meta(byte[] key, byte[] value) {
        batch.putMeta(key, value);
        added(key.length + value.length);
    }

    /** Commits the last batch, which also declares the content complete. */
    public void finish() {
        Bookkeeping.clearRestoreInProgress(batch);
        commitBatch();
    }

    /** Drops the uncommitted remainder after a failure. */
    public void abandon() {
        if (batch != null) {
            batch.close();
            batch = null;
        }
    }

    private void added(long size) {
        records++;
        bytes += size;
        if (records >= MAX_RECORDS || bytes >= MAX_BYTES) {
            commitBatch();
            batch = backend.newBatch();
            records = 0;
            bytes = 0;
        }
    }

    private void commitBatch() {
        commitLock.lock();
        try (BackendBatch b = batch) {
            b.commit();
        } finally {
            batch = null;
            commitLock.unlock();
        }
    }
}
