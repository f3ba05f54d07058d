package io.metastore.auth;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Base64;
import java.util.Optional;

/**
 * etcd's JWT tokens ({@code server/auth/jwt.go}, golang-jwt): header {@code {"alg":...,"typ":"JWT"}}, claims
 * {@code {"exp":<unix seconds>,"revision":<auth revision>,"username":...}} (JSON with keys in Go's sorted
 * order), base64url without padding. Stateless: any member (or etcd itself) holding the public key verifies a
 * token another signed. A provider given only a public key can verify but not issue.
 *
 * <p>Validation, as golang-jwt's parser: the header's alg must be the configured method, the signature must
 * verify, {@code exp} (if present) must be in the future and {@code nbf} (if present) not, {@code username}
 * must be a string and {@code revision} a number.
 */
public final class JwtTokenProvider implements TokenProvider {
    private static final Logger LOG = LoggerFactory.getLogger(JwtTokenProvider.class);
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final JwtSignMethod method;
    private final PrivateKey signingKey; // null: verify only
    private final PublicKey verifyKey;
    private final Duration ttl;
    private final InstantSource clock;
    private final String encodedHeader;

    /**
     * @param privateKey may be null (verify only); {@code publicKey} may be null if the private key is given
     * @throws IllegalArgumentException no key ("auth: missing key data"), keys not of the method's type or
     *                                  curve, or a public key that is not the private key's
     *                                  ("auth: public and private keys don't match")
     */
    public JwtTokenProvider(JwtSignMethod method, PrivateKey privateKey, PublicKey publicKey, Duration ttl,
                            InstantSource clock) {
        if (privateKey == null && publicKey == null) {
            throw new IllegalArgumentException(TokenOptions.MISSING_KEY);
        }
        for (java.security.Key k : new java.security.Key[] {privateKey, publicKey}) {
            String problem = k == null ? null : method.keyProblem(k);
            if (problem != null) {
                throw new IllegalArgumentException(TokenOptions.INVALID_OPTIONS + ": " + problem);
            }
        }
        PublicKey derived = privateKey == null ? null : PemKeys.derivePublic(privateKey);
        if (publicKey != null && derived != null && !sameKey(publicKey, derived)) {
            throw new IllegalArgumentException("auth: public and private keys don't match");
        }
        this.method = method;
        this.signingKey = privateKey;
        this.verifyKey = publicKey != null ? publicKey : derived;
        this.ttl = ttl == null ? TokenOptions.DEFAULT_JWT_TTL : ttl;
        this.clock = clock;
        this.encodedHeader = B64.encodeToString(
                ("{\"alg\":\"" + method.alg() + "\",\"typ\":\"JWT\"}").getBytes(StandardCharsets.UTF_8));
    }

    public boolean verifyOnly() {
        return signingKey == null;
    }

    @Override
    public String newTokenPrefix() {
        return "";
    }

    @Override
    public String assign(String username, long authRevision, String tokenPrefix, long raftIndex) {
        if (signingKey == null) {
            throw AuthException.Reason.VERIFY_ONLY.exception();
        }
        long exp = clock.instant().plus(ttl).getEpochSecond();
        String claims = "{\"exp\":" + exp + ",\"revision\":" + Long.toUnsignedString(authRevision)
                + ",\"username\":" + goJsonString(username) + "}";
        String signingInput = encodedHeader + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
        try {
            Signature s = method.newSignature();
            s.initSign(signingKey);
            s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + B64.encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a JWT with " + method, e);
        }
    }

    @Override
    public Optional<AuthInfo> info(String token, long currentAuthRevision) {
        try {
            return Optional.ofNullable(parse(token));
        } catch (RuntimeException | GeneralSecurityException e) {
            LOG.warn("failed to parse a JWT token: {}", e.toString());
            return Optional.empty();
        }
    }

    private AuthInfo parse(String token) throws GeneralSecurityException {
        if (token == null || token.indexOf('=') >= 0) { // golang-jwt decodes segments unpadded only
            return null;
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            return null;
        }
        JsonObject header = JsonParser.parseString(
                new String(B64D.decode(parts[0]), StandardCharsets.UTF_8)).getAsJsonObject();
        JsonElement alg = header.get("alg");
        if (alg == null || !alg.isJsonPrimitive() || !method.alg().equals(alg.getAsString())) {
            return null; // "invalid signing method": never let the token choose the algorithm
        }
        Signature s = method.newSignature();
        s.initVerify(verifyKey);
        s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        if (!s.verify(B64D.decode(parts[2]))) {
            return null;
        }
        JsonObject claims = JsonParser.parseString(
                new String(B64D.decode(parts[1]), StandardCharsets.UTF_8)).getAsJsonObject();
        double now = clock.instant().toEpochMilli() / 1000.0;
        Double exp = number(claims, "exp");
        if (exp != null && !(now < exp)) {
            return null; // expired
        }
        Double nbf = number(claims, "nbf");
        if (nbf != null && now < nbf) {
            return null;
        }
        JsonElement username = claims.get("username");
        Double revision = number(claims, "revision");
        if (username == null || !username.isJsonPrimitive() || !username.getAsJsonPrimitive().isString()
                || revision == null) {
            return null;
        }
        return new AuthInfo(username.getAsString(), revision.longValue());
    }

    /** A numeric claim, null if absent; a present non-number makes the token invalid, as in golang-jwt. */
    private static Double number(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (e == null) {
            return null;
        }
        if (!(e instanceof JsonPrimitive p) || !p.isNumber()) {
            throw new IllegalArgumentException("claim " + name + " is not a number");
        }
        return p.getAsDouble();
    }

    /** Same key material, whatever encoding (named or explicit curve parameters) each PEM used. */
    private static boolean sameKey(PublicKey a, PublicKey b) {
        if (a instanceof java.security.interfaces.RSAPublicKey ra && b instanceof java.security.interfaces.RSAPublicKey rb) {
            return ra.getModulus().equals(rb.getModulus()) && ra.getPublicExponent().equals(rb.getPublicExponent());
        }
        if (a instanceof java.security.interfaces.ECPublicKey ea && b instanceof java.security.interfaces.ECPublicKey eb) {
            return ea.getW().equals(eb.getW())
                    && ea.getParams().getCurve().equals(eb.getParams().getCurve());
        }
        return false;
    }

    /** A JSON string exactly as Go's encoding/json writes it (HTML-safe escapes included). */
    static String goJsonString(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
