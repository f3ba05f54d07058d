package io.metastore.concurrency;

/** A {@link DoubleBarrier} already has its full count of participants. */
public class TooManyClientsException extends ConcurrencyException {
    public TooManyClientsException() {
        super("double barrier: too many clients");
    }
}
