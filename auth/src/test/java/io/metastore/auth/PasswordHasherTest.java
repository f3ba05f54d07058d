package io.metastore.auth;

import io.metastore.proto.authpb.UserAddOptions;
import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PasswordHasherTest {

    @Test
    void defaultCostIsEtcds() {
        assertEquals(10, new PasswordHasher().cost());
        assertTrue(new PasswordHasher().hash("pw").startsWith("$2a$10$"));
    }

    @Test
    void hashIs2aWithConfiguredCostAndSalted() {
        PasswordHasher h = new PasswordHasher(5);
        String one = h.hash("secret");
        String two = h.hash("secret");
        assertTrue(one.startsWith("$2a$05$"), one);
        assertEquals(60, one.length());
        assertNotEquals(one, two, "random salt");
        assertTrue(h.check("secret", one));
        assertTrue(h.check("secret", two));
        assertFalse(h.check("Secret", one));
        assertFalse(h.check("", one));
    }

    @Test
    void invalidCostFallsBackToDefaultAsEtcd() {
        assertEquals(10, new PasswordHasher(3).cost());
        assertEquals(10, new PasswordHasher(32).cost());
        assertEquals(4, new PasswordHasher(4).cost());
    }

    @Test
    void checkAcceptsOtherCostsAnd2bButNotGarbage() {
        PasswordHasher h = new PasswordHasher(4);
        String cost6 = new PasswordHasher(6).hash("pw");
        assertTrue(h.check("pw", cost6), "the cost is read from the hash");
        assertTrue(h.check("pw", "$2b" + cost6.substring(3)), "Go accepts $2b$ and so do we");
        assertTrue(h.check("pw", "$2y" + cost6.substring(3)));
        assertFalse(h.check("pw", ""));
        assertFalse(h.check("pw", (String) null));
        assertFalse(h.check("pw", "plaintext"));
        assertFalse(h.check("pw", "$2a$04$short"));
        assertFalse(h.check("pw", new byte[0]));
        assertTrue(h.check("pw", cost6.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void passwordsOver72BytesAreRefusedLikeGo() {
        PasswordHasher h = new PasswordHasher(4);
        h.hash("x".repeat(72));
        AuthException e = assertThrows(AuthException.class, () -> h.hash("x".repeat(73)));
        assertEquals("bcrypt: password length exceeds 72 bytes", e.getMessage());
        assertEquals(AuthException.Code.UNKNOWN, e.reason().grpcCode());
    }

    @Test
    void prepareUserAddHashesAndClearsThePlaintext() {
        PasswordHasher h = new PasswordHasher(4);
        AuthUserAddRequest r = h.prepare(AuthUserAddRequest.newBuilder().setName("u").setPassword("pw")
                .setHashedPassword("client-sent").build());
        assertEquals("", r.getPassword());
        String hash = new String(Base64.getDecoder().decode(r.getHashedPassword()), StandardCharsets.US_ASCII);
        assertTrue(hash.startsWith("$2a$04$"));
        assertTrue(h.check("pw", hash), "etcd replaces a client-sent hashedPassword on UserAdd");

        AuthUserAddRequest noPw = AuthUserAddRequest.newBuilder().setName("u").setPassword("pw")
                .setOptions(UserAddOptions.newBuilder().setNoPassword(true)).build();
        assertEquals(noPw, h.prepare(noPw), "no_password users are proposed as they are");
    }

    @Test
    void prepareChangePasswordKeepsAClientHashWhenNoPasswordIsSent() {
        PasswordHasher h = new PasswordHasher(4);
        var pre = AuthUserChangePasswordRequest.newBuilder().setName("u").setHashedPassword("abc").build();
        assertEquals(pre, h.prepare(pre));
        var plain = h.prepare(AuthUserChangePasswordRequest.newBuilder().setName("u").setPassword("pw").build());
        assertEquals("", plain.getPassword());
        assertTrue(h.check("pw", Base64.getDecoder().decode(plain.getHashedPassword())));
    }
}
