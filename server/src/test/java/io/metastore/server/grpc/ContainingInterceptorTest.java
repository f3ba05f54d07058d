package io.metastore.server.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.server.fault.FailureContainment;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A handler bug fails its own call with INTERNAL; the server and the next call are unaffected. */
class ContainingInterceptorTest {

    /** A KV handler with a bug on every other call (a stand-in for any handler; the interceptor is under test). */
    private static final class FlakyKv extends KVGrpc.KVImplBase {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public void range(RangeRequest request, StreamObserver<RangeResponse> response) {
            if (calls.incrementAndGet() % 2 == 1) {
                throw new NullPointerException("bug");
            }
            response.onNext(RangeResponse.newBuilder().setCount(7).build());
            response.onCompleted();
        }
    }

    @Test
    void aThrowingHandlerFailsOnlyItsOwnCall() throws Exception {
        String name = "containing-" + System.nanoTime();
        Server server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(ServerInterceptors.intercept(new FlakyKv(), new ContainingInterceptor())).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        try {
            KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
            long before = FailureContainment.countsBySite().getOrDefault("rpc etcdserverpb.KV/Range", 0L);
            for (int i = 0; i < 3; i++) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> kv.range(RangeRequest.getDefaultInstance()));
                assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
                assertEquals("internal error", e.getStatus().getDescription());
                assertEquals(7, kv.range(RangeRequest.getDefaultInstance()).getCount());
            }
            assertEquals(before + 3, FailureContainment.countsBySite().get("rpc etcdserverpb.KV/Range"));
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
