package io.metastore.auth;

/**
 * Told by {@link AuthStore} about changes that invalidate issued credentials. Called on the applying thread
 * after the new state is visible; implementations must be quick and must not call back into apply methods.
 */
public interface AuthStateListener {

    /** Auth was just enabled (not called for the no-op enable of an already enabled store). */
    default void onAuthEnabled() {
    }

    /** Auth was disabled (or a reload found it disabled): every issued token is void. */
    default void onAuthDisabled() {
    }

    /** The user was deleted or changed password: tokens issued to them are void. */
    default void onUserInvalidated(String username) {
    }
}
