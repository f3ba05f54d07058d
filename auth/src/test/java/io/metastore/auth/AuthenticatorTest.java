package io.metastore.auth;

import io.metastore.auth.AuthException.Reason;
import io.metastore.proto.authpb.UserAddOptions;
import io.metastore.proto.etcdserverpb.AuthDisableRequest;
import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordRequest;
import io.metastore.proto.etcdserverpb.AuthUserDeleteRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AuthenticatorTest {
    private final AuthFixture f = new AuthFixture();
    private final SimpleTokenProviderTest.FakeClock clock = new SimpleTokenProviderTest.FakeClock();
    private final SimpleTokenProvider tokens = new SimpleTokenProvider(Duration.ofSeconds(300), clock, 100);
    private final Authenticator auth = new Authenticator(f.store, AuthFixture.HASHER, tokens);

    @AfterEach
    void close() {
        f.close();
    }

    /** What the server does: check on the proposer, then apply the Authenticate command. */
    private String login(String name, String password) {
        long checked = auth.checkPassword(name, password);
        assertEquals(f.store.revision(), checked);
        return auth.applyAuthenticate(name, auth.newTokenPrefix(), f.lastIndex() + 1).getToken();
    }

    private static void assertReason(Reason r, String message, Runnable call) {
        AuthException e = assertThrows(AuthException.class, call::run);
        assertEquals(r, e.reason());
        assertEquals(message, e.getMessage());
    }

    @Test
    void authenticateNeedsAuthEnabled() {
        f.addUser("alice", "pw");
        assertReason(Reason.AUTH_NOT_ENABLED, "etcdserver: authentication is not enabled", () -> auth.checkPassword("alice", "pw"));
        assertReason(Reason.AUTH_NOT_ENABLED, "etcdserver: authentication is not enabled",
                () -> auth.applyAuthenticate("alice", "abcdefghijklmnop", 9));
        assertEquals(Optional.empty(), auth.authInfo("whatever"), "tokens are ignored while auth is disabled");
    }

    @Test
    void passwordsAndUsers() {
        f.enableWithRoot();
        f.addUser("alice", "pw");
        String failed = "etcdserver: authentication failed, invalid user ID or password";
        assertReason(Reason.AUTH_FAILED, failed, () -> auth.checkPassword("alice", "wrong"));
        assertReason(Reason.AUTH_FAILED, failed, () -> auth.checkPassword("bob", "pw"));
        assertReason(Reason.AUTH_FAILED, failed, () -> auth.applyAuthenticate("bob", "abcdefghijklmnop", 9));

        var svc = AuthUserAddRequest.newBuilder().setName("svc").setOptions(UserAddOptions.newBuilder().setNoPassword(true)).build();
        f.apply(t -> f.store.applyUserAdd(t, svc));
        assertReason(Reason.NO_PASSWORD_USER, "auth: authentication failed, password was given for no password user",
                () -> auth.checkPassword("svc", ""));
        assertReason(Reason.AUTH_FAILED, failed, () -> auth.applyAuthenticate("svc", "abcdefghijklmnop", 9));

        String token = login("alice", "pw");
        assertEquals(Optional.of(new AuthInfo("alice", f.store.revision())), auth.authInfo(token));
        assertEquals(Optional.of(new AuthInfo("alice", f.store.revision())), auth.authInfo("Bearer " + token));
        assertEquals(Optional.empty(), auth.authInfo(""), "no token: the caller decides (TLS CN or user empty)");
        assertReason(Reason.INVALID_AUTH_TOKEN, "etcdserver: invalid auth token", () -> auth.authInfo("nope.1"));
    }

    @Test
    void tokenValidationIsCheapAndTokensDieWithTheirUser() {
        PasswordHasher slow = new PasswordHasher(12); // ~0.25 s per bcrypt: validation must not run it
        Authenticator a = new Authenticator(f.store, slow, tokens);
        f.enableWithRoot();
        var add = slow.prepare(AuthUserAddRequest.newBuilder().setName("alice").setPassword("pw").build());
        f.apply(t -> f.store.applyUserAdd(t, add)); // a cost-12 hash: any bcrypt during validation would show
        a.checkPassword("alice", "pw");
        String token = a.applyAuthenticate("alice", a.newTokenPrefix(), 100).getToken();
        long start = System.nanoTime();
        for (int i = 0; i < 10_000; i++) {
            a.authInfo(token);
        }
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(2).toNanos(), "10k validations without bcrypt");

        var change = AuthFixture.HASHER.prepare(AuthUserChangePasswordRequest.newBuilder().setName("alice").setPassword("new").build());
        f.apply(t -> f.store.applyUserChangePassword(t, change));
        assertThrows(AuthException.class, () -> a.authInfo(token), "a password change voids the user's tokens");

        String token2 = a.applyAuthenticate("alice", a.newTokenPrefix(), 101).getToken();
        f.apply(t -> f.store.applyUserDelete(t, AuthUserDeleteRequest.newBuilder().setName("alice").build()));
        assertThrows(AuthException.class, () -> a.authInfo(token2), "deleting the user voids them too");

        String rootToken = a.applyAuthenticate("root", a.newTokenPrefix(), 102).getToken();
        f.apply(t -> f.store.applyAuthDisable(t, AuthDisableRequest.getDefaultInstance()));
        assertEquals(0, tokens.size(), "disabling auth voids every token");
        assertEquals(Optional.empty(), a.authInfo(rootToken));
    }

    @Test
    void simpleTokenExpiresThroughTheAuthenticator() {
        f.enableWithRoot();
        String token = login("root", "rootpw");
        clock.advance(Duration.ofSeconds(301));
        assertReason(Reason.INVALID_AUTH_TOKEN, "etcdserver: invalid auth token", () -> auth.authInfo(token));
    }

    @Test
    void jwtCarriesTheRevisionSoOldTokensGetAuthOldRevision() throws Exception {
        var g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        var kp = g.generateKeyPair();
        Authenticator jwt = new Authenticator(f.store, AuthFixture.HASHER,
                new JwtTokenProvider(JwtSignMethod.ES256, kp.getPrivate(), null, null, clock));
        f.enableWithRoot();
        f.addUser("alice", "pw");
        f.addRole("r");
        f.grant("r", io.metastore.proto.authpb.Permission.Type.READ, "a", "z");
        f.grantRole("alice", "r");
        jwt.checkPassword("alice", "pw");
        String token = jwt.applyAuthenticate("alice", jwt.newTokenPrefix(), 0).getToken();
        AuthInfo who = jwt.authInfo(token).orElseThrow();
        PermissionChecker checker = new PermissionChecker(f.store);
        checker.checkRange(who, AuthFixture.b("b"), null);
        f.addUser("carol", "pw"); // any auth change
        AuthInfo stale = jwt.authInfo(token).orElseThrow();
        AuthException e = assertThrows(AuthException.class, () -> checker.checkRange(stale, AuthFixture.b("b"), null));
        assertEquals("etcdserver: revision of auth store is old", e.getMessage());
    }
}
