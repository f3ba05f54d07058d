package io.metastore.server.grpc;

import io.metastore.server.fault.FailureContainment;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An unexpected exception while handling one call ends that call with INTERNAL and nothing else. Handlers run
 * on the transport's event loop (direct executor); without this, the exception unwinds into Netty, the call is
 * left for grpc to reset and the failure is logged by whoever catches it, or by no one.
 */
public final class ContainingInterceptor implements ServerInterceptor {

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        String site = "rpc " + call.getMethodDescriptor().getFullMethodName();
        AtomicBoolean failed = new AtomicBoolean();
        ServerCall.Listener<Q> delegate;
        try {
            delegate = next.startCall(call, headers);
        } catch (RuntimeException e) {
            fail(call, site, e, failed);
            return new ServerCall.Listener<>() {};
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            @Override
            public void onMessage(Q message) {
                if (!failed.get()) {
                    run(() -> super.onMessage(message));
                }
            }

            @Override
            public void onHalfClose() {
                if (!failed.get()) {
                    run(super::onHalfClose);
                }
            }

            @Override
            public void onCancel() {
                run(super::onCancel);
            }

            @Override
            public void onComplete() {
                run(super::onComplete);
            }

            @Override
            public void onReady() {
                if (!failed.get()) {
                    run(super::onReady);
                }
            }

            private void run(Runnable r) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    fail(call, site, e, failed);
                }
            }
        };
    }

    private static void fail(ServerCall<?, ?> call, String site, RuntimeException e, AtomicBoolean failed) {
        FailureContainment.contained(site, e);
        if (failed.compareAndSet(false, true)) {
            try {
                call.close(Status.INTERNAL.withDescription("internal error"), new Metadata());
            } catch (RuntimeException alreadyClosed) {
                // the handler had closed the call before it threw; the failure is recorded above
            }
        }
    }
}
