package io.metastore.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.metastore.proto.authpb.Permission;
import io.metastore.proto.authpb.Role;
import io.metastore.proto.authpb.User;
import io.metastore.proto.authpb.UserAddOptions;
import io.metastore.proto.etcdserverpb.AuthDisableRequest;
import io.metastore.proto.etcdserverpb.AuthDisableResponse;
import io.metastore.proto.etcdserverpb.AuthEnableRequest;
import io.metastore.proto.etcdserverpb.AuthEnableResponse;
import io.metastore.proto.etcdserverpb.AuthRoleAddRequest;
import io.metastore.proto.etcdserverpb.AuthRoleAddResponse;
import io.metastore.proto.etcdserverpb.AuthRoleDeleteRequest;
import io.metastore.proto.etcdserverpb.AuthRoleDeleteResponse;
import io.metastore.proto.etcdserverpb.AuthRoleGetRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGetResponse;
import io.metastore.proto.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGrantPermissionResponse;
import io.metastore.proto.etcdserverpb.AuthRoleListRequest;
import io.metastore.proto.etcdserverpb.AuthRoleListResponse;
import io.metastore.proto.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.metastore.proto.etcdserverpb.AuthRoleRevokePermissionResponse;
import io.metastore.proto.etcdserverpb.AuthStatusRequest;
import io.metastore.proto.etcdserverpb.AuthStatusResponse;
import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserAddResponse;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordRequest;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordResponse;
import io.metastore.proto.etcdserverpb.AuthUserDeleteRequest;
import io.metastore.proto.etcdserverpb.AuthUserDeleteResponse;
import io.metastore.proto.etcdserverpb.AuthUserGetRequest;
import io.metastore.proto.etcdserverpb.AuthUserGetResponse;
import io.metastore.proto.etcdserverpb.AuthUserGrantRoleRequest;
import io.metastore.proto.etcdserverpb.AuthUserGrantRoleResponse;
import io.metastore.proto.etcdserverpb.AuthUserListRequest;
import io.metastore.proto.etcdserverpb.AuthUserListResponse;
import io.metastore.proto.etcdserverpb.AuthUserRevokeRoleRequest;
import io.metastore.proto.etcdserverpb.AuthUserRevokeRoleResponse;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.metastore.auth.AuthException.Reason.INVALID_AUTH_MGMT;
import static io.metastore.auth.AuthException.Reason.NO_PASSWORD_USER;
import static io.metastore.auth.AuthException.Reason.PERMISSION_NOT_GIVEN;
import static io.metastore.auth.AuthException.Reason.PERMISSION_NOT_GRANTED;
import static io.metastore.auth.AuthException.Reason.ROLE_ALREADY_EXIST;
import static io.metastore.auth.AuthException.Reason.ROLE_EMPTY;
import static io.metastore.auth.AuthException.Reason.ROLE_NOT_FOUND;
import static io.metastore.auth.AuthException.Reason.ROLE_NOT_GRANTED;
import static io.metastore.auth.AuthException.Reason.ROOT_ROLE_NOT_EXIST;
import static io.metastore.auth.AuthException.Reason.ROOT_USER_NOT_EXIST;
import static io.metastore.auth.AuthException.Reason.USER_ALREADY_EXIST;
import static io.metastore.auth.AuthException.Reason.USER_EMPTY;
import static io.metastore.auth.AuthException.Reason.USER_NOT_FOUND;

/**
 * The replicated auth state, as etcd's auth store keeps it ({@code server/auth/store.go}): the enabled flag,
 * the auth revision, users (bcrypt hash, sorted roles, options) and roles (permissions sorted by key).
 *
 * <p>Only the state machine changes it, through the {@code apply*} methods, inside the Raft entry's write
 * transaction: each writes store metadata under {@code auth/} with {@link MvccWriteTxn#putMeta} and then
 * publishes a new immutable in-memory version. An apply method either changes nothing and throws an
 * {@link AuthException} with etcd's error, or succeeds; every member applying the same entry reaches the same
 * state, so nothing here may be random or time-dependent (password hashing happens before proposing, see
 * {@link PasswordHasher#prepare(AuthUserAddRequest)}). Reads are safe from any thread.
 *
 * <p>Admin and ownership checks (who may call what) are not done here: see {@link PermissionChecker}.
 *
 * <p>Auth revision: a fresh store is at revision 1 (etcd writes 1 when it creates its auth bucket; here an
 * absent revision key reads as 1, which needs no write outside Raft). Every successful mutation adds one,
 * except AuthEnable (etcd does not bump it there), the no-op AuthDisable of a disabled store and granting a
 * role the user already has.
 */
public final class AuthStore {
    private static final Logger LOG = LoggerFactory.getLogger(AuthStore.class);

    /** What a store that never saw an auth change reports. */
    public static final long INITIAL_REVISION = 1;

    static final byte[] ENABLED_KEY = meta("auth/enabled");
    static final byte[] REVISION_KEY = meta("auth/revision");
    static final byte[] USER_PREFIX = meta("auth/user/");
    static final byte[] ROLE_PREFIX = meta("auth/role/");

    /** What RoleGet returns for role root: everything, ["", "\0") READWRITE. */
    static final Permission ROOT_PERMISSION = Permission.newBuilder().setPermType(Permission.Type.READWRITE)
            .setKey(ByteString.EMPTY).setRangeEnd(ByteString.copyFrom(new byte[] {0})).build();

    private final MvccStore store;
    private final List<AuthStateListener> listeners = new CopyOnWriteArrayList<>();
    private volatile AuthState state = AuthState.EMPTY;

    public AuthStore(MvccStore store) {
        this.store = store;
    }

    public void addListener(AuthStateListener listener) {
        listeners.add(listener);
    }

    /** Rebuilds the in-memory view from the store (start-up, after a snapshot install). */
    public void reload() {
        byte[] enabled = store.getMeta(ENABLED_KEY);
        byte[] revision = store.getMeta(REVISION_KEY);
        TreeMap<String, User> users = new TreeMap<>(Utf8Order.NAMES);
        TreeMap<String, Role> roles = new TreeMap<>(Utf8Order.NAMES);
        store.scanMeta(USER_PREFIX, (k, v) -> {
            User u = parse(() -> User.parseFrom(v), "user");
            users.put(u.getName().toStringUtf8(), u);
        });
        store.scanMeta(ROLE_PREFIX, (k, v) -> {
            Role r = parse(() -> Role.parseFrom(v), "role");
            roles.put(r.getName().toStringUtf8(), r);
        });
        state = new AuthState(enabled != null && enabled.length == 1 && enabled[0] == 1,
                revision == null ? INITIAL_REVISION : ByteBuffer.wrap(revision).getLong(), users, roles);
        if (!state.enabled) {
            listeners.forEach(AuthStateListener::onAuthDisabled);
        }
    }

    // ---- reads ----

    public boolean isEnabled() {
        return state.enabled;
    }

    /** The auth revision (etcd's {@code AuthStatusResponse.authRevision}). */
    public long revision() {
        return state.revision;
    }

    public Optional<User> user(String name) {
        return Optional.ofNullable(state.users.get(name));
    }

    public Optional<Role> role(String name) {
        return Optional.ofNullable(state.roles.get(name));
    }

    /** etcd's HasRole: whether {@code user} exists and holds {@code role} (role root needs no role object). */
    public boolean hasRole(String user, String role) {
        User u = state.users.get(user);
        return u != null && u.getRolesList().contains(role);
    }

    /** The current version, for checks that must see users and roles of one revision together. */
    AuthState state() {
        return state;
    }

    public AuthStatusResponse status(AuthStatusRequest r) {
        AuthState s = state;
        return AuthStatusResponse.newBuilder().setEnabled(s.enabled).setAuthRevision(s.revision).build();
    }

    public AuthUserGetResponse userGet(AuthUserGetRequest r) {
        User u = state.users.get(r.getName());
        if (u == null) {
            throw USER_NOT_FOUND.exception();
        }
        return AuthUserGetResponse.newBuilder().addAllRoles(u.getRolesList()).build();
    }

    /** All user names in etcd's order (UTF-8 bytes). */
    public AuthUserListResponse userList(AuthUserListRequest r) {
        return AuthUserListResponse.newBuilder().addAllUsers(state.users.keySet()).build();
    }

    /** A role's permissions; for role root (if it exists as a role) the synthetic all-keys permission. */
    public AuthRoleGetResponse roleGet(AuthRoleGetRequest r) {
        Role role = state.roles.get(r.getRole());
        if (role == null) {
            throw ROLE_NOT_FOUND.exception();
        }
        AuthRoleGetResponse.Builder b = AuthRoleGetResponse.newBuilder();
        if (AuthState.ROOT.equals(r.getRole())) {
            b.addPerm(ROOT_PERMISSION);
        } else {
            b.addAllPerm(role.getKeyPermissionList());
        }
        return b.build();
    }

    public AuthRoleListResponse roleList(AuthRoleListRequest r) {
        return AuthRoleListResponse.newBuilder().addAllRoles(state.roles.keySet()).build();
    }

    // ---- apply side (state machine thread only) ----

    /**
     * Requires user root holding role root. Enabling an enabled store is a successful no-op. Does not change
     * the auth revision (as etcd).
     */
    public AuthEnableResponse applyAuthEnable(MvccWriteTxn txn, AuthEnableRequest r) {
        AuthState s = state;
        if (s.enabled) {
            LOG.info("authentication is already enabled; ignored auth enable request");
            return AuthEnableResponse.getDefaultInstance();
        }
        User root = s.users.get(AuthState.ROOT);
        if (root == null) {
            throw ROOT_USER_NOT_EXIST.exception();
        }
        if (!AuthState.hasRootRole(root)) {
            throw ROOT_ROLE_NOT_EXIST.exception();
        }
        AuthState.Builder next = s.toBuilder();
        next.enabled = true;
        txn.putMeta(ENABLED_KEY, new byte[] {1});
        publish(next);
        LOG.info("enabled authentication");
        listeners.forEach(AuthStateListener::onAuthEnabled);
        return AuthEnableResponse.getDefaultInstance();
    }

    /** Disabling a disabled store is a no-op; otherwise bumps the revision and voids every token. */
    public AuthDisableResponse applyAuthDisable(MvccWriteTxn txn, AuthDisableRequest r) {
        AuthState s = state;
        if (!s.enabled) {
            return AuthDisableResponse.getDefaultInstance();
        }
        AuthState.Builder next = s.toBuilder();
        next.enabled = false;
        txn.putMeta(ENABLED_KEY, new byte[] {0});
        commitRevision(txn, next);
        publish(next);
        LOG.info("disabled authentication");
        listeners.forEach(AuthStateListener::onAuthDisabled);
        return AuthDisableResponse.getDefaultInstance();
    }

    /**
     * Adds a user. The request must come from {@link PasswordHasher#prepare(AuthUserAddRequest)}: the password
     * travels as base64 bcrypt in {@code hashedPassword}.
     *
     * @throws IllegalArgumentException if a plaintext password reached apply (a proposer bug: hashing here
     *                                  would give every member a different salt); nothing is written
     */
    public AuthUserAddResponse applyUserAdd(MvccWriteTxn txn, AuthUserAddRequest r) {
        if (r.getName().isEmpty()) {
            throw USER_EMPTY.exception();
        }
        AuthState s = state;
        if (s.users.containsKey(r.getName())) {
            throw USER_ALREADY_EXIST.exception();
        }
        UserAddOptions options = r.hasOptions() ? r.getOptions() : UserAddOptions.getDefaultInstance();
        ByteString password = options.getNoPassword()
                ? ByteString.EMPTY : storedHash(r.getPassword(), r.getHashedPassword());
        User user = User.newBuilder().setName(ByteString.copyFromUtf8(r.getName()))
                .setPassword(password).setOptions(options).build();
        AuthState.Builder next = s.toBuilder();
        putUser(txn, next, user);
        commitRevision(txn, next);
        publish(next);
        LOG.info("added a user: {}", r.getName());
        return AuthUserAddResponse.getDefaultInstance();
    }

    /** User root cannot be deleted while auth is enabled. Voids the user's tokens. */
    public AuthUserDeleteResponse applyUserDelete(MvccWriteTxn txn, AuthUserDeleteRequest r) {
        AuthState s = state;
        if (s.enabled && AuthState.ROOT.equals(r.getName())) {
            throw INVALID_AUTH_MGMT.exception();
        }
        if (!s.users.containsKey(r.getName())) {
            throw USER_NOT_FOUND.exception();
        }
        AuthState.Builder next = s.toBuilder();
        next.users.remove(r.getName());
        txn.deleteMeta(userKey(r.getName()));
        commitRevision(txn, next);
        publish(next);
        LOG.info("deleted a user: {}", r.getName());
        listeners.forEach(l -> l.onUserInvalidated(r.getName()));
        return AuthUserDeleteResponse.getDefaultInstance();
    }

    /**
     * Replaces the password hash (a no-password user keeps having none). The request must come from
     * {@link PasswordHasher#prepare(AuthUserChangePasswordRequest)}. Voids the user's tokens.
     *
     * @throws IllegalArgumentException if a plaintext password reached apply; nothing is written
     */
    public AuthUserChangePasswordResponse applyUserChangePassword(MvccWriteTxn txn, AuthUserChangePasswordRequest r) {
        AuthState s = state;
        User user = s.users.get(r.getName());
        if (user == null) {
            throw USER_NOT_FOUND.exception();
        }
        ByteString password = user.getOptions().getNoPassword()
                ? ByteString.EMPTY : storedHash(r.getPassword(), r.getHashedPassword());
        AuthState.Builder next = s.toBuilder();
        putUser(txn, next, user.toBuilder().setPassword(password).build());
        commitRevision(txn, next);
        publish(next);
        LOG.info("changed a password of a user: {}", r.getName());
        listeners.forEach(l -> l.onUserInvalidated(r.getName()));
        return AuthUserChangePasswordResponse.getDefaultInstance();
    }

    /**
     * Grants a role (kept sorted). Role root needs no role object; granting a role the user already has is a
     * successful no-op that leaves the revision alone.
     */
    public AuthUserGrantRoleResponse applyUserGrantRole(MvccWriteTxn txn, AuthUserGrantRoleRequest r) {
        AuthState s = state;
        User user = s.users.get(r.getUser());
        if (user == null) {
            throw USER_NOT_FOUND.exception();
        }
        if (!AuthState.ROOT.equals(r.getRole()) && !s.roles.containsKey(r.getRole())) {
            throw ROLE_NOT_FOUND.exception();
        }
        if (user.getRolesList().contains(r.getRole())) {
            LOG.warn("ignored grant role request to a user: {} already has role {}", r.getUser(), r.getRole());
            return AuthUserGrantRoleResponse.getDefaultInstance();
        }
        List<String> roles = new ArrayList<>(user.getRolesList());
        roles.add(r.getRole());
        roles.sort(Utf8Order.NAMES);
        AuthState.Builder next = s.toBuilder();
        putUser(txn, next, user.toBuilder().clearRoles().addAllRoles(roles).build());
        commitRevision(txn, next);
        publish(next);
        LOG.info("granted role {} to user {}", r.getRole(), r.getUser());
        return AuthUserGrantRoleResponse.getDefaultInstance();
    }

    /** Root cannot lose role root while auth is enabled. */
    public AuthUserRevokeRoleResponse applyUserRevokeRole(MvccWriteTxn txn, AuthUserRevokeRoleRequest r) {
        AuthState s = state;
        if (s.enabled && AuthState.ROOT.equals(r.getName()) && AuthState.ROOT.equals(r.getRole())) {
            throw INVALID_AUTH_MGMT.exception();
        }
        User user = s.users.get(r.getName());
        if (user == null) {
            throw USER_NOT_FOUND.exception();
        }
        List<String> roles = new ArrayList<>(user.getRolesList());
        if (!roles.removeIf(r.getRole()::equals)) {
            throw ROLE_NOT_GRANTED.exception();
        }
        AuthState.Builder next = s.toBuilder();
        putUser(txn, next, user.toBuilder().clearRoles().addAllRoles(roles).build());
        commitRevision(txn, next);
        publish(next);
        LOG.info("revoked role {} from user {}", r.getRole(), r.getName());
        return AuthUserRevokeRoleResponse.getDefaultInstance();
    }

    public AuthRoleAddResponse applyRoleAdd(MvccWriteTxn txn, AuthRoleAddRequest r) {
        if (r.getName().isEmpty()) {
            throw ROLE_EMPTY.exception();
        }
        AuthState s = state;
        if (s.roles.containsKey(r.getName())) {
            throw ROLE_ALREADY_EXIST.exception();
        }
        AuthState.Builder next = s.toBuilder();
        putRole(txn, next, Role.newBuilder().setName(ByteString.copyFromUtf8(r.getName())).build());
        commitRevision(txn, next);
        publish(next);
        LOG.info("created a role: {}", r.getName());
        return AuthRoleAddResponse.getDefaultInstance();
    }

    /** Role root cannot be deleted while auth is enabled. The role is also taken from every user holding it. */
    public AuthRoleDeleteResponse applyRoleDelete(MvccWriteTxn txn, AuthRoleDeleteRequest r) {
        AuthState s = state;
        if (s.enabled && AuthState.ROOT.equals(r.getRole())) {
            throw INVALID_AUTH_MGMT.exception();
        }
        if (!s.roles.containsKey(r.getRole())) {
            throw ROLE_NOT_FOUND.exception();
        }
        AuthState.Builder next = s.toBuilder();
        next.roles.remove(r.getRole());
        txn.deleteMeta(roleKey(r.getRole()));
        for (User u : s.users.values()) {
            if (u.getRolesList().contains(r.getRole())) {
                List<String> roles = new ArrayList<>(u.getRolesList());
                roles.removeIf(r.getRole()::equals);
                putUser(txn, next, u.toBuilder().clearRoles().addAllRoles(roles).build());
            }
        }
        commitRevision(txn, next);
        publish(next);
        LOG.info("deleted a role: {}", r.getRole());
        return AuthRoleDeleteResponse.getDefaultInstance();
    }

    /**
     * Grants or updates a permission, as etcd does: the key must be non-empty and below range_end (or
     * range_end is empty = one key, or "\0" = open-ended). If the first permission whose key is not below the
     * new key has the same key and range_end, its type is replaced; otherwise the permission is added and the
     * list re-sorted by key (stably). Every successful grant bumps the revision, even an identical one.
     */
    public AuthRoleGrantPermissionResponse applyRoleGrantPermission(MvccWriteTxn txn, AuthRoleGrantPermissionRequest r) {
        if (!r.hasPerm()) {
            throw PERMISSION_NOT_GIVEN.exception();
        }
        Permission perm = r.getPerm();
        if (!RangePermissions.isValidPermissionRange(perm.getKey().toByteArray(), perm.getRangeEnd().toByteArray())) {
            throw INVALID_AUTH_MGMT.exception();
        }
        AuthState s = state;
        Role role = s.roles.get(r.getName());
        if (role == null) {
            throw ROLE_NOT_FOUND.exception();
        }
        List<Permission> perms = new ArrayList<>(role.getKeyPermissionList());
        int idx = firstKeyAtOrAbove(perms, perm.getKey());
        if (idx < perms.size() && perms.get(idx).getKey().equals(perm.getKey())
                && perms.get(idx).getRangeEnd().equals(perm.getRangeEnd())) {
            perms.set(idx, perms.get(idx).toBuilder().setPermType(perm.getPermType()).build());
        } else {
            perms.add(Permission.newBuilder().setKey(perm.getKey()).setRangeEnd(perm.getRangeEnd())
                    .setPermType(perm.getPermType()).build());
            perms.sort((a, b) -> ByteString.unsignedLexicographicalComparator().compare(a.getKey(), b.getKey()));
        }
        AuthState.Builder next = s.toBuilder();
        putRole(txn, next, role.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build());
        commitRevision(txn, next);
        publish(next);
        LOG.info("granted/updated permission {} on [{}, {}) to role {}", perm.getPermType(),
                perm.getKey().toStringUtf8(), perm.getRangeEnd().toStringUtf8(), r.getName());
        return AuthRoleGrantPermissionResponse.getDefaultInstance();
    }

    /** Removes every permission of the role with exactly this key and range_end. */
    public AuthRoleRevokePermissionResponse applyRoleRevokePermission(MvccWriteTxn txn, AuthRoleRevokePermissionRequest r) {
        AuthState s = state;
        Role role = s.roles.get(r.getRole());
        if (role == null) {
            throw ROLE_NOT_FOUND.exception();
        }
        List<Permission> perms = new ArrayList<>(role.getKeyPermissionList());
        if (!perms.removeIf(p -> p.getKey().equals(r.getKey()) && p.getRangeEnd().equals(r.getRangeEnd()))) {
            throw PERMISSION_NOT_GRANTED.exception();
        }
        AuthState.Builder next = s.toBuilder();
        putRole(txn, next, role.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build());
        commitRevision(txn, next);
        publish(next);
        LOG.info("revoked a permission on [{}, {}) from role {}", r.getKey().toStringUtf8(),
                r.getRangeEnd().toStringUtf8(), r.getRole());
        return AuthRoleRevokePermissionResponse.getDefaultInstance();
    }

    // ---- helpers ----

    /**
     * etcd's selectPassword minus its pre-3.5 branch (hashing inside apply): the stored hash is the base64
     * decoded {@code hashedPassword}; undecodable base64 is etcd's ErrNoPasswordUser.
     */
    private static ByteString storedHash(String password, String hashedPassword) {
        if (!password.isEmpty() && hashedPassword.isEmpty()) {
            throw new IllegalArgumentException(
                    "plaintext password in an applied request: hash it with PasswordHasher.prepare before proposing");
        }
        try {
            return ByteString.copyFrom(Base64.getDecoder().decode(hashedPassword));
        } catch (IllegalArgumentException e) {
            throw NO_PASSWORD_USER.exception();
        }
    }

    private static int firstKeyAtOrAbove(List<Permission> perms, ByteString key) {
        int lo = 0;
        int hi = perms.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ByteString.unsignedLexicographicalComparator().compare(perms.get(mid).getKey(), key) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private void publish(AuthState.Builder next) {
        state = next.build();
    }

    private static void commitRevision(MvccWriteTxn txn, AuthState.Builder next) {
        next.revision++;
        txn.putMeta(REVISION_KEY, ByteBuffer.allocate(8).putLong(next.revision).array());
    }

    private static void putUser(MvccWriteTxn txn, AuthState.Builder next, User u) {
        String name = u.getName().toStringUtf8();
        next.users.put(name, u);
        txn.putMeta(userKey(name), u.toByteArray());
    }

    private static void putRole(MvccWriteTxn txn, AuthState.Builder next, Role r) {
        String name = r.getName().toStringUtf8();
        next.roles.put(name, r);
        txn.putMeta(roleKey(name), r.toByteArray());
    }

    static byte[] userKey(String name) {
        return concat(USER_PREFIX, name.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] roleKey(String name) {
        return concat(ROLE_PREFIX, name.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        return ByteBuffer.allocate(a.length + b.length).put(a).put(b).array();
    }

    private static byte[] meta(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private interface Parser<T> {
        T parse() throws InvalidProtocolBufferException;
    }

    private static <T> T parse(Parser<T> p, String what) {
        try {
            return p.parse();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("corrupt auth " + what + " record", e);
        }
    }

    /** For tests and diagnostics: the users by name. */
    Map<String, User> users() {
        return state.users;
    }
}
