package io.metastore.concurrency;

/** An {@link Stm} transaction kept conflicting with concurrent writers and ran out of retries. */
public class StmConflictException extends ConcurrencyException {
    public StmConflictException(int attempts) {
        super("stm: gave up after " + attempts + " conflicting attempts");
    }
}
