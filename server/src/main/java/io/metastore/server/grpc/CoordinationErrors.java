package io.metastore.server.grpc;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.concurrency.ConcurrencyException;
import io.metastore.server.etcd.EtcdError;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The statuses etcd's Lock and Election services answer with. The recipes' own errors ("election: not leader",
 * "election: no leader", "mutex: session is expired", {@code "leader" field must be provided}) are plain Go
 * errors there, hence code UNKNOWN with the message as description — jetcd recognises them by that text. Errors
 * of the KV/Lease calls underneath (lease not found, permission denied, no leader...) pass through unchanged, as
 * etcd's in-process client hands them on.
 */
final class CoordinationErrors {
    /** etcd's {@code v3election.ErrMissingLeaderKey}. */
    static final String MISSING_LEADER_KEY = "\"leader\" field must be provided";

    private CoordinationErrors() {
    }

    static StatusRuntimeException toStatus(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof StatusRuntimeException s) {
            if (s.getStatus().getCode() == Status.Code.CANCELLED && s.getCause() instanceof InterruptedException) {
                return interrupted();
            }
            return s;
        }
        if (t instanceof InterruptedException) {
            return interrupted();
        }
        if (t instanceof ConcurrencyException c) {
            return unknown(c.getMessage());
        }
        if (t instanceof IllegalArgumentException e) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
        return GrpcErrors.toStatus(t);
    }

    static StatusRuntimeException unknown(String message) {
        return Status.UNKNOWN.withDescription(message).asRuntimeException();
    }

    /** Interrupted: the client went away (it sees its own cancel), or the member is stopping. */
    private static StatusRuntimeException interrupted() {
        return Context.current().isCancelled()
                ? Status.CANCELLED.withDescription("client cancelled").asRuntimeException()
                : GrpcErrors.toStatus(EtcdError.STOPPED);
    }
}
