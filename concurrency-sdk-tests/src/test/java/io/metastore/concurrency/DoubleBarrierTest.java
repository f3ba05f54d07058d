package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backends;
import io.metastore.concurrency.testing.Kv;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DoubleBarrier against MetaStore. */
class DoubleBarrierTest {
    private static final Duration TTL = Duration.ofSeconds(2);

    /** Nobody passes enter() before all have entered, nobody passes leave() before all have left. */
    @Test
    void allEnterTogetherAndLeaveTogether() throws Exception {
        int n = 3;
        String key = Kv.uniquePrefix("dbarrier");
        try (EtcdConnection conn = Backends.metastore().connect()) {
            AtomicInteger entered = new AtomicInteger();
            AtomicInteger left = new AtomicInteger();
            List<CompletableFuture<int[]>> parts = new ArrayList<>();
            List<Session> sessions = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Session s = Session.builder(conn).ttl(TTL).build();
                sessions.add(s);
                parts.add(CompletableFuture.supplyAsync(() -> {
                    DoubleBarrier b = new DoubleBarrier(s, key, n);
                    try {
                        entered.incrementAndGet();
                        b.enter();
                        int enteredSeen = entered.get();
                        left.incrementAndGet();
                        b.leave();
                        return new int[] {enteredSeen, left.get()};
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, MutexTest.newThreadPerTask()));
                Thread.sleep(100); // stagger arrivals so early ones really wait
            }
            for (CompletableFuture<int[]> p : parts) {
                int[] seen = p.get(10, TimeUnit.SECONDS);
                assertEquals(n, seen[0], "passed enter() before everybody arrived");
                assertEquals(n, seen[1], "passed leave() before everybody left");
            }
            assertEquals(0, new Kv(conn).prefix(key + "/").size(), "the last one out cleaned up");
            sessions.forEach(Session::close);
        }
    }

    @Test
    void aFullBarrierRejectsMoreParticipantsAndEnterTimesOut() throws Exception {
        String key = Kv.uniquePrefix("dbarrier");
        try (EtcdConnection conn = Backends.metastore().connect()) {
            Session s1 = Session.builder(conn).ttl(TTL).build();
            Session s2 = Session.builder(conn).ttl(TTL).build();
            Session s3 = Session.builder(conn).ttl(TTL).build();
            DoubleBarrier first = new DoubleBarrier(s1, key, 2);
            assertFalse(first.enter(Duration.ofMillis(200)), "alone: times out");
            assertEquals(0, new Kv(conn).prefix(key + "/").size(), "and withdrew");
            CompletableFuture<Void> a = CompletableFuture.runAsync(() -> {
                try {
                    first.enter();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Thread.sleep(100);
            assertTrue(new DoubleBarrier(s2, key, 2).enter(Duration.ofSeconds(5)));
            a.get(5, TimeUnit.SECONDS);
            assertThrows(TooManyClientsException.class, () -> new DoubleBarrier(s3, key, 2).enter());
            s1.close();
            s2.close();
            s3.close();
        }
    }
}
