package io.metastore.server;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.etcdserverpb.WatchProgressRequest;
import io.metastore.proto.etcdserverpb.WatchRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** One raw watch stream: requests go out as sent, responses are queued for the test to take. */
final class RawWatch implements AutoCloseable {
    final BlockingQueue<WatchResponse> responses = new LinkedBlockingQueue<>();
    private final StreamObserver<WatchRequest> requests;
    volatile Throwable error;

    RawWatch(WatchGrpc.WatchStub stub) {
        requests = stub.watch(new StreamObserver<>() {
            @Override
            public void onNext(WatchResponse r) {
                responses.add(r);
            }

            @Override
            public void onError(Throwable t) {
                error = t;
            }

            @Override
            public void onCompleted() {
            }
        });
    }

    void create(WatchCreateRequest c) {
        requests.onNext(WatchRequest.newBuilder().setCreateRequest(c).build());
    }

    void cancel(long id) {
        requests.onNext(WatchRequest.newBuilder().setCancelRequest(
                io.metastore.proto.etcdserverpb.WatchCancelRequest.newBuilder().setWatchId(id)).build());
    }

    void requestProgress() {
        requests.onNext(WatchRequest.newBuilder().setProgressRequest(WatchProgressRequest.getDefaultInstance()).build());
    }

    WatchResponse next() throws InterruptedException {
        WatchResponse r = responses.poll(10, TimeUnit.SECONDS);
        assertNotNull(r, "no watch response within 10 s");
        return r;
    }

    void expectNothing(long millis) throws InterruptedException {
        assertNull(responses.poll(millis, TimeUnit.MILLISECONDS), "unexpected watch response");
    }

    @Override
    public void close() {
        try {
            requests.onError(new RuntimeException("test done"));
        } catch (RuntimeException ignored) {
            // stream already gone
        }
    }
}
