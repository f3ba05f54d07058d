package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import io.metastore.proto.mvccpb.Event;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * One etcd watch on its own gRPC stream: every wait in the SDK is one of these, so nothing polls.
 *
 * <p>A stream per wait keeps the bookkeeping trivial (no watch-id multiplexing) at the cost of a stream each; the
 * recipes hold at most one wait per blocked caller. The watch ends with {@link #cancel()}, or by itself with an
 * error: {@link WatchCompactedException} when the start revision was compacted (the caller re-reads and watches
 * again), a {@link ConcurrencyException} when the server cancels it, or the gRPC status when the stream fails.
 */
final class WatchStream {
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    private volatile ClientCallStreamObserver<WatchRequest> requests;
    private volatile boolean cancelled;

    private WatchStream() {
    }

    /**
     * Watches {@code [key, rangeEnd)} (empty rangeEnd = the key alone) from {@code startRevision}; each response
     * carrying events goes to {@code onEvents} (on a gRPC thread, in revision order).
     */
    static WatchStream open(EtcdConnection c, ByteString key, ByteString rangeEnd, long startRevision,
                            Consumer<WatchResponse> onEvents) {
        WatchStream w = new WatchStream();
        WatchCreateRequest.Builder create = WatchCreateRequest.newBuilder().setKey(key).setStartRevision(startRevision);
        if (!rangeEnd.isEmpty()) {
            create.setRangeEnd(rangeEnd);
        }
        c.watchStreams().watch(new ClientResponseObserver<WatchRequest, WatchResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<WatchRequest> r) {
                w.requests = r;
            }

            @Override
            public void onNext(WatchResponse resp) {
                if (resp.getCanceled()) {
                    w.ended.completeExceptionally(resp.getCompactRevision() > 0
                            ? new WatchCompactedException(resp.getCompactRevision())
                            : new ConcurrencyException("watch canceled by the server: " + resp.getCancelReason()));
                    w.cancel();
                } else if (resp.getEventsCount() > 0 && !w.ended.isDone()) {
                    try {
                        onEvents.accept(resp);
                    } catch (RuntimeException e) {
                        w.ended.completeExceptionally(e);
                        w.cancel();
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
                w.ended.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                w.ended.completeExceptionally(new ConcurrencyException("watch stream closed by the server"));
            }
        });
        w.requests.onNext(WatchRequest.newBuilder().setCreateRequest(create).build());
        if (w.cancelled) { // cancel() raced the create
            w.requests.cancel("watch no longer needed", null);
        }
        return w;
    }

    /**
     * A future completing with the first event at or after {@code startRevision} on {@code key} that satisfies
     * {@code match}; completing or cancelling the future (timeout, interrupt, lost session) closes the watch.
     */
    static CompletableFuture<Event> firstEvent(EtcdConnection c, ByteString key, ByteString rangeEnd,
                                               long startRevision, Predicate<Event> match) {
        CompletableFuture<Event> result = new CompletableFuture<>();
        WatchStream w = open(c, key, rangeEnd, startRevision, resp -> {
            for (Event e : resp.getEventsList()) {
                if (match.test(e)) {
                    result.complete(e);
                    return;
                }
            }
        });
        w.ended.whenComplete((v, t) -> result.completeExceptionally(t));
        result.whenComplete((v, t) -> w.cancel());
        return result;
    }

    /** Completes (always exceptionally) when the watch ends by itself or after {@link #cancel()}. */
    CompletableFuture<Void> ended() {
        return ended;
    }

    /** Closes the stream; idempotent and callable from any thread (gRPC's cancel is thread-safe). */
    void cancel() {
        cancelled = true;
        ClientCallStreamObserver<WatchRequest> r = requests;
        ended.completeExceptionally(new java.util.concurrent.CancellationException("watch cancelled"));
        if (r != null) {
            r.cancel("watch no longer needed", null);
        }
    }
}
