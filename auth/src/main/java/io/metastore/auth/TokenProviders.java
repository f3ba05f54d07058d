package io.metastore.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;

/** Builds the {@link TokenProvider} that {@code --auth-token} (and {@code --auth-token-ttl}) describe. */
public final class TokenProviders {

    /**
     * @param simpleTokenTtl etcd's {@code --auth-token-ttl} (seconds there; default 300 s); ignored for JWT
     * @throws IllegalArgumentException for unreadable, mismatching or unsuitable keys
     */
    public static TokenProvider create(TokenOptions options, Duration simpleTokenTtl, InstantSource clock) {
        return switch (options.type()) {
            case SIMPLE -> new SimpleTokenProvider(simpleTokenTtl, clock, SimpleTokenProvider.DEFAULT_MAX_TOKENS);
            case JWT -> new JwtTokenProvider(options.signMethod(),
                    options.privateKey() == null ? null : readPrivate(options.privateKey()),
                    options.publicKey() == null ? null : readPublic(options.publicKey()),
                    options.jwtTtl(), clock);
            case NONE -> new NoTokenProvider();
        };
    }

    private static PrivateKey readPrivate(Path p) {
        try {
            return PemKeys.privateKey(read(p));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("priv-key " + p + ": " + e.getMessage(), e);
        }
    }

    private static PublicKey readPublic(Path p) {
        try {
            return PemKeys.publicKey(read(p));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("pub-key " + p + ": " + e.getMessage(), e);
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** etcd's nop provider ({@code --auth-token=""}): no token is ever valid, Authenticate fails. */
    static final class NoTokenProvider implements TokenProvider {
        @Override
        public String newTokenPrefix() {
            return "";
        }

        @Override
        public String assign(String username, long authRevision, String tokenPrefix, long raftIndex) {
            throw AuthException.Reason.AUTH_FAILED.exception();
        }

        @Override
        public Optional<AuthInfo> info(String token, long currentAuthRevision) {
            return Optional.empty();
        }
    }

    private TokenProviders() {
    }
}
