package io.metastore.auth;

import io.metastore.proto.authpb.Role;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.metastore.auth.AuthFixture.b;
import static io.metastore.auth.AuthFixture.perm;
import static io.metastore.proto.authpb.Permission.Type.READ;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Edge cases of the interval logic, compared with what etcd's interval tree answers. */
class RangePermissionsTest {

    private static RangePermissions of(String... keyEndPairs) {
        Role.Builder r = Role.newBuilder();
        for (int i = 0; i < keyEndPairs.length; i += 2) {
            r.addKeyPermission(perm(READ, keyEndPairs[i], keyEndPairs[i + 1]));
        }
        return RangePermissions.of(List.of(r.build()));
    }

    @Test
    void emptyRequestRangeIsCoveredOnlyIfSomeGrantIntersectsIt() {
        RangePermissions p = of("a", "z");
        assertTrue(p.permits(b("m"), b("c"), false), "etcd: [m,c) is inside a stored interval");
        assertFalse(of("a", "c", "c", "e").permits(b("c"), b("c"), false), "touching intervals do not intersect [c,c)");
    }

    @Test
    void validPermissionRanges() {
        assertTrue(RangePermissions.isValidPermissionRange(b("a"), b("")));
        assertTrue(RangePermissions.isValidPermissionRange(b("a"), b("b")));
        assertTrue(RangePermissions.isValidPermissionRange(b("a"), b("\0")));
        assertTrue(RangePermissions.isValidPermissionRange(b("\0"), b("\0")));
        assertFalse(RangePermissions.isValidPermissionRange(b(""), b("b")));
        assertFalse(RangePermissions.isValidPermissionRange(b("b"), b("a")));
        assertFalse(RangePermissions.isValidPermissionRange(b("\u00ff"), b("\u0001")), "bytes compare unsigned");
    }

    @Test
    void unsignedKeyOrder() {
        RangePermissions p = of("\u0080", "\u00ff");
        assertTrue(p.permits(b("\u00a0"), null, false));
        assertFalse(p.permits(b("\u0010"), null, false));
    }

    @Test
    void noPermissionsPermitNothing() {
        assertFalse(RangePermissions.NONE.permits(b("a"), null, false));
        assertFalse(RangePermissions.NONE.permits(b("a"), b("\0"), true));
    }
}
