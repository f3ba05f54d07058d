package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backends;
import io.metastore.concurrency.testing.Eventually;
import io.metastore.concurrency.testing.Kv;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ReadWriteLock against MetaStore. */
class ReadWriteLockTest {
    private static final Duration TTL = Duration.ofSeconds(2);

    @Test
    void readersShareAndWritersExclude() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            String name = Kv.uniquePrefix("rw");
            Session s1 = Session.builder(conn).ttl(TTL).build();
            Session s2 = Session.builder(conn).ttl(TTL).build();
            Session s3 = Session.builder(conn).ttl(TTL).build();
            ReadWriteLock r1 = new ReadWriteLock(s1, name);
            ReadWriteLock r2 = new ReadWriteLock(s2, name);
            ReadWriteLock w = new ReadWriteLock(s3, name);
            r1.lockRead();
            assertTrue(r2.lockRead(Duration.ofSeconds(2)), "readers share");
            assertFalse(w.lockWrite(Duration.ofMillis(200)), "a writer waits for readers");
            r1.unlockRead();
            r2.unlockRead();
            assertTrue(w.lockWrite(Duration.ofSeconds(2)));
            assertFalse(r1.lockRead(Duration.ofMillis(200)), "a reader waits for the writer");
            assertFalse(new ReadWriteLock(s2, name).lockWrite(Duration.ofMillis(200)), "writers exclude writers");
            assertThrows(IllegalStateException.class, w::unlockRead);
            w.unlockWrite();
            assertTrue(r1.lockRead(Duration.ofSeconds(2)));
            r1.unlockRead();
            assertEquals(0, new Kv(conn).prefix(name + "/").size(), "timed-out waiters left no keys");
            s1.close();
            s2.close();
            s3.close();
        }
    }

    /** A queued writer holds back readers that arrive after it: no writer starvation, arrival order kept. */
    @Test
    void aWaitingWriterGoesBeforeLaterReaders() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            Kv kv = new Kv(conn);
            String name = Kv.uniquePrefix("rw");
            Session s1 = Session.builder(conn).ttl(TTL).build();
            Session s2 = Session.builder(conn).ttl(TTL).build();
            Session s3 = Session.builder(conn).ttl(TTL).build();
            ReadWriteLock reader = new ReadWriteLock(s1, name);
            reader.lockRead();
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                ReadWriteLock w = new ReadWriteLock(s2, name);
                try {
                    w.lockWrite();
                    order.add("writer");
                    Thread.sleep(100);
                    order.add("writer done");
                    w.unlockWrite();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Eventually.await("writer queued", 5_000, () -> kv.prefix(name + "/").size() == 2);
            CompletableFuture<Void> lateReader = CompletableFuture.runAsync(() -> {
                ReadWriteLock r = new ReadWriteLock(s3, name);
                try {
                    r.lockRead();
                    order.add("late reader");
                    r.unlockRead();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Eventually.await("late reader queued", 5_000, () -> kv.prefix(name + "/").size() == 3);
            reader.unlockRead();
            CompletableFuture.allOf(writer, lateReader).get(10, TimeUnit.SECONDS);
            assertEquals(List.of("writer", "writer done", "late reader"), order);
            s1.close();
            s2.close();
            s3.close();
        }
    }
}
