package io.metastore.auth;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * etcd's {@code --auth-token} flag: {@code simple} (the default), or
 * {@code jwt,pub-key=<path>,priv-key=<path>,sign-method=<alg>[,ttl=<duration>]}.
 *
 * <p>Parsed as etcd's decomposeOpts/jwtOptions do: comma-separated; everything after the type must be
 * {@code name=value} with exactly one '=', no name twice; unknown JWT option names are ignored with a warning;
 * {@code sign-method} is required for jwt; {@code ttl} is a Go duration, default 5m; at least one key path. An
 * empty flag is etcd's "no tokens" provider ({@link Type#NONE}). Parsing does no I/O: the key files are read
 * by {@link TokenProviders#create}.
 *
 * <p>Errors are {@link IllegalArgumentException}s whose message starts with etcd's text
 * ("auth: invalid auth options", "auth: invalid auth signature method", "auth: missing key data") and then
 * says what is wrong.
 */
public final class TokenOptions {
    private static final Logger LOG = LoggerFactory.getLogger(TokenOptions.class);

    public static final String INVALID_OPTIONS = "auth: invalid auth options";
    public static final String INVALID_METHOD = "auth: invalid auth signature method";
    public static final String MISSING_KEY = "auth: missing key data";
    /** etcd's DefaultTTL for JWT tokens. */
    public static final Duration DEFAULT_JWT_TTL = Duration.ofMinutes(5);

    /** golang-jwt knows these too; MetaStore does not implement them. */
    private static final Set<String> KNOWN_UNSUPPORTED_METHODS = Set.of("HS256", "HS384", "HS512", "EdDSA", "none");
    private static final Set<String> JWT_OPTIONS = Set.of("sign-method", "pub-key", "priv-key", "ttl");

    public enum Type { SIMPLE, JWT, NONE }

    private final Type type;
    private final JwtSignMethod signMethod;
    private final Path publicKey;
    private final Path privateKey;
    private final Duration jwtTtl;

    private TokenOptions(Type type, JwtSignMethod signMethod, Path publicKey, Path privateKey, Duration jwtTtl) {
        this.type = type;
        this.signMethod = signMethod;
        this.publicKey = publicKey;
        this.privateKey = privateKey;
        this.jwtTtl = jwtTtl;
    }

    public static TokenOptions simple() {
        return new TokenOptions(Type.SIMPLE, null, null, null, null);
    }

    public static TokenOptions parse(String flag) {
        String[] parts = (flag == null ? "" : flag).split(",", -1);
        String type = parts[0];
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String[] pair = parts[i].split("=", -1);
            if (pair.length != 2) {
                throw new IllegalArgumentException(INVALID_OPTIONS + ": \"" + parts[i] + "\" is not name=value");
            }
            if (opts.putIfAbsent(pair[0], pair[1]) != null) {
                throw new IllegalArgumentException(INVALID_OPTIONS + ": duplicate parameter \"" + pair[0] + "\"");
            }
        }
        return switch (type) {
            case "simple" -> simple();
            case "" -> new TokenOptions(Type.NONE, null, null, null, null);
            case "jwt" -> parseJwt(opts);
            default -> throw new IllegalArgumentException(INVALID_OPTIONS + ": unknown token type \"" + type
                    + "\" (expected simple or jwt)");
        };
    }

    private static TokenOptions parseJwt(Map<String, String> opts) {
        for (String name : opts.keySet()) {
            if (!JWT_OPTIONS.contains(name)) {
                LOG.warn("unknown JWT option ignored: {}", name);
            }
        }
        Duration ttl = DEFAULT_JWT_TTL;
        String ttlText = opts.getOrDefault("ttl", "");
        if (!ttlText.isEmpty()) {
            try {
                ttl = GoDuration.parse(ttlText);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(INVALID_OPTIONS + ": ttl: " + e.getMessage(), e);
            }
            if (ttl.isZero() || ttl.isNegative()) {
                // etcd would accept it and issue tokens that are expired when issued
                throw new IllegalArgumentException(INVALID_OPTIONS + ": ttl must be positive, got \"" + ttlText + "\"");
            }
        }
        String methodName = opts.getOrDefault("sign-method", "");
        JwtSignMethod method = JwtSignMethod.forName(methodName);
        if (method == null) {
            String why = methodName.isEmpty() ? "sign-method is required"
                    : KNOWN_UNSUPPORTED_METHODS.contains(methodName) ? "sign-method " + methodName
                    + " is not supported by MetaStore (use RS256/384/512, PS256/384/512 or ES256/384/512)"
                    : "unknown sign-method \"" + methodName + "\"";
            throw new IllegalArgumentException(INVALID_METHOD + ": " + why);
        }
        Path pub = path(opts.get("pub-key"));
        Path priv = path(opts.get("priv-key"));
        if (pub == null && priv == null) {
            throw new IllegalArgumentException(MISSING_KEY + ": give pub-key and/or priv-key");
        }
        return new TokenOptions(Type.JWT, method, pub, priv, ttl);
    }

    private static Path path(String s) {
        return s == null || s.isEmpty() ? null : Path.of(s);
    }

    public Type type() {
        return type;
    }

    /** JWT only. */
    public JwtSignMethod signMethod() {
        return signMethod;
    }

    /** JWT only; null if not given. */
    public Path publicKey() {
        return publicKey;
    }

    /** JWT only; null if not given (the provider can then only verify). */
    public Path privateKey() {
        return privateKey;
    }

    /** JWT only (simple tokens take etcd's separate {@code --auth-token-ttl}). */
    public Duration jwtTtl() {
        return jwtTtl;
    }

    @Override
    public String toString() {
        return type == Type.JWT
                ? "jwt,sign-method=" + signMethod + ",pub-key=" + publicKey + ",priv-key=" + privateKey + ",ttl=" + jwtTtl
                : type.name().toLowerCase(java.util.Locale.ROOT);
    }
}
