package io.metastore.auth;

import io.metastore.proto.authpb.User;
import io.metastore.proto.etcdserverpb.AuthenticateResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

import static io.metastore.auth.AuthException.Reason.AUTH_FAILED;
import static io.metastore.auth.AuthException.Reason.AUTH_NOT_ENABLED;
import static io.metastore.auth.AuthException.Reason.INVALID_AUTH_TOKEN;
import static io.metastore.auth.AuthException.Reason.NO_PASSWORD_USER;

/**
 * Turns passwords into tokens and tokens into users, the way etcd splits the work:
 * <ol>
 *   <li>API layer, proposer only: {@link #checkPassword} runs bcrypt once and returns the auth revision it
 *       checked against; {@link #newTokenPrefix()} draws the random part of a simple token. Then the server
 *       proposes an Authenticate command carrying only the name and the prefix, never the password.</li>
 *   <li>State machine, every member: {@link #applyAuthenticate} issues the token (so a simple token is known
 *       to every member). If the auth revision moved between check and apply, the proposer retries from 1, as
 *       etcd does (a password change in between must not yield a token for the old password).</li>
 *   <li>Every request: {@link #authInfo(String)} validates a token from metadata without bcrypt.</li>
 * </ol>
 * Registers the token provider as a listener of the store, so deleting a user, changing a password or
 * disabling auth voids tokens.
 */
public final class Authenticator {
    private static final Logger LOG = LoggerFactory.getLogger(Authenticator.class);
    private static final String BEARER = "Bearer ";

    private final AuthStore store;
    private final PasswordHasher hasher;
    private final TokenProvider tokens;

    public Authenticator(AuthStore store, PasswordHasher hasher, TokenProvider tokens) {
        this.store = store;
        this.hasher = hasher;
        this.tokens = tokens;
        store.addListener(tokens);
    }

    public TokenProvider tokens() {
        return tokens;
    }

    public PasswordHasher hasher() {
        return hasher;
    }

    /**
     * etcd's CheckPassword: the auth revision the password was verified at.
     *
     * @throws AuthException AUTH_NOT_ENABLED; AUTH_FAILED for an unknown user or a wrong password;
     *                       NO_PASSWORD_USER for a user created with no_password
     */
    public long checkPassword(String name, String password) {
        AuthState s = store.state();
        if (!s.enabled) {
            throw AUTH_NOT_ENABLED.exception();
        }
        User user = s.users.get(name);
        if (user == null) {
            throw AUTH_FAILED.exception();
        }
        if (user.getOptions().getNoPassword()) {
            throw NO_PASSWORD_USER.exception();
        }
        if (!hasher.check(password, user.getPassword().toByteArray())) {
            LOG.info("invalid password for user {}", name);
            throw AUTH_FAILED.exception();
        }
        return s.revision;
    }

    /** The random part of a simple token ("" for JWT), chosen by the proposer. */
    public String newTokenPrefix() {
        return tokens.newTokenPrefix();
    }

    /**
     * etcd's authStore.Authenticate, run by the state machine for an applied Authenticate command: issues a
     * token for the user at the current auth revision. Writes nothing to the store.
     *
     * @throws AuthException AUTH_NOT_ENABLED; AUTH_FAILED if the user is gone or has no password
     */
    public AuthenticateResponse applyAuthenticate(String name, String tokenPrefix, long raftIndex) {
        AuthState s = store.state();
        if (!s.enabled) {
            throw AUTH_NOT_ENABLED.exception();
        }
        User user = s.users.get(name);
        if (user == null || user.getOptions().getNoPassword()) {
            throw AUTH_FAILED.exception();
        }
        String token = tokens.assign(name, s.revision, tokenPrefix, raftIndex);
        LOG.debug("authenticated user {}", name);
        return AuthenticateResponse.newBuilder().setToken(token).build();
    }

    /**
     * Who a request's token names (etcd's AuthInfoFromCtx). Empty when auth is disabled or no token was sent
     * (the caller may then fall back to the TLS client certificate's CN). A "Bearer " prefix (the gateway's
     * authorization header) is stripped. Cheap: a map lookup or one signature verification.
     *
     * @throws AuthException INVALID_AUTH_TOKEN for an unknown, expired or forged token
     */
    public Optional<AuthInfo> authInfo(String token) {
        if (!store.isEnabled() || token == null || token.isEmpty()) {
            return Optional.empty();
        }
        if (token.startsWith(BEARER)) {
            token = token.substring(BEARER.length());
        }
        Optional<AuthInfo> info = tokens.info(token, store.revision());
        if (info.isEmpty()) {
            throw INVALID_AUTH_TOKEN.exception();
        }
        return info;
    }
}
