package io.metastore.auth;

import io.metastore.proto.authpb.User;

import static io.metastore.auth.AuthException.Reason.AUTH_OLD_REVISION;
import static io.metastore.auth.AuthException.Reason.PERMISSION_DENIED;
import static io.metastore.auth.AuthException.Reason.USER_EMPTY;
import static io.metastore.auth.AuthException.Reason.USER_NOT_FOUND;

/**
 * etcd's permission checks (authStore.isOpPermitted / IsAdminPermitted and the UserGet/RoleGet exceptions of
 * {@code apply/auth.go}), against the store's current state. Every check passes while auth is disabled.
 *
 * <p>For a key operation: no credential (revision 0) is "user name is empty"; a credential issued at an older
 * auth revision than the store's is "revision of auth store is old" (clients re-authenticate and retry); an
 * unknown user is "permission denied"; role root may do everything; otherwise the key or range must be
 * covered by the user's merged {@link RangePermissions}.
 *
 * <p>etcd checks at apply time with the user and revision the proposer put in the request header, so that a
 * permission revoked between proposal and apply is honoured; the server may check early as well to fail fast.
 */
public final class PermissionChecker {
    private final AuthStore store;

    public PermissionChecker(AuthStore store) {
        this.store = store;
    }

    /** Put: WRITE on the single key. */
    public void checkPut(AuthInfo who, byte[] key) {
        checkOp(who, key, null, true);
    }

    /** Range or Watch: READ on the key or [key, rangeEnd). */
    public void checkRange(AuthInfo who, byte[] key, byte[] rangeEnd) {
        checkOp(who, key, rangeEnd, false);
    }

    /** DeleteRange: WRITE on the key or [key, rangeEnd). */
    public void checkDeleteRange(AuthInfo who, byte[] key, byte[] rangeEnd) {
        checkOp(who, key, rangeEnd, true);
    }

    /**
     * Admin operations (all auth mutations, UserList, RoleList, and the cluster/maintenance calls etcd reserves
     * for root).
     *
     * @throws AuthException USER_EMPTY without a credential, USER_NOT_FOUND, PERMISSION_DENIED without role root
     */
    public void checkAdmin(AuthInfo who) {
        AuthState s = store.state();
        if (!s.enabled) {
            return;
        }
        if (who == null || who.username().isEmpty()) {
            throw USER_EMPTY.exception();
        }
        User u = s.users.get(who.username());
        if (u == null) {
            throw USER_NOT_FOUND.exception();
        }
        if (!AuthState.hasRootRole(u)) {
            throw PERMISSION_DENIED.exception();
        }
    }

    /** Whether {@link #checkAdmin} would pass. */
    public boolean isAdmin(AuthInfo who) {
        try {
            checkAdmin(who);
            return true;
        } catch (AuthException e) {
            return false;
        }
    }

    /** UserGet: an admin, or the user asking about themself (the admin check's error otherwise). */
    public void checkUserGet(AuthInfo who, String name) {
        try {
            checkAdmin(who);
        } catch (AuthException e) {
            if (who == null || !name.equals(who.username())) {
                throw e;
            }
        }
    }

    /** RoleGet: an admin, or a holder of the role (the admin check's error otherwise). */
    public void checkRoleGet(AuthInfo who, String role) {
        try {
            checkAdmin(who);
        } catch (AuthException e) {
            if (who == null || !store.hasRole(who.username(), role)) {
                throw e;
            }
        }
    }

    /**
     * The pure range question, ignoring whether auth is enabled and token revisions: may {@code username}
     * read (or write) the key ({@code rangeEnd} null/empty), the range [key, rangeEnd), or everything from key
     * on ({@code rangeEnd} = "\0")? Prefixes are ranges with rangeEnd = key+1. Role root may do everything;
     * an unknown user nothing.
     */
    public boolean isPermitted(String username, byte[] key, byte[] rangeEnd, boolean write) {
        return isPermitted(store.state(), username, key, rangeEnd, write);
    }

    private static boolean isPermitted(AuthState s, String username, byte[] key, byte[] rangeEnd, boolean write) {
        User u = s.users.get(username);
        if (u == null) {
            return false;
        }
        return AuthState.hasRootRole(u) || s.permissionsOf(username).permits(key, rangeEnd, write);
    }

    private void checkOp(AuthInfo who, byte[] key, byte[] rangeEnd, boolean write) {
        AuthState s = store.state();
        if (!s.enabled) {
            return;
        }
        if (who == null || who.revision() == 0) {
            throw USER_EMPTY.exception();
        }
        if (Long.compareUnsigned(who.revision(), s.revision) < 0) {
            throw AUTH_OLD_REVISION.exception();
        }
        if (!isPermitted(s, who.username(), key, rangeEnd, write)) {
            throw PERMISSION_DENIED.exception();
        }
    }
}
