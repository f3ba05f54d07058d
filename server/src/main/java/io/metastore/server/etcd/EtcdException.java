package io.metastore.server.etcd;

/** A request refused with one of etcd's errors. No stack trace: these are answers, not faults. */
public final class EtcdException extends RuntimeException {
    private final EtcdError error;

    public EtcdException(EtcdError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public EtcdError error() {
        return error;
    }
}
