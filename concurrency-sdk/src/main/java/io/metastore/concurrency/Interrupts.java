package io.metastore.concurrency;

/** Clean-up RPCs must run even on a thread that is being interrupted (grpc cancels blocking calls then). */
final class Interrupts {
    private Interrupts() {
    }

    /** Runs {@code cleanup} with the interrupt flag cleared, restores it, and swallows failures (best effort). */
    static void runUninterrupted(Runnable cleanup) {
        boolean interrupted = Thread.interrupted();
        try {
            cleanup.run();
        } catch (RuntimeException ignored) {
            // best effort: a lease-bound key goes away with its lease anyway
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * grpc-java answers an interrupt during a blocking call by cancelling it (CANCELLED, cause
     * InterruptedException): give the caller the InterruptedException the SDK's blocking methods promise.
     */
    static RuntimeException interruptedOr(RuntimeException e) throws InterruptedException {
        if (e instanceof io.grpc.StatusRuntimeException s && s.getStatus().getCode() == io.grpc.Status.Code.CANCELLED
                && s.getCause() instanceof InterruptedException) {
            Thread.interrupted(); // grpc re-asserted the flag; the exception now carries the interrupt
            InterruptedException ie = new InterruptedException("interrupted during an etcd call");
            ie.initCause(e);
            throw ie;
        }
        return e;
    }
}
