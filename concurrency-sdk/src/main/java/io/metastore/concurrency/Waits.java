package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.mvccpb.Event;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Blocking waits shared by the recipes. Each is a watch (never a poll), is interruptible, honours a
 * {@link Deadline}, fails with {@link SessionLostException} as soon as the given session is lost, and survives
 * compaction and broken streams by re-reading the state and watching again.
 */
final class Waits {
    /** Pause before re-reading after a broken stream (server restart, leader change, network blip). */
    private static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private Waits() {
    }

    /** Waits for {@code f}; on interrupt, timeout or session loss the future is cancelled (closing its watch). */
    static <T> T await(CompletableFuture<T> f, Deadline deadline, Session session)
            throws InterruptedException, TimeoutException {
        if (session != null) {
            session.failOnLoss(f);
        }
        try {
            return deadline.isInfinite() ? f.get() : f.get(deadline.remainingNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException | TimeoutException e) {
            f.cancel(true);
            throw e;
        } catch (CancellationException e) {
            throw new ConcurrencyException("wait cancelled", e);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error err) {
            throw err;
        }
        return new ConcurrencyException("wait failed", t);
    }

    /**
     * Whether a failed wait should re-read and watch again rather than give up: the watch was compacted, or the
     * stream broke in a way that a later attempt may not see (Unavailable, server-side cancel).
     */
    static boolean retryable(RuntimeException e) {
        if (e instanceof WatchCompactedException) {
            return true;
        }
        if (e instanceof StatusRuntimeException s) {
            Status.Code code = s.getStatus().getCode();
            return code == Status.Code.UNAVAILABLE || code == Status.Code.INTERNAL
                    || (code == Status.Code.UNKNOWN && String.valueOf(s.getStatus().getDescription()).contains("no leader"));
        }
        return e instanceof ConcurrencyException && e.getMessage() != null
                && (e.getMessage().startsWith("watch canceled by the server")
                || e.getMessage().startsWith("watch stream closed"));
    }

    /** Sleeps the retry pause (less if the deadline is nearer); a compaction retries at once. */
    static void pauseBeforeRetry(RuntimeException cause, Deadline deadline) throws InterruptedException, TimeoutException {
        deadline.check();
        if (!(cause instanceof WatchCompactedException)) {
            TimeUnit.NANOSECONDS.sleep(Math.min(RETRY_PAUSE_NANOS, deadline.remainingNanos()));
            deadline.check();
        }
    }

    /**
     * Waits until {@code key} is deleted, given that a read at {@code seenAtRevision} still saw it: watches from
     * the next revision, so a delete in between is not missed.
     */
    static void awaitDelete(EtcdConnection c, ByteString key, long seenAtRevision, Deadline deadline, Session session)
            throws InterruptedException, TimeoutException {
        long from = seenAtRevision + 1;
        while (true) {
            try {
                await(WatchStream.firstEvent(c, key, ByteString.EMPTY, from, e -> e.getType() == Event.EventType.DELETE),
                        deadline, session);
                return;
            } catch (RuntimeException e) {
                if (!retryable(e)) {
                    throw e;
                }
                pauseBeforeRetry(e, deadline);
                // the events we needed may be gone: look at the key itself again
                RangeResponse now = c.kv().range(Ops.get(key));
                if (now.getKvsCount() == 0) {
                    return;
                }
                from = now.getHeader().getRevision() + 1;
            }
        }
    }

    /**
     * etcd's {@code waitDeletes}: returns once no key under {@code prefix} has a create revision at or below
     * {@code maxCreateRevision}, waiting for the newest such key's deletion each round. Waiting on the newest
     * (not the oldest) means one wake-up per predecessor that actually leaves, and no herd on the owner's key.
     */
    static void awaitNoneCreatedAtOrBelow(EtcdConnection c, ByteString prefix, long maxCreateRevision,
                                          Deadline deadline, Session session)
            throws InterruptedException, TimeoutException {
        while (true) {
            RangeResponse r = c.kv().range(Ops.lastCreatedAtOrBelow(prefix, maxCreateRevision));
            if (r.getKvsCount() == 0) {
                return;
            }
            awaitDelete(c, r.getKvs(0).getKey(), r.getHeader().getRevision(), deadline, session);
        }
    }

    /**
     * Waits for the first event on {@code [key, rangeEnd)} at or after {@code fromRevision} that matches; on a
     * broken or compacted watch, returns null so the caller re-reads its state (the event may have been missed).
     */
    static Event awaitEventOrStale(EtcdConnection c, ByteString key, ByteString rangeEnd, long fromRevision,
                                   Predicate<Event> match, Deadline deadline, Session session)
            throws InterruptedException, TimeoutException {
        try {
            return await(WatchStream.firstEvent(c, key, rangeEnd, fromRevision, match), deadline, session);
        } catch (RuntimeException e) {
            if (!retryable(e)) {
                throw e;
            }
            pauseBeforeRetry(e, deadline);
            return null;
        }
    }
}
