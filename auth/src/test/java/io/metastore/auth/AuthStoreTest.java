package io.metastore.auth;

import io.metastore.auth.AuthException.Reason;
import io.metastore.proto.authpb.Permission;
import io.metastore.proto.authpb.User;
import io.metastore.proto.authpb.UserAddOptions;
import io.metastore.proto.etcdserverpb.AuthDisableRequest;
import io.metastore.proto.etcdserverpb.AuthEnableRequest;
import io.metastore.proto.etcdserverpb.AuthRoleAddRequest;
import io.metastore.proto.etcdserverpb.AuthRoleDeleteRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGetRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.metastore.proto.etcdserverpb.AuthRoleListRequest;
import io.metastore.proto.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.metastore.proto.etcdserverpb.AuthStatusRequest;
import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordRequest;
import io.metastore.proto.etcdserverpb.AuthUserDeleteRequest;
import io.metastore.proto.etcdserverpb.AuthUserGetRequest;
import io.metastore.proto.etcdserverpb.AuthUserGrantRoleRequest;
import io.metastore.proto.etcdserverpb.AuthUserListRequest;
import io.metastore.proto.etcdserverpb.AuthUserRevokeRoleRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.metastore.auth.AuthFixture.bs;
import static io.metastore.auth.AuthFixture.perm;
import static io.metastore.proto.authpb.Permission.Type.READ;
import static io.metastore.proto.authpb.Permission.Type.READWRITE;
import static io.metastore.proto.authpb.Permission.Type.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AuthStoreTest {
    private final AuthFixture f = new AuthFixture();
    private final AuthStore store = f.store;

    @AfterEach
    void close() {
        f.close();
    }

    private void assertAuthError(Reason reason, String message, Executable e) {
        AuthException ex = assertThrows(AuthException.class, e);
        assertEquals(reason, ex.reason());
        assertEquals(message, ex.getMessage(), "exact etcd message");
    }

    private void enable() {
        f.apply(t -> store.applyAuthEnable(t, AuthEnableRequest.getDefaultInstance()));
    }

    private void disable() {
        f.apply(t -> store.applyAuthDisable(t, AuthDisableRequest.getDefaultInstance()));
    }

    @Test
    void freshStoreIsDisabledAtRevisionOne() {
        var s = store.status(AuthStatusRequest.getDefaultInstance());
        assertFalse(s.getEnabled());
        assertEquals(1, s.getAuthRevision());
        assertEquals(List.of(), store.userList(AuthUserListRequest.getDefaultInstance()).getUsersList());
    }

    @Test
    void enableNeedsRootUserWithRootRole() {
        assertAuthError(Reason.ROOT_USER_NOT_EXIST, "etcdserver: root user does not exist", this::enable);
        f.addUser("root", "pw");
        assertAuthError(Reason.ROOT_ROLE_NOT_EXIST, "etcdserver: root user does not have root role", this::enable);
        f.grantRole("root", "root"); // role root needs no role object
        long rev = store.revision();
        enable();
        assertTrue(store.isEnabled());
        assertEquals(rev, store.revision(), "etcd's AuthEnable does not bump the auth revision");
        enable(); // enabling again is a no-op success
        assertEquals(rev, store.revision());
    }

    @Test
    void disableBumpsRevisionOnlyWhenEnabled() {
        long rev = store.revision();
        disable();
        assertEquals(rev, store.revision(), "disabling a disabled store changes nothing");
        f.enableWithRoot();
        rev = store.revision();
        disable();
        assertFalse(store.isEnabled());
        assertEquals(rev + 1, store.revision());
    }

    @Test
    void userAddRules() {
        assertAuthError(Reason.USER_EMPTY, "etcdserver: user name is empty",
                () -> f.apply(t -> store.applyUserAdd(t, AuthUserAddRequest.newBuilder().build())));
        f.addUser("alice", "pw");
        assertEquals(2, store.revision());
        assertAuthError(Reason.USER_ALREADY_EXIST, "etcdserver: user name already exists", () -> f.addUser("alice", "x"));
        assertEquals(2, store.revision(), "a failed apply leaves the revision alone");

        User alice = store.user("alice").orElseThrow();
        assertTrue(alice.getPassword().toStringUtf8().startsWith("$2a$04$"), "stores the bcrypt hash itself");
        assertTrue(AuthFixture.HASHER.check("pw", alice.getPassword().toByteArray()));
        assertFalse(alice.getOptions().getNoPassword());
    }

    @Test
    void userAddWithNoPasswordStoresNoHash() {
        AuthUserAddRequest r = AuthFixture.HASHER.prepare(AuthUserAddRequest.newBuilder().setName("svc")
                .setPassword("ignored").setOptions(UserAddOptions.newBuilder().setNoPassword(true)).build());
        f.apply(t -> store.applyUserAdd(t, r));
        User svc = store.user("svc").orElseThrow();
        assertTrue(svc.getPassword().isEmpty());
        assertTrue(svc.getOptions().getNoPassword());
    }

    @Test
    void userAddRefusesPlaintextAndBadBase64() {
        assertThrows(IllegalArgumentException.class, () -> f.apply(t -> store.applyUserAdd(t,
                AuthUserAddRequest.newBuilder().setName("bob").setPassword("plain").build())));
        assertAuthError(Reason.NO_PASSWORD_USER, "auth: authentication failed, password was given for no password user",
                () -> f.apply(t -> store.applyUserAdd(t,
                        AuthUserAddRequest.newBuilder().setName("bob").setHashedPassword("!!not base64!!").build())));
        assertTrue(store.user("bob").isEmpty());
        assertEquals(1, store.revision());
    }

    @Test
    void userDeleteRules() {
        assertAuthError(Reason.USER_NOT_FOUND, "etcdserver: user name not found",
                () -> f.apply(t -> store.applyUserDelete(t, AuthUserDeleteRequest.newBuilder().setName("nobody").build())));
        f.enableWithRoot();
        assertAuthError(Reason.INVALID_AUTH_MGMT, "etcdserver: invalid auth management",
                () -> f.apply(t -> store.applyUserDelete(t, AuthUserDeleteRequest.newBuilder().setName("root").build())));
        f.addUser("alice", "pw");
        long rev = store.revision();
        f.apply(t -> store.applyUserDelete(t, AuthUserDeleteRequest.newBuilder().setName("alice").build()));
        assertTrue(store.user("alice").isEmpty());
        assertEquals(rev + 1, store.revision());
        disable();
        f.apply(t -> store.applyUserDelete(t, AuthUserDeleteRequest.newBuilder().setName("root").build()));
        assertTrue(store.user("root").isEmpty(), "root can be deleted while auth is disabled");
    }

    @Test
    void changePassword() {
        assertAuthError(Reason.USER_NOT_FOUND, "etcdserver: user name not found", () -> f.apply(t ->
                store.applyUserChangePassword(t, AuthUserChangePasswordRequest.newBuilder().setName("x").build())));
        f.addUser("alice", "old");
        f.grantRole("alice", "root");
        long rev = store.revision();
        var r = AuthFixture.HASHER.prepare(AuthUserChangePasswordRequest.newBuilder().setName("alice").setPassword("new").build());
        f.apply(t -> store.applyUserChangePassword(t, r));
        User alice = store.user("alice").orElseThrow();
        assertTrue(AuthFixture.HASHER.check("new", alice.getPassword().toByteArray()));
        assertFalse(AuthFixture.HASHER.check("old", alice.getPassword().toByteArray()));
        assertEquals(List.of("root"), alice.getRolesList(), "roles survive a password change");
        assertEquals(rev + 1, store.revision());
    }

    @Test
    void changePasswordOfNoPasswordUserKeepsNoHash() {
        var add = AuthUserAddRequest.newBuilder().setName("svc").setOptions(UserAddOptions.newBuilder().setNoPassword(true)).build();
        f.apply(t -> store.applyUserAdd(t, add));
        var r = AuthFixture.HASHER.prepare(AuthUserChangePasswordRequest.newBuilder().setName("svc").setPassword("pw").build());
        f.apply(t -> store.applyUserChangePassword(t, r));
        assertTrue(store.user("svc").orElseThrow().getPassword().isEmpty());
    }

    @Test
    void grantRoleRules() {
        f.addUser("alice", "pw");
        assertAuthError(Reason.USER_NOT_FOUND, "etcdserver: user name not found", () -> f.grantRole("bob", "r1"));
        assertAuthError(Reason.ROLE_NOT_FOUND, "etcdserver: role name not found", () -> f.grantRole("alice", "r1"));
        f.addRole("zeta");
        f.addRole("alpha");
        f.grantRole("alice", "zeta");
        f.grantRole("alice", "alpha");
        f.grantRole("alice", "root");
        assertEquals(List.of("alpha", "root", "zeta"),
                store.userGet(AuthUserGetRequest.newBuilder().setName("alice").build()).getRolesList(), "kept sorted");
        long rev = store.revision();
        f.grantRole("alice", "alpha");
        assertEquals(rev, store.revision(), "granting a held role is a no-op without a revision bump");
    }

    @Test
    void revokeRoleRules() {
        f.addUser("alice", "pw");
        f.addRole("r1");
        f.grantRole("alice", "r1");
        assertAuthError(Reason.USER_NOT_FOUND, "etcdserver: user name not found", () -> f.apply(t ->
                store.applyUserRevokeRole(t, AuthUserRevokeRoleRequest.newBuilder().setName("bob").setRole("r1").build())));
        assertAuthError(Reason.ROLE_NOT_GRANTED, "etcdserver: role is not granted to the user", () -> f.apply(t ->
                store.applyUserRevokeRole(t, AuthUserRevokeRoleRequest.newBuilder().setName("alice").setRole("r2").build())));
        long rev = store.revision();
        f.apply(t -> store.applyUserRevokeRole(t, AuthUserRevokeRoleRequest.newBuilder().setName("alice").setRole("r1").build()));
        assertEquals(List.of(), store.user("alice").orElseThrow().getRolesList());
        assertEquals(rev + 1, store.revision());

        f.enableWithRoot();
        assertAuthError(Reason.INVALID_AUTH_MGMT, "etcdserver: invalid auth management", () -> f.apply(t ->
                store.applyUserRevokeRole(t, AuthUserRevokeRoleRequest.newBuilder().setName("root").setRole("root").build())));
        disable();
        f.apply(t -> store.applyUserRevokeRole(t, AuthUserRevokeRoleRequest.newBuilder().setName("root").setRole("root").build()));
        assertFalse(store.hasRole("root", "root"));
    }

    @Test
    void roleAddGetListDelete() {
        assertAuthError(Reason.ROLE_EMPTY, "etcdserver: role name is empty", () -> f.addRole(""));
        f.addRole("b");
        f.addRole("a");
        f.addRole("root");
        assertAuthError(Reason.ROLE_ALREADY_EXIST, "etcdserver: role name already exists", () -> f.addRole("a"));
        assertEquals(List.of("a", "b", "root"), store.roleList(AuthRoleListRequest.getDefaultInstance()).getRolesList());
        assertAuthError(Reason.ROLE_NOT_FOUND, "etcdserver: role name not found",
                () -> store.roleGet(AuthRoleGetRequest.newBuilder().setRole("zz").build()));
        assertEquals(List.of(perm(READWRITE, "", "\0")),
                store.roleGet(AuthRoleGetRequest.newBuilder().setRole("root").build()).getPermList(),
                "role root reads as everything");

        f.addUser("u1", "pw");
        f.addUser("u2", "pw");
        f.grantRole("u1", "a");
        f.grantRole("u1", "b");
        f.grantRole("u2", "a");
        long rev = store.revision();
        f.apply(t -> store.applyRoleDelete(t, AuthRoleDeleteRequest.newBuilder().setRole("a").build()));
        assertEquals(rev + 1, store.revision(), "one revision for the role and all the users it touched");
        assertEquals(List.of("b"), store.user("u1").orElseThrow().getRolesList());
        assertEquals(List.of(), store.user("u2").orElseThrow().getRolesList());
        assertAuthError(Reason.ROLE_NOT_FOUND, "etcdserver: role name not found", () -> f.apply(t ->
                store.applyRoleDelete(t, AuthRoleDeleteRequest.newBuilder().setRole("a").build())));

        f.enableWithRoot();
        assertAuthError(Reason.INVALID_AUTH_MGMT, "etcdserver: invalid auth management", () -> f.apply(t ->
                store.applyRoleDelete(t, AuthRoleDeleteRequest.newBuilder().setRole("root").build())));
    }

    @Test
    void userGetAndListErrorsAndOrder() {
        assertAuthError(Reason.USER_NOT_FOUND, "etcdserver: user name not found",
                () -> store.userGet(AuthUserGetRequest.newBuilder().setName("x").build()));
        // etcd orders by UTF-8 bytes: U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80); UTF-16 disagrees
        f.addUser("\uD83D\uDE00", "pw");
        f.addUser("\uFF21", "pw");
        f.addUser("b", "pw");
        assertEquals(List.of("b", "\uFF21", "\uD83D\uDE00"),
                store.userList(AuthUserListRequest.getDefaultInstance()).getUsersList());
    }

    @Test
    void grantPermissionValidationAndOrder() {
        assertAuthError(Reason.PERMISSION_NOT_GIVEN, "etcdserver: permission not given", () -> f.apply(t ->
                store.applyRoleGrantPermission(t, AuthRoleGrantPermissionRequest.newBuilder().setName("r").build())));
        for (String[] bad : new String[][] {{"", ""}, {"", "\0"}, {"b", "a"}, {"a", "a"}}) {
            assertAuthError(Reason.INVALID_AUTH_MGMT, "etcdserver: invalid auth management",
                    () -> f.grant("r", READ, bad[0], bad[1]));
        }
        assertAuthError(Reason.ROLE_NOT_FOUND, "etcdserver: role name not found", () -> f.grant("r", READ, "a", "b"));
        f.addRole("r");
        long rev = store.revision();
        f.grant("r", READ, "m", "");
        f.grant("r", WRITE, "a", "c");
        f.grant("r", READWRITE, "\0", "\0"); // every key: valid
        f.grant("r", READ, "x", "\0");
        assertEquals(rev + 4, store.revision());
        assertEquals(List.of(perm(READWRITE, "\0", "\0"), perm(WRITE, "a", "c"), perm(READ, "m", ""), perm(READ, "x", "\0")),
                store.roleGet(AuthRoleGetRequest.newBuilder().setRole("r").build()).getPermList(), "sorted by key");

        // same key and range_end: the type is replaced in place, and the revision still moves
        f.grant("r", READ, "a", "c");
        f.grant("r", READ, "a", "c");
        assertEquals(rev + 6, store.revision());
        assertEquals(List.of(perm(READWRITE, "\0", "\0"), perm(READ, "a", "c"), perm(READ, "m", ""), perm(READ, "x", "\0")),
                store.roleGet(AuthRoleGetRequest.newBuilder().setRole("r").build()).getPermList());

        // same key, other range_end: a second permission
        f.grant("r", WRITE, "a", "b");
        assertEquals(5, store.role("r").orElseThrow().getKeyPermissionCount());
    }

    @Test
    void revokePermission() {
        f.addRole("r");
        f.grant("r", READ, "a", "c");
        f.grant("r", READ, "k", "");
        assertAuthError(Reason.ROLE_NOT_FOUND, "etcdserver: role name not found", () -> f.apply(t ->
                store.applyRoleRevokePermission(t, AuthRoleRevokePermissionRequest.newBuilder().setRole("nope").setKey(bs("a")).build())));
        assertAuthError(Reason.PERMISSION_NOT_GRANTED, "etcdserver: permission is not granted to the role", () -> f.apply(t ->
                store.applyRoleRevokePermission(t, AuthRoleRevokePermissionRequest.newBuilder().setRole("r")
                        .setKey(bs("a")).setRangeEnd(bs("b")).build())));
        long rev = store.revision();
        f.apply(t -> store.applyRoleRevokePermission(t, AuthRoleRevokePermissionRequest.newBuilder().setRole("r")
                .setKey(bs("a")).setRangeEnd(bs("c")).build()));
        assertEquals(List.of(perm(READ, "k", "")), store.role("r").orElseThrow().getKeyPermissionList());
        assertEquals(rev + 1, store.revision());
    }

    @Test
    void revisionCountsEveryMutation() {
        f.addUser("root", "pw");     // 2
        f.addRole("r");              // 3
        f.grantRole("root", "root"); // 4
        f.grantRole("root", "r");    // 5
        f.grant("r", READ, "a", ""); // 6
        enable();                    // 6
        f.addUser("u", "pw");        // 7
        disable();                   // 8
        assertEquals(8, store.status(AuthStatusRequest.getDefaultInstance()).getAuthRevision());
    }

    @Test
    void everythingSurvivesAReload() {
        f.enableWithRoot();
        f.addUser("alice", "pw");
        f.addRole("r");
        f.grant("r", READ, "a", "c");
        f.grantRole("alice", "r");
        f.apply(t -> store.applyUserDelete(t, AuthUserDeleteRequest.newBuilder().setName("alice").build()));
        f.addUser("bob", "pw");
        f.grantRole("bob", "r");

        AuthStore again = f.reopened();
        assertTrue(again.isEnabled());
        assertEquals(store.revision(), again.revision());
        assertEquals(List.of("bob", "root"), again.userList(AuthUserListRequest.getDefaultInstance()).getUsersList());
        assertEquals(store.user("bob"), again.user("bob"));
        assertEquals(List.of("r"), again.roleList(AuthRoleListRequest.getDefaultInstance()).getRolesList());
        assertEquals(List.of(perm(READ, "a", "c")), again.role("r").orElseThrow().getKeyPermissionList());
        assertTrue(new PermissionChecker(again).isPermitted("bob", "b".getBytes(StandardCharsets.UTF_8), null, false));

        // and a disabled flag too
        f.apply(t -> store.applyAuthDisable(t, AuthDisableRequest.getDefaultInstance()));
        assertFalse(f.reopened().isEnabled());
    }

    @Test
    void reloadReplacesTheInMemoryView() {
        f.addUser("alice", "pw");
        AuthStore other = new AuthStore(f.mvcc); // a second view over the same store, loaded later
        other.reload();
        assertTrue(other.user("alice").isPresent());
        store.reload();
        assertEquals(2, store.revision());
    }
}
