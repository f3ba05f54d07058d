package io.metastore.server.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.server.etcd.EtcdError;
import io.metastore.server.etcd.EtcdException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Turns domain failures into the gRPC status etcd would send; anything unexpected is logged once. */
final class GrpcErrors {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcErrors.class);

    private GrpcErrors() {}

    static StatusRuntimeException toStatus(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof EtcdException e) {
            return toStatus(e.error());
        }
        if (t instanceof io.metastore.auth.AuthException a) {
            // the auth module's reasons are named as EtcdError's constants (same codes and texts)
            return toStatus(EtcdError.valueOf(a.reason().name()));
        }
        if (t instanceof StatusRuntimeException s) {
            return s;
        }
        if (t instanceof UnsupportedOperationException u) {
            // something etcd does that MetaStore cannot: said plainly rather than with an invented etcd error
            return Status.UNIMPLEMENTED.withDescription(u.getMessage()).asRuntimeException();
        }
        LOG.error("request failed unexpectedly", t);
        return Status.UNKNOWN.withDescription(String.valueOf(t.getMessage())).asRuntimeException();
    }

    static StatusRuntimeException toStatus(EtcdError e) {
        return Status.fromCodeValue(code(e.code()).value()).withDescription(e.message()).asRuntimeException();
    }

    private static Status.Code code(EtcdError.Code c) {
        return switch (c) {
            case CANCELLED -> Status.Code.CANCELLED;
            case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
            case DEADLINE_EXCEEDED -> Status.Code.DEADLINE_EXCEEDED;
            case NOT_FOUND -> Status.Code.NOT_FOUND;
            case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
            case PERMISSION_DENIED -> Status.Code.PERMISSION_DENIED;
            case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
            case OUT_OF_RANGE -> Status.Code.OUT_OF_RANGE;
            case UNAVAILABLE -> Status.Code.UNAVAILABLE;
            case DATA_LOSS -> Status.Code.DATA_LOSS;
            case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
            case UNKNOWN -> Status.Code.UNKNOWN;
        };
    }
}
