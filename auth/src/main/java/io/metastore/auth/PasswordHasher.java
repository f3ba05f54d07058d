package io.metastore.auth;

import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordRequest;
import org.mindrot.jbcrypt.BCrypt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * bcrypt password hashes in the form etcd stores them ({@code $2a$<cost>$...}, Go's golang.org/x/crypto/bcrypt).
 *
 * <p>Hashing belongs to the API layer, before proposing (etcd's {@code EtcdServer.UserAdd}): the salt is
 * random, so hashing inside apply would store a different hash on every member, and the plaintext would sit in
 * the Raft log. {@link #prepare} rewrites a request the way etcd does before it proposes it.
 *
 * <p>Passwords are never logged.
 */
public final class PasswordHasher {
    private static final Logger LOG = LoggerFactory.getLogger(PasswordHasher.class);

    /** etcd's {@code --bcrypt-cost} default (bcrypt.DefaultCost). */
    public static final int DEFAULT_COST = 10;
    public static final int MIN_COST = 4;
    /** jBCrypt's limit (Go allows 31, which takes days per hash: not a real setting). */
    public static final int MAX_COST = 30;
    /** bcrypt only reads this many bytes; Go refuses to hash longer passwords. */
    static final int MAX_PASSWORD_BYTES = 72;

    private final int cost;
    private final SecureRandom random = new SecureRandom();

    /** A cost outside [4, 30] falls back to 10 with a warning, as etcd's NewAuthStore does. */
    public PasswordHasher(int cost) {
        if (cost < MIN_COST || cost > MAX_COST) {
            LOG.warn("use default bcrypt cost {} instead of the invalid given cost {} (min {}, max {})",
                    DEFAULT_COST, cost, MIN_COST, MAX_COST);
            cost = DEFAULT_COST;
        }
        this.cost = cost;
    }

    public PasswordHasher() {
        this(DEFAULT_COST);
    }

    public int cost() {
        return cost;
    }

    /**
     * A new {@code $2a$} hash of {@code password}.
     *
     * @throws AuthException PASSWORD_TOO_LONG above 72 UTF-8 bytes (Go's bcrypt refuses those, so etcd does)
     */
    public String hash(String password) {
        if (password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            throw AuthException.Reason.PASSWORD_TOO_LONG.exception();
        }
        return BCrypt.hashpw(password, BCrypt.gensalt(cost, random));
    }

    /**
     * Whether {@code password} matches {@code hash}. Compares in constant time; a malformed or empty hash
     * never matches. Accepts the {@code $2b$}/{@code $2y$} spellings Go accepts (same algorithm for
     * passwords bcrypt can hash), e.g. from a client-supplied hashedPassword.
     */
    public boolean check(String password, String hash) {
        if (hash == null || hash.length() < 7 || !hash.startsWith("$2")) {
            return false;
        }
        String normalized = hash;
        if (hash.charAt(3) == '$' && (hash.charAt(2) == 'b' || hash.charAt(2) == 'y')) {
            normalized = "$2a" + hash.substring(3);
        }
        String computed;
        try {
            computed = BCrypt.hashpw(password, normalized);
        } catch (IllegalArgumentException | StringIndexOutOfBoundsException e) {
            return false; // not a bcrypt hash jBCrypt can read
        }
        return MessageDigest.isEqual(computed.getBytes(StandardCharsets.UTF_8),
                normalized.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #check(String, String)} against the stored form (the hash's bytes). */
    public boolean check(String password, byte[] storedHash) {
        return storedHash != null && storedHash.length > 0
                && check(password, new String(storedHash, StandardCharsets.US_ASCII));
    }

    /**
     * The request to propose for a UserAdd, as etcd builds it: unless the user has no password, the password
     * is hashed into {@code hashedPassword} (base64 of the hash) and the plaintext cleared. Like etcd, this
     * replaces a client-sent {@code hashedPassword} with the hash of {@code password} (even an empty one).
     */
    public AuthUserAddRequest prepare(AuthUserAddRequest r) {
        if (r.hasOptions() && r.getOptions().getNoPassword()) {
            return r;
        }
        return r.toBuilder().setHashedPassword(encode(hash(r.getPassword()))).clearPassword().build();
    }

    /**
     * The request to propose for a UserChangePassword, as etcd builds it: a non-empty password is hashed into
     * {@code hashedPassword} and cleared; with an empty password a client-sent {@code hashedPassword} is kept.
     */
    public AuthUserChangePasswordRequest prepare(AuthUserChangePasswordRequest r) {
        if (r.getPassword().isEmpty()) {
            return r;
        }
        return r.toBuilder().setHashedPassword(encode(hash(r.getPassword()))).clearPassword().build();
    }

    private static String encode(String hash) {
        return Base64.getEncoder().encodeToString(hash.getBytes(StandardCharsets.US_ASCII));
    }
}
