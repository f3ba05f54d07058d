package io.metastore.auth;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimpleTokenProviderTest {

    /** A clock the test moves by hand. */
    static final class FakeClock implements InstantSource {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public Instant instant() {
            return now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    private final FakeClock clock = new FakeClock();
    private final SimpleTokenProvider tokens = new SimpleTokenProvider(Duration.ofSeconds(300), clock, 1000);

    @Test
    void formatIsSixteenLettersDotIndex() {
        String prefix = tokens.newTokenPrefix();
        assertTrue(prefix.matches("[a-zA-Z]{16}"), prefix);
        assertNotEquals(prefix, tokens.newTokenPrefix());
        String token = tokens.assign("alice", 7, prefix, 42);
        assertEquals(prefix + ".42", token);
        assertEquals(42, SimpleTokenProvider.raftIndexOf(token));
        assertEquals(Optional.of(new AuthInfo("alice", 9)), tokens.info(token, 9),
                "a simple token carries the store's current revision");
    }

    @Test
    void defaultTtlIs300Seconds() {
        assertEquals(Duration.ofSeconds(300), new SimpleTokenProvider(Duration.ZERO).ttl());
        assertEquals(Duration.ofSeconds(300), new SimpleTokenProvider(null).ttl());
    }

    @Test
    void expiresAfterTtlWithoutUse() {
        String t = tokens.assign("alice", 1, "abcdefghijklmnop", 1);
        clock.advance(Duration.ofSeconds(300));
        assertTrue(tokens.info(t, 1).isPresent(), "valid up to and including the TTL");
        clock.advance(Duration.ofSeconds(300).plusMillis(1));
        assertTrue(tokens.info(t, 1).isEmpty());
        assertEquals(0, tokens.size(), "swept");
    }

    @Test
    void eachUseRefreshesTheTtl() {
        String t = tokens.assign("alice", 1, "abcdefghijklmnop", 1);
        for (int i = 0; i < 10; i++) {
            clock.advance(Duration.ofSeconds(250));
            assertTrue(tokens.info(t, 1).isPresent(), "used every 250 s, alive after " + (i + 1) * 250 + " s");
        }
        clock.advance(Duration.ofSeconds(301));
        assertTrue(tokens.info(t, 1).isEmpty());
    }

    @Test
    void unknownAndMalformedTokensAreRejected() {
        tokens.assign("alice", 1, "abcdefghijklmnop", 1);
        assertTrue(tokens.info("abcdefghijklmnop.2", 1).isEmpty());
        assertTrue(tokens.info("abcdefghijklmnop", 1).isEmpty());
        assertTrue(tokens.info("a.b.1", 1).isEmpty());
        assertTrue(tokens.info("abc.+1", 1).isEmpty());
        assertTrue(tokens.info("", 1).isEmpty());
        assertEquals(-1, SimpleTokenProvider.raftIndexOf("x.99999999999999999999"));
    }

    @Test
    void memoryIsBoundedByDroppingTheTokenClosestToExpiry() {
        SimpleTokenProvider small = new SimpleTokenProvider(Duration.ofSeconds(300), clock, 3);
        String t1 = small.assign("u", 1, "aaaaaaaaaaaaaaaa", 1);
        clock.advance(Duration.ofSeconds(1));
        String t2 = small.assign("u", 1, "aaaaaaaaaaaaaaaa", 2);
        clock.advance(Duration.ofSeconds(1));
        String t3 = small.assign("u", 1, "aaaaaaaaaaaaaaaa", 3);
        assertTrue(small.info(t1, 1).isPresent()); // t1 now expires last
        String t4 = small.assign("u", 1, "aaaaaaaaaaaaaaaa", 4);
        assertEquals(3, small.size());
        assertTrue(small.info(t2, 1).isEmpty(), "t2 was the one closest to expiry");
        assertTrue(small.info(t1, 1).isPresent());
        assertTrue(small.info(t3, 1).isPresent());
        assertTrue(small.info(t4, 1).isPresent());
    }

    @Test
    void invalidationAndDisable() {
        String a = tokens.assign("alice", 1, "aaaaaaaaaaaaaaaa", 1);
        String b = tokens.assign("bob", 1, "bbbbbbbbbbbbbbbb", 2);
        tokens.onUserInvalidated("alice");
        assertTrue(tokens.info(a, 1).isEmpty());
        assertTrue(tokens.info(b, 1).isPresent());
        tokens.onAuthDisabled();
        assertTrue(tokens.info(b, 1).isEmpty());
    }
}
