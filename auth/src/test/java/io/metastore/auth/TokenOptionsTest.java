package io.metastore.auth;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenOptionsTest {

    @Test
    void simple() {
        assertEquals(TokenOptions.Type.SIMPLE, TokenOptions.parse("simple").type());
        assertEquals(TokenOptions.Type.SIMPLE, TokenOptions.parse("simple,foo=bar").type(), "etcd ignores options of simple");
        assertEquals(TokenOptions.Type.NONE, TokenOptions.parse("").type(), "etcd's nop provider");
    }

    @Test
    void jwtWithDefaults() {
        TokenOptions o = TokenOptions.parse("jwt,pub-key=/k/pub.pem,priv-key=/k/priv.pem,sign-method=RS256");
        assertEquals(TokenOptions.Type.JWT, o.type());
        assertEquals(JwtSignMethod.RS256, o.signMethod());
        assertEquals(Path.of("/k/pub.pem"), o.publicKey());
        assertEquals(Path.of("/k/priv.pem"), o.privateKey());
        assertEquals(Duration.ofMinutes(5), o.jwtTtl());
    }

    @Test
    void jwtTtlIsAGoDuration() {
        String base = "jwt,pub-key=p,sign-method=ES256,ttl=";
        assertEquals(Duration.ofMinutes(10), TokenOptions.parse(base + "10m").jwtTtl());
        assertEquals(Duration.ofSeconds(90), TokenOptions.parse(base + "1m30s").jwtTtl());
        assertEquals(Duration.ofMinutes(90), TokenOptions.parse(base + "1.5h").jwtTtl());
        assertEquals(Duration.ofMillis(250), TokenOptions.parse(base + "250ms").jwtTtl());
        assertEquals(Duration.ofMinutes(5), TokenOptions.parse(base).jwtTtl(), "empty ttl = default");
        assertNull(TokenOptions.parse(base + "1h").privateKey(), "public key only: verify-only");
    }

    @Test
    void badInputSaysWhat() {
        assertBad("auth: invalid auth options: unknown token type \"jwtx\"", "jwtx,sign-method=RS256");
        assertBad("auth: invalid auth options: \"pub-key\" is not name=value", "jwt,pub-key,sign-method=RS256");
        assertBad("auth: invalid auth options: \"a=b=c\" is not name=value", "jwt,a=b=c");
        assertBad("auth: invalid auth options: duplicate parameter \"ttl\"", "jwt,ttl=1m,ttl=2m");
        assertBad("auth: invalid auth signature method: sign-method is required", "jwt,pub-key=p");
        assertBad("auth: invalid auth signature method: unknown sign-method \"rs256\"", "jwt,pub-key=p,sign-method=rs256");
        assertBad("auth: invalid auth signature method: sign-method HS256 is not supported by MetaStore", "jwt,priv-key=p,sign-method=HS256");
        assertBad("auth: missing key data", "jwt,sign-method=RS256");
        assertBad("auth: invalid auth options: ttl: time: unknown unit \"x\" in duration \"5x\"", "jwt,pub-key=p,sign-method=RS256,ttl=5x");
        assertBad("auth: invalid auth options: ttl: time: missing unit in duration \"5\"", "jwt,pub-key=p,sign-method=RS256,ttl=5");
        assertBad("auth: invalid auth options: ttl must be positive", "jwt,pub-key=p,sign-method=RS256,ttl=0");
        assertBad("auth: invalid auth options: ttl must be positive", "jwt,pub-key=p,sign-method=RS256,ttl=-1m");
    }

    private static void assertBad(String messageStart, String flag) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenOptions.parse(flag));
        assertTrue(e.getMessage().startsWith(messageStart), e.getMessage());
    }

    @Test
    void goDurations() {
        assertEquals(Duration.ZERO, GoDuration.parse("0"));
        assertEquals(Duration.ofNanos(1500), GoDuration.parse("1.5us"));
        assertEquals(Duration.ofNanos(1500), GoDuration.parse("1.5\u00b5s"));
        assertEquals(Duration.ofHours(2).plusMinutes(3).plusSeconds(4), GoDuration.parse("2h3m4s"));
        assertEquals(Duration.ofSeconds(-5), GoDuration.parse("-5s"));
        assertEquals(Duration.ofMillis(500), GoDuration.parse(".5s"));
        for (String bad : new String[] {"", "s", "1..5s", "1h-5m", "+", "1e3s"}) {
            assertThrows(IllegalArgumentException.class, () -> GoDuration.parse(bad), bad);
        }
    }
}
