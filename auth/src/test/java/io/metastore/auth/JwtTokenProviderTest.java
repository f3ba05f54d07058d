package io.metastore.auth;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JwtTokenProviderTest {
    @TempDir
    static Path dir;

    private static final Map<JwtSignMethod, KeyPair> KEYS = new EnumMap<>(JwtSignMethod.class);
    private static KeyPair rsa;
    private static KeyPair otherRsa;

    private final SimpleTokenProviderTest.FakeClock clock = new SimpleTokenProviderTest.FakeClock();

    @BeforeAll
    static void keys() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        rsa = g.generateKeyPair();
        otherRsa = g.generateKeyPair();
        for (JwtSignMethod m : JwtSignMethod.values()) {
            if (m.isEcdsa()) {
                KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
                ec.initialize(new ECGenParameterSpec(switch (m) {
                    case ES256 -> "secp256r1";
                    case ES384 -> "secp384r1";
                    default -> "secp521r1";
                }));
                KEYS.put(m, ec.generateKeyPair());
            } else {
                KEYS.put(m, rsa);
            }
        }
    }

    /**
     * Writes a key as PEM with BouncyCastle: PKCS#8 or the traditional form for private keys (PKCS#1 for RSA;
     * for EC what {@code openssl ecparam -genkey} writes: an "EC PARAMETERS" block, then SEC1 naming the curve).
     */
    static Path pem(String name, Object key, boolean pkcs8) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            if (pkcs8) {
                w.writeObject(new JcaPKCS8Generator((java.security.PrivateKey) key, null));
            } else if (key instanceof java.security.interfaces.ECPrivateKey ec) {
                PrivateKeyInfo info = PrivateKeyInfo.getInstance(ec.getEncoded());
                ASN1Encodable curve = info.getPrivateKeyAlgorithm().getParameters();
                w.writeObject(new PemObject("EC PARAMETERS", curve.toASN1Primitive().getEncoded()));
                int bits = ec.getParams().getOrder().bitLength();
                w.writeObject(new PemObject("EC PRIVATE KEY",
                        new ECPrivateKey(bits, ec.getS(), null, curve).getEncoded()));
            } else {
                w.writeObject(key);
            }
        }
        Path p = dir.resolve(name);
        Files.writeString(p, out.toString());
        return p;
    }

    private JwtTokenProvider provider(JwtSignMethod m, boolean withPrivate, boolean withPublic) {
        KeyPair kp = KEYS.get(m);
        return new JwtTokenProvider(m, withPrivate ? kp.getPrivate() : null, withPublic ? kp.getPublic() : null,
                Duration.ofMinutes(5), clock);
    }

    @ParameterizedTest
    @EnumSource(JwtSignMethod.class)
    void roundTripAndCrossInstanceVerification(JwtSignMethod m) {
        JwtTokenProvider signer = provider(m, true, false);
        String token = signer.assign("alice", 42, "", 7);
        assertEquals(Optional.of(new AuthInfo("alice", 42)), signer.info(token, 99),
                "a JWT carries its own revision, not the store's");
        JwtTokenProvider verifier = provider(m, false, true);
        assertTrue(verifier.verifyOnly());
        assertEquals(Optional.of(new AuthInfo("alice", 42)), verifier.info(token, 1), "another member with the public key");
    }

    @Test
    void headerAndClaimsAreEtcdsJson() {
        String token = provider(JwtSignMethod.RS256, true, true).assign("al\"ice<", 3, "", 1);
        String[] parts = token.split("\\.");
        assertEquals("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", decode(parts[0]));
        long exp = clock.now.plus(Duration.ofMinutes(5)).getEpochSecond();
        assertEquals("{\"exp\":" + exp + ",\"revision\":3,\"username\":\"al\\\"ice\\u003c\"}", decode(parts[1]));
        assertFalse(token.contains("="), "unpadded base64url");
    }

    @Test
    void expiredTokenIsRejected() {
        JwtTokenProvider p = provider(JwtSignMethod.ES256, true, true);
        String token = p.assign("alice", 1, "", 1);
        clock.advance(Duration.ofMinutes(5).minusSeconds(1));
        assertTrue(p.info(token, 1).isPresent());
        clock.advance(Duration.ofSeconds(1));
        assertTrue(p.info(token, 1).isEmpty(), "invalid from exp on");
    }

    @Test
    void tamperedTokensAreRejected() {
        JwtTokenProvider p = provider(JwtSignMethod.PS256, true, true);
        String token = p.assign("alice", 1, "", 1);
        String[] parts = token.split("\\.");
        String forgedClaims = Base64.getUrlEncoder().withoutPadding().encodeToString(
                decode(parts[1]).replace("alice", "root_").getBytes(StandardCharsets.UTF_8));
        assertTrue(p.info(parts[0] + "." + forgedClaims + "." + parts[2], 1).isEmpty(), "changed claims");
        char last = parts[2].charAt(5);
        String badSig = parts[2].substring(0, 5) + (last == 'A' ? 'B' : 'A') + parts[2].substring(6);
        assertTrue(p.info(parts[0] + "." + parts[1] + "." + badSig, 1).isEmpty(), "changed signature");
        String none = Base64.getUrlEncoder().withoutPadding().encodeToString(
                "{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        assertTrue(p.info(none + "." + parts[1] + ".", 1).isEmpty(), "alg none");
        assertTrue(p.info("garbage", 1).isEmpty());
        assertTrue(p.info(token + "=", 1).isEmpty());
        assertTrue(p.info("abcdefghijklmnop.12", 1).isEmpty(), "a simple token");
    }

    @Test
    void tokenOfAnotherKeyOrAlgorithmIsRejected() {
        String rs256 = provider(JwtSignMethod.RS256, true, true).assign("alice", 1, "", 1);
        JwtTokenProvider other = new JwtTokenProvider(JwtSignMethod.RS256, otherRsa.getPrivate(), null, null, clock);
        assertTrue(other.info(rs256, 1).isEmpty(), "other key");
        assertTrue(provider(JwtSignMethod.PS256, true, true).info(rs256, 1).isEmpty(), "same key, other alg");
        assertTrue(provider(JwtSignMethod.RS512, true, true).info(rs256, 1).isEmpty());
    }

    @Test
    void verifyOnlyCannotSign() {
        AuthException e = assertThrows(AuthException.class, () -> provider(JwtSignMethod.ES256, false, true).assign("a", 1, "", 1));
        assertEquals("auth: token signing attempted with verify-only key", e.getMessage());
    }

    @Test
    void keyValidation() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new JwtTokenProvider(JwtSignMethod.RS256, rsa.getPrivate(), otherRsa.getPublic(), null, clock));
        assertEquals("auth: public and private keys don't match", e.getMessage());
        assertEquals("auth: missing key data", assertThrows(IllegalArgumentException.class,
                () -> new JwtTokenProvider(JwtSignMethod.RS256, null, null, null, clock)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new JwtTokenProvider(JwtSignMethod.ES256,
                rsa.getPrivate(), null, null, clock)).getMessage().contains("ES256 needs an EC key"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new JwtTokenProvider(JwtSignMethod.ES256,
                KEYS.get(JwtSignMethod.ES384).getPrivate(), null, null, clock)).getMessage().contains("P-256"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new JwtTokenProvider(JwtSignMethod.RS256,
                null, KEYS.get(JwtSignMethod.ES256).getPublic(), null, clock)).getMessage().contains("needs an RSA key"));
    }

    @Test
    void providersFromPemFilesViaTheFlag() throws IOException {
        for (boolean pkcs8 : new boolean[] {false, true}) {
            for (JwtSignMethod m : new JwtSignMethod[] {JwtSignMethod.RS256, JwtSignMethod.ES256, JwtSignMethod.ES512}) {
                KeyPair kp = KEYS.get(m);
                Path priv = pem(m + "-priv-" + pkcs8 + ".pem", kp.getPrivate(), pkcs8);
                Path pub = pem(m + "-pub.pem", kp.getPublic(), false);
                assertTrue(Files.readString(priv).startsWith(pkcs8 ? "-----BEGIN PRIVATE KEY-----"
                        : m.isEcdsa() ? "-----BEGIN EC PARAMETERS-----" : "-----BEGIN RSA PRIVATE KEY-----"));
                assertTrue(Files.readString(pub).startsWith("-----BEGIN PUBLIC KEY-----"));
                TokenProvider signer = TokenProviders.create(TokenOptions.parse(
                        "jwt,pub-key=" + pub + ",priv-key=" + priv + ",sign-method=" + m + ",ttl=1m"), null, clock);
                TokenProvider privOnly = TokenProviders.create(TokenOptions.parse(
                        "jwt,priv-key=" + priv + ",sign-method=" + m), null, clock);
                TokenProvider verifier = TokenProviders.create(TokenOptions.parse(
                        "jwt,pub-key=" + pub + ",sign-method=" + m), null, clock);
                String token = signer.assign("bob", 5, "", 1);
                assertEquals(Optional.of(new AuthInfo("bob", 5)), verifier.info(token, 0), m + " pkcs8=" + pkcs8);
                assertEquals(Optional.of(new AuthInfo("bob", 5)), verifier.info(privOnly.assign("bob", 5, "", 1), 0));
                clock.advance(Duration.ofMinutes(1));
                assertTrue(verifier.info(token, 0).isEmpty(), "ttl=1m from the flag");
            }
        }
    }

    @Test
    void badPemFiles() throws IOException {
        Path garbage = dir.resolve("garbage.pem");
        Files.writeString(garbage, "not a key");
        Path pubAsPriv = pem("pub-as-priv.pem", rsa.getPublic(), false);
        assertThrows(IllegalArgumentException.class, () -> TokenProviders.create(
                TokenOptions.parse("jwt,priv-key=" + garbage + ",sign-method=RS256"), null, clock));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenProviders.create(
                TokenOptions.parse("jwt,priv-key=" + pubAsPriv + ",sign-method=RS256"), null, clock));
        assertTrue(e.getMessage().contains("no private key"), e.getMessage());
        assertThrows(java.io.UncheckedIOException.class, () -> TokenProviders.create(
                TokenOptions.parse("jwt,pub-key=" + dir.resolve("missing.pem") + ",sign-method=RS256"), null, clock));
    }

    private static String decode(String part) {
        return new String(Base64.getUrlDecoder().decode(part), StandardCharsets.UTF_8);
    }
}
