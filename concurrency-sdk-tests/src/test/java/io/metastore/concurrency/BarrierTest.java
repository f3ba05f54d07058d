package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backends;
import io.metastore.concurrency.testing.Kv;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Barrier against MetaStore. */
class BarrierTest {
    @Test
    void waitersPassOnlyOnceTheBarrierIsReleased() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            Barrier b = new Barrier(conn, Kv.uniquePrefix("barrier"));
            assertTrue(b.await(Duration.ofMillis(100)), "no barrier up: pass at once");
            assertTrue(b.hold());
            assertFalse(b.hold(), "already up");
            assertFalse(b.await(Duration.ofMillis(200)));
            List<CompletableFuture<Void>> waiters = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                waiters.add(CompletableFuture.runAsync(() -> {
                    try {
                        b.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, MutexTest.newThreadPerTask()));
            }
            Thread.sleep(200);
            assertTrue(waiters.stream().noneMatch(CompletableFuture::isDone));
            b.release();
            CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
        }
    }
}
