package io.metastore.concurrency;

/**
 * The session's lease is gone (expired, revoked, or keep-alive failed for longer than its TTL), or its key was
 * deleted under the recipe: whatever was held through the session is no longer held.
 */
public class SessionLostException extends ConcurrencyException {
    public SessionLostException(String message) {
        super(message);
    }
}
