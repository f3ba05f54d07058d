package io.metastore.auth;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * etcd's simple tokens ({@code server/auth/simple_token.go}): 16 random letters, ".", the Raft index of the
 * Authenticate entry. Member-local: the token lives in this map only. Each token expires {@code ttl} after its
 * last use (a sliding TTL, etcd's {@code --auth-token-ttl}, default 300 s); an expired token is unknown.
 *
 * <p>Memory is bounded: beyond {@code maxTokens} live tokens the one closest to expiry is dropped (that client
 * re-authenticates on "invalid auth token", as etcd clients do). Expired tokens are swept as a side effect of
 * use, so no timer thread is needed. Because every token gets the same TTL and a use moves it to the end, the
 * map's iteration order is expiry order, which makes both the sweep and the eviction O(1) per token.
 */
public final class SimpleTokenProvider implements TokenProvider {
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(300);
    public static final int DEFAULT_MAX_TOKENS = 100_000;
    static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static final int PREFIX_LENGTH = 16;

    private record Entry(String username, Instant expires) {
    }

    private final Duration ttl;
    private final InstantSource clock;
    private final int maxTokens;
    private final SecureRandom random = new SecureRandom();
    private final LinkedHashMap<String, Entry> tokens = new LinkedHashMap<>(); // guarded by this; expiry order

    /** @param ttl zero or negative means etcd's default, 300 s */
    public SimpleTokenProvider(Duration ttl, InstantSource clock, int maxTokens) {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be positive: " + maxTokens);
        }
        this.ttl = ttl == null || ttl.isZero() || ttl.isNegative() ? DEFAULT_TTL : ttl;
        this.clock = clock;
        this.maxTokens = maxTokens;
    }

    public SimpleTokenProvider(Duration ttl) {
        this(ttl, InstantSource.system(), DEFAULT_MAX_TOKENS);
    }

    public Duration ttl() {
        return ttl;
    }

    @Override
    public String newTokenPrefix() {
        char[] c = new char[PREFIX_LENGTH];
        for (int i = 0; i < c.length; i++) {
            c[i] = LETTERS.charAt(random.nextInt(LETTERS.length()));
        }
        return new String(c);
    }

    @Override
    public String assign(String username, long authRevision, String tokenPrefix, long raftIndex) {
        String token = tokenPrefix + "." + Long.toUnsignedString(raftIndex);
        Instant now = clock.instant();
        synchronized (this) {
            sweep(now);
            // a replayed entry re-registers the same token: refresh it rather than fail
            tokens.remove(token);
            tokens.put(token, new Entry(username, now.plus(ttl)));
            while (tokens.size() > maxTokens) {
                Iterator<String> eldest = tokens.keySet().iterator();
                eldest.next();
                eldest.remove();
            }
        }
        return token;
    }

    @Override
    public Optional<AuthInfo> info(String token, long currentAuthRevision) {
        if (raftIndexOf(token) < 0) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        synchronized (this) {
            sweep(now);
            Entry e = tokens.remove(token);
            if (e == null) {
                return Optional.empty();
            }
            tokens.put(token, new Entry(e.username(), now.plus(ttl))); // sliding TTL: move to the end
            return Optional.of(new AuthInfo(e.username(), currentAuthRevision));
        }
    }

    /**
     * The Raft index a simple token was issued at, or -1 if {@code token} is not of the form
     * {@code <prefix>.<index>}. etcd waits until the member applied that index before looking a token up, so
     * a token fresh from another member is not rejected by a member that is a little behind; the server can do
     * the same with this.
     */
    public static long raftIndexOf(String token) {
        if (token == null) {
            return -1;
        }
        int dot = token.indexOf('.');
        if (dot < 0 || dot != token.lastIndexOf('.') || dot == token.length() - 1) {
            return -1;
        }
        String digits = token.substring(dot + 1);
        if (digits.length() > 19 || !digits.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return -1;
        }
        long index = Long.parseLong(digits.length() == 19 && digits.compareTo("9223372036854775807") > 0
                ? "-1" : digits);
        return index;
    }

    @Override
    public synchronized void onAuthDisabled() {
        tokens.clear();
    }

    @Override
    public synchronized void onUserInvalidated(String username) {
        tokens.values().removeIf(e -> e.username().equals(username));
    }

    /** Live tokens (expired ones not yet swept included); for tests and metrics. */
    public synchronized int size() {
        return tokens.size();
    }

    private void sweep(Instant now) {
        Iterator<Map.Entry<String, Entry>> it = tokens.entrySet().iterator();
        while (it.hasNext()) {
            if (!now.isAfter(it.next().getValue().expires())) {
                return; // the rest expire later
            }
            it.remove();
        }
    }
}
