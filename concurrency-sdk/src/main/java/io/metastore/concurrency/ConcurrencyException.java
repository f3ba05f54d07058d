package io.metastore.concurrency;

/**
 * A recipe-level failure (lost session, not leader, ...). Transport and server errors are not wrapped: they surface
 * as grpc {@link io.grpc.StatusRuntimeException}s carrying etcd's own error text.
 */
public class ConcurrencyException extends RuntimeException {
    public ConcurrencyException(String message) {
        super(message);
    }

    public ConcurrencyException(String message, Throwable cause) {
        super(message, cause);
    }
}
