package io.metastore.server.grpc;

import io.grpc.Context;
import io.grpc.Status;
import io.metastore.server.etcd.EtcdError;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the Lock and Election handlers' blocking work (the SDK's recipes are blocking) off the transport threads,
 * which the server runs handlers on directly. Bounded: at most {@code maxWaits} calls that may wait indefinitely
 * (Lock, Campaign, Observe streams), plus {@code maxQuick} short ones (Unlock, Proclaim, Resign, Leader) that thus
 * always find a thread even when the waits are at their limit — an Unlock must never queue behind the Locks
 * waiting for it. Beyond the limits calls fail at once with etcd's "too many requests".
 *
 * <p>A call whose client goes away (cancel, deadline, disconnect) has its thread interrupted, which the SDK's
 * waits answer by withdrawing their key. {@link #close()} interrupts everything still running: nothing here
 * outlives the member.
 */
final class BlockingCalls implements AutoCloseable {
    private static final AtomicInteger THREAD_IDS = new AtomicInteger();

    private final ThreadPoolExecutor pool;
    private final Semaphore waitSlots;

    BlockingCalls(int maxWaits, int maxQuick) {
        this.waitSlots = new Semaphore(maxWaits);
        // no queue: a call either gets a thread now or is refused; idle threads go away after a while
        this.pool = new ThreadPoolExecutor(0, maxWaits + maxQuick, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "lock-election-" + THREAD_IDS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** A body that may block and be interrupted. */
    interface Body<T> {
        T run() throws Exception;
    }

    /** A call that may wait for as long as its client wants (Lock, Campaign). */
    <T> CompletableFuture<T> waiting(Body<T> body) {
        if (!waitSlots.tryAcquire()) {
            return CompletableFuture.failedFuture(GrpcErrors.toStatus(EtcdError.TOO_MANY_REQUESTS));
        }
        return submit(body, waitSlots::release);
    }

    /** A call that completes within its RPC timeouts. */
    <T> CompletableFuture<T> quick(Body<T> body) {
        return submit(body, () -> { });
    }

    /**
     * Reserves a wait slot for something that blocks on a thread of its own (an election observer); null when
     * the limit is reached. Run the returned release exactly once when it ends.
     */
    Runnable reserveWait() {
        return waitSlots.tryAcquire() ? new ReleaseOnce(waitSlots) : null;
    }

    /** Runs clean-up that may block (closing an observation) on a pool thread, or a thread of its own if full. */
    Executor background() {
        return task -> {
            try {
                pool.execute(task);
            } catch (RejectedExecutionException e) {
                Thread t = new Thread(task, "lock-election-cleanup");
                t.setDaemon(true);
                t.start();
            }
        };
    }

    private <T> CompletableFuture<T> submit(Body<T> body, Runnable release) {
        Context ctx = Context.current();
        Call<T> call = new Call<>(body, release);
        try {
            pool.execute(call);
        } catch (RejectedExecutionException e) {
            release.run();
            return CompletableFuture.failedFuture(GrpcErrors.toStatus(
                    pool.isShutdown() ? EtcdError.STOPPED : EtcdError.TOO_MANY_REQUESTS));
        }
        Context.CancellationListener onCancel = c -> call.cancel();
        ctx.addListener(onCancel, Runnable::run);
        call.result.whenComplete((v, t) -> ctx.removeListener(onCancel));
        return call.result;
    }

    /** One body on one pool thread; cancel() interrupts it if it runs, or keeps it from starting. */
    private static final class Call<T> implements Runnable {
        final CompletableFuture<T> result = new CompletableFuture<>();
        private final Body<T> body;
        private final Runnable release;
        private Thread runner;
        private boolean cancelled;

        Call(Body<T> body, Runnable release) {
            this.body = body;
            this.release = release;
        }

        @Override
        public void run() {
            try {
                synchronized (this) {
                    if (cancelled) {
                        result.completeExceptionally(Status.CANCELLED.withDescription("client cancelled")
                                .asRuntimeException());
                        return;
                    }
                    runner = Thread.currentThread();
                }
                try {
                    result.complete(body.run());
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                } finally {
                    synchronized (this) {
                        runner = null;
                        Thread.interrupted(); // a late cancel must not leak into the pool thread's next call
                    }
                }
            } finally {
                release.run();
            }
        }

        synchronized void cancel() {
            cancelled = true;
            if (runner != null) {
                runner.interrupt();
            }
        }
    }

    private static final class ReleaseOnce implements Runnable {
        private final Semaphore slots;
        private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

        ReleaseOnce(Semaphore slots) {
            this.slots = slots;
        }

        @Override
        public void run() {
            if (released.compareAndSet(false, true)) {
                slots.release();
            }
        }
    }

    /** Interrupts every running call (their waits withdraw their keys) and waits briefly for them to finish. */
    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
