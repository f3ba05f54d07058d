package io.metastore.auth;

import java.util.Optional;

/**
 * Issues and validates auth tokens (etcd's {@code auth.TokenProvider}). Validation is cheap: it never touches
 * passwords.
 *
 * <p>etcd issues tokens inside apply, on every member (Authenticate is a Raft request), so a simple token
 * works on any member once that member applied the entry. Anything random is decided by the proposer
 * beforehand ({@link #newTokenPrefix()}), so {@link #assign} itself is deterministic for simple tokens.
 */
public interface TokenProvider extends AuthStateListener {

    /**
     * What the proposer puts into the Authenticate command: 16 random letters for simple tokens, "" for JWT
     * (etcd's genTokenPrefix).
     */
    String newTokenPrefix();

    /**
     * Issues a token for {@code username}.
     *
     * @param authRevision the auth revision when applied (JWT embeds it as the {@code revision} claim)
     * @param tokenPrefix  the proposer's {@link #newTokenPrefix()} (simple tokens)
     * @param raftIndex    the index of the applied Authenticate entry (simple tokens end in ".index")
     * @throws AuthException VERIFY_ONLY for a JWT provider without a private key
     */
    String assign(String username, long authRevision, String tokenPrefix, long raftIndex);

    /**
     * The user and auth revision a token stands for, or empty if it is unknown, expired, malformed or forged.
     * A simple token reports {@code currentAuthRevision} (it has none of its own); a JWT its own claim, which
     * lets the permission check answer "revision of auth store is old".
     */
    Optional<AuthInfo> info(String token, long currentAuthRevision);
}
