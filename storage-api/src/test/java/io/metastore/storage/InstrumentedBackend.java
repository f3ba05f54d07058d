package io.metastore.storage;

import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * Wraps an engine under test to inject the situations the contract needs but cannot provoke from outside:
 * failing or stalled physical compaction, a read paused half-way, and "restarting" a store over the same
 * engine instance (for engines that cannot reopen from disk).
 */
public class InstrumentedBackend implements MvccBackend {
    static final String COMPACTOR_THREAD = "metastore-compactor";

    final MvccBackend delegate;
    /** False: closing the store leaves the engine open, so another store can be opened over it. */
    volatile boolean closeDelegate = true;
    /** Batches that remove versions fail on commit (a crash in the middle of physical compaction). */
    volatile boolean failRemovals;
    /** When set, the compaction thread waits for it before each revision scan (no store lock is held then). */
    volatile CountDownLatch compactorGate;
    /** When set, a scanLatest on {@link #pauseThread} signals {@link #paused} after one key and waits for {@link #resume}. */
    volatile Thread pauseThread;
    final CountDownLatch paused = new CountDownLatch(1);
    final CountDownLatch resume = new CountDownLatch(1);

    InstrumentedBackend(MvccBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public StoredVersion latest(byte[] key, long atRevision) {
        return delegate.latest(key, atRevision);
    }

    @Override
    public void scanLatest(byte[] start, byte[] end, long atRevision, Predicate<StoredVersion> visitor) {
        if (Thread.currentThread() != pauseThread) {
            delegate.scanLatest(start, end, atRevision, visitor);
            return;
        }
        boolean[] first = {true};
        delegate.scanLatest(start, end, atRevision, v -> {
            boolean more = visitor.test(v);
            if (first[0]) {
                first[0] = false;
                paused.countDown();
                await(resume);
            }
            return more;
        });
    }

    @Override
    public void scanKeyHistory(byte[] key, long maxRevision, Predicate<StoredVersion> visitor) {
        delegate.scanKeyHistory(key, maxRevision, visitor);
    }

    @Override
    public void scanRevisions(long fromRevision, long toRevision, Predicate<StoredVersion> visitor) {
        CountDownLatch gate = compactorGate;
        if (gate != null && Thread.currentThread().getName().startsWith(COMPACTOR_THREAD)) {
            await(gate);
        }
        delegate.scanRevisions(fromRevision, toRevision, visitor);
    }

    @Override
    public byte[] getMeta(byte[] key) {
        return delegate.getMeta(key);
    }

    @Override
    public void scanMeta(byte[] prefix, BiConsumer<byte[], byte[]> visitor) {
        delegate.scanMeta(prefix, visitor);
    }

    @Override
    public BackendBatch newBatch() {
        BackendBatch batch = delegate.newBatch();
        return new BackendBatch() {
            private boolean removes;

            @Override
            public void putVersion(StoredVersion v) {
                batch.putVersion(v);
            }

            @Override
            public void removeVersion(byte[] key, long main, long sub) {
                removes = true;
                batch.removeVersion(key, main, sub);
            }

            @Override
            public void putMeta(byte[] key, byte[] value) {
                batch.putMeta(key, value);
            }

            @Override
            public void deleteMeta(byte[] key) {
                batch.deleteMeta(key);
            }

            @Override
            public void commit() {
                if (removes && failRemovals) {
                    throw new IllegalStateException("injected failure of a removal batch");
                }
                batch.commit();
            }

            @Override
            public void close() {
                batch.close();
            }
        };
    }

    @Override
    public BackendView openView() {
        return delegate.openView();
    }

    @Override
    public long sizeBytes() {
        return delegate.sizeBytes();
    }

    @Override
    public long sizeInUseBytes() {
        return delegate.sizeInUseBytes();
    }

    @Override
    public void defragment() {
        delegate.defragment();
    }

    @Override
    public void flush() {
        delegate.flush();
    }

    @Override
    public boolean durable() {
        return delegate.durable();
    }

    @Override
    public void clear() {
        delegate.clear();
    }

    @Override
    public void close() {
        if (closeDelegate) {
            delegate.close();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("test latch not released within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
