package io.metastore.storage.internal;

import io.metastore.storage.Bytes;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.StoredVersion;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NavigableSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;

/**
 * Physical compaction on one background thread: removes the versions {@link Retention} drops, in batches of
 * a bounded number of keys so that neither readers nor the apply thread wait long for any single batch.
 *
 * <p>Only keys with a version in [finished, target] can hold removable versions: after compaction to F
 * every key has at most one version below F, and it is live. So each run scans that revision window
 * rather than the whole key space. Progress is persisted only at the end
 * ({@code compact-finished}); an interrupted run is simply repeated on the next open, which is harmless
 * because removal is idempotent.
 */
public final class Compactor implements AutoCloseable {
    public static final int DEFAULT_BATCH_KEYS = 1000;

    private final MvccBackend backend;
    private final Lock commitLock;
    private final Lock removalLock;
    private final int batchKeys;
    private final ExecutorService executor;
    private final Set<CompletableFuture<Void>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean stopping;
    /** Physical compaction is complete up to this revision. Touched by the compaction thread only. */
    private long finished;

    /**
     * @param commitLock  serializes backend batches with the apply thread (the SPI allows one writer)
     * @param removalLock held while a removal batch commits, so no reader sees versions vanish mid-read
     */
    public Compactor(MvccBackend backend, Lock commitLock, Lock removalLock, long finished, int batchKeys) {
        this.backend = backend;
        this.commitLock = commitLock;
        this.removalLock = removalLock;
        this.finished = finished;
        this.batchKeys = batchKeys;
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "metastore-compactor");
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues physical compaction to {@code target}; completes when it is done (cancelled on close). */
    public CompletableFuture<Void> schedule(long target) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        pending.add(done);
        try {
            executor.execute(() -> run(target, done));
        } catch (RejectedExecutionException e) {
            pending.remove(done);
            done.cancel(false);
        }
        return done;
    }

    private void run(long target, CompletableFuture<Void> done) {
        try {
            if (target > finished) {
                removeUpTo(target);
                finished = target;
            }
            done.complete(null);
        } catch (CancellationException e) {
            done.cancel(false);
        } catch (RuntimeException | Error e) {
            done.completeExceptionally(e);
        } finally {
            pending.remove(done);
        }
    }

    private void removeUpTo(long target) {
        long from = finished;
        while (from >= 0) {
            checkNotStopping();
            NavigableSet<byte[]> keys = new TreeSet<>(Bytes::compare);
            from = collectKeys(from, target, keys);
            Iterator<byte[]> it = keys.iterator();
            while (it.hasNext()) {
                checkNotStopping();
                List<StoredVersion> removals = new ArrayList<>();
                for (int n = 0; n < batchKeys && it.hasNext(); n++) {
                    collectRemovals(it.next(), target, removals);
                }
                commit(removals, -1);
            }
        }
        checkNotStopping();
        commit(List.of(), target);
    }

    /**
     * Adds the keys with versions in [from, target] to {@code keys}, stopping at a main-revision boundary
     * once a batch worth is collected (one huge revision may still exceed it: the caller splits again).
     *
     * @return the main revision to continue from, or -1 when the window is exhausted
     */
    private long collectKeys(long from, long target, NavigableSet<byte[]> keys) {
        long[] next = {-1};
        long[] lastMain = {Long.MIN_VALUE};
        backend.scanRevisions(from, target, v -> {
            if (v.main() != lastMain[0] && keys.size() >= batchKeys) {
                next[0] = v.main();
                return false;
            }
            lastMain[0] = v.main();
            keys.add(v.key());
            return true;
        });
        return next[0];
    }

    /**
     * Adds the key's removable versions oldest first. The apply thread reads without the history lock and
     * an engine may apply a batch one version at a time: removing oldest first keeps a dropped tombstone
     * shadowing the older versions until they are gone, so every intermediate state reads the same.
     */
    private void collectRemovals(byte[] key, long target, List<StoredVersion> removals) {
        List<StoredVersion> newestFirst = new ArrayList<>();
        StoredVersion[] latest = {null};
        backend.scanKeyHistory(key, target, v -> {
            if (latest[0] == null) {
                latest[0] = v;
            }
            if (!Retention.retained(v, latest[0], target)) {
                newestFirst.add(v);
            }
            return true;
        });
        for (int i = newestFirst.size() - 1; i >= 0; i--) {
            removals.add(newestFirst.get(i));
        }
    }

    /** Commits one removal batch; with {@code finishedAt >= 0} also records compaction as complete. */
    private void commit(List<StoredVersion> removals, long finishedAt) {
        if (removals.isEmpty() && finishedAt < 0) {
            return;
        }
        removalLock.lock();
        try {
            commitLock.lock();
            try (BackendBatch batch = backend.newBatch()) {
                for (StoredVersion v : removals) {
                    batch.removeVersion(v.key(), v.main(), v.sub());
                }
                if (finishedAt >= 0) {
                    Bookkeeping.putCompactFinished(batch, finishedAt);
                }
                batch.commit();
            } finally {
                commitLock.unlock();
            }
        } finally {
            removalLock.unlock();
        }
    }

    private void checkNotStopping() {
        if (stopping) {
            throw new CancellationException("store closing");
        }
    }

    /** Stops after the current batch; unfinished compactions are cancelled and resume on the next open. */
    @Override
    public void close() {
        stopping = true;
        executor.shutdown();
        try {
            if (!executor.awaitTermination(60, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (CompletableFuture<Void> f : pending) {
            f.cancel(false);
        }
    }
}
