package io.metastore.auth;

import io.metastore.auth.AuthException.Reason;
import io.metastore.proto.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.metastore.proto.etcdserverpb.AuthUserRevokeRoleRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.metastore.auth.AuthFixture.b;
import static io.metastore.auth.AuthFixture.bs;
import static io.metastore.proto.authpb.Permission.Type.READ;
import static io.metastore.proto.authpb.Permission.Type.READWRITE;
import static io.metastore.proto.authpb.Permission.Type.WRITE;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PermissionCheckerTest {
    private final AuthFixture f = new AuthFixture();
    private final PermissionChecker checker = new PermissionChecker(f.store);

    @BeforeEach
    void users() {
        f.addUser("alice", "pw");
        f.addRole("r");
        f.grantRole("alice", "r");
    }

    @AfterEach
    void close() {
        f.close();
    }

    private boolean read(String key, String end) {
        return checker.isPermitted("alice", b(key), end == null ? null : b(end), false);
    }

    private boolean write(String key, String end) {
        return checker.isPermitted("alice", b(key), end == null ? null : b(end), true);
    }

    @Test
    void singleKeyPermission() {
        f.grant("r", READ, "foo", "");
        assertTrue(read("foo", null));
        assertTrue(read("foo", ""));
        assertTrue(read("foo", "foo\0"), "the range holding exactly foo");
        assertFalse(read("foo0", null));
        assertFalse(read("fo", null));
        assertFalse(read("foo", "fop"), "a prefix range is more than the key");
        assertFalse(write("foo", null), "READ does not grant WRITE");
    }

    @Test
    void rangePermission() {
        f.grant("r", WRITE, "a", "m");
        assertTrue(write("a", null));
        assertTrue(write("lzzz", null));
        assertFalse(write("m", null), "range_end is exclusive");
        assertTrue(write("a", "m"));
        assertTrue(write("b", "c"));
        assertFalse(write("b", "n"));
        assertFalse(write("0", "b"));
        assertFalse(write("a", "\0"), "open-ended exceeds a bounded grant");
        assertFalse(read("b", null));
    }

    @Test
    void prefixPermission() {
        f.grant("r", READWRITE, "dir/", "dir0"); // etcdctl role grant-permission --prefix r readwrite dir/
        assertTrue(read("dir/", "dir0"));
        assertTrue(read("dir/x/y", "dir/x/z"));
        assertTrue(write("dir/file", null));
        assertFalse(read("dir", null));
        assertFalse(read("dir0", null));
        assertFalse(read("dir/", "\0"));
    }

    @Test
    void fromKeyPermission() {
        f.grant("r", READ, "k", "\0"); // --from-key
        assertTrue(read("k", null));
        assertTrue(read("zzzz", null));
        assertTrue(read("\u00ff\u00ff", null));
        assertTrue(read("k", "\0"), "open-ended request inside open-ended grant");
        assertTrue(read("x", "\0"));
        assertFalse(read("j", "\0"));
        assertFalse(read("a", null));
    }

    @Test
    void everyKeyPermission() {
        f.grant("r", READ, "\0", "\0");
        assertTrue(read("\0", "\0"));
        assertTrue(read("a", null));
        assertTrue(read("a", "\0"));
        assertFalse(write("a", null));
    }

    @Test
    void mergedAcrossPermissionsAndRoles() {
        f.addRole("r2");
        f.grantRole("alice", "r2");
        f.grant("r", READ, "a", "c");
        f.grant("r2", READ, "c", "e");       // touches [a,c)
        f.grant("r", READWRITE, "d", "g");   // overlaps, READWRITE counts as read
        f.grant("r2", READ, "x", "");        // a lone key
        assertTrue(read("a", "g"), "union of touching and overlapping intervals from two roles");
        assertTrue(read("b", "f"));
        assertFalse(read("a", "h"));
        assertFalse(read("a", "x\0"), "gap between g and x");
        assertTrue(read("x", null));
        assertTrue(write("d", "g"));
        assertFalse(write("c", "g"));
    }

    @Test
    void revokedPermissionOrRoleLosesAccess() {
        f.grant("r", READ, "a", "c");
        assertTrue(read("b", null));
        f.apply(t -> f.store.applyRoleRevokePermission(t, AuthRoleRevokePermissionRequest.newBuilder()
                .setRole("r").setKey(bs("a")).setRangeEnd(bs("c")).build()));
        assertFalse(read("b", null), "the cache follows the new auth revision");

        f.grant("r", READ, "a", "c");
        assertTrue(read("b", null));
        f.apply(t -> f.store.applyUserRevokeRole(t, AuthUserRevokeRoleRequest.newBuilder().setName("alice").setRole("r").build()));
        assertFalse(read("b", null));
    }

    @Test
    void rootRoleMayDoEverythingUnknownUserNothing() {
        f.grantRole("alice", "root");
        assertTrue(write("anything", null));
        assertTrue(read("\0", "\0"));
        assertFalse(checker.isPermitted("ghost", b("a"), null, false));
    }

    @Test
    void checksFollowEtcdErrorOrder() {
        f.grant("r", READ, "a", "c");
        AuthInfo alice = new AuthInfo("alice", f.store.revision());
        // disabled: everything passes, even without a credential
        assertDoesNotThrow(() -> checker.checkPut(null, b("zzz")));
        assertDoesNotThrow(() -> checker.checkAdmin(null));

        f.enableWithRoot();
        alice = new AuthInfo("alice", f.store.revision());
        assertError(Reason.USER_EMPTY, "etcdserver: user name is empty", AuthInfo.NONE, true);
        assertError(Reason.AUTH_OLD_REVISION, "etcdserver: revision of auth store is old",
                new AuthInfo("alice", f.store.revision() - 1), false);
        assertError(Reason.PERMISSION_DENIED, "etcdserver: permission denied", new AuthInfo("ghost", f.store.revision()), false);
        assertError(Reason.PERMISSION_DENIED, "etcdserver: permission denied", alice, true);
        AuthInfo a = alice;
        assertDoesNotThrow(() -> checker.checkRange(a, b("a"), b("c")));
        assertDoesNotThrow(() -> checker.checkRange(new AuthInfo("alice", f.store.revision() + 5), b("b"), null),
                "a newer revision (JWT from a member ahead) is fine");
        assertThrows(AuthException.class, () -> checker.checkDeleteRange(a, b("a"), b("c")));
        assertDoesNotThrow(() -> checker.checkPut(new AuthInfo("root", 1_000), b("x")));
    }

    private void assertError(Reason reason, String message, AuthInfo who, boolean write) {
        AuthException e = assertThrows(AuthException.class, () -> {
            if (write) {
                checker.checkPut(who, b("b"));
            } else {
                checker.checkRange(who, b("b"), null);
            }
        });
        assertEquals(reason, e.reason());
        assertEquals(message, e.getMessage());
    }

    @Test
    void adminAndSelfService() {
        f.enableWithRoot();
        AuthInfo root = new AuthInfo("root", f.store.revision());
        AuthInfo alice = new AuthInfo("alice", f.store.revision());
        assertDoesNotThrow(() -> checker.checkAdmin(root));
        assertEquals(Reason.USER_EMPTY, assertThrows(AuthException.class, () -> checker.checkAdmin(AuthInfo.NONE)).reason());
        assertEquals(Reason.USER_NOT_FOUND,
                assertThrows(AuthException.class, () -> checker.checkAdmin(new AuthInfo("ghost", 9))).reason());
        assertEquals(Reason.PERMISSION_DENIED, assertThrows(AuthException.class, () -> checker.checkAdmin(alice)).reason());

        assertDoesNotThrow(() -> checker.checkUserGet(alice, "alice"));
        assertThrows(AuthException.class, () -> checker.checkUserGet(alice, "root"));
        assertDoesNotThrow(() -> checker.checkUserGet(root, "alice"));
        assertDoesNotThrow(() -> checker.checkRoleGet(alice, "r"));
        assertThrows(AuthException.class, () -> checker.checkRoleGet(alice, "other"));
    }
}
