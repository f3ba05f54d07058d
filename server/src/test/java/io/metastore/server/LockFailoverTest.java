package io.metastore.server;

import io.metastore.concurrency.EtcdConnection;
import io.metastore.concurrency.Mutex;
import io.metastore.concurrency.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A lock held through one follower while the leader dies: the holder's session is renewed through the failover,
 * so a waiter on the other follower stays blocked longer than the TTL; once the holder unlocks, it acquires.
 */
class LockFailoverTest {
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aHeldLockSurvivesTheLossOfTheLeader() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            int leader = awaitLeader(c, List.of(0, 1, 2));
            List<Integer> followers = IntStream.range(0, 3).filter(i -> i != leader).boxed().toList();
            var pool = Executors.newCachedThreadPool();
            try (EtcdConnection viaA = EtcdConnection.plaintext("127.0.0.1:" + c.port(followers.get(0)));
                 EtcdConnection viaB = EtcdConnection.plaintext("127.0.0.1:" + c.port(followers.get(1)))) {
                Duration ttl = Duration.ofSeconds(10); // etcd's sessions default to 60 s; under load a failover here took up to 7 s
                Session holderSession = Session.builder(viaA).ttl(ttl).build();
                Mutex holder = new Mutex(holderSession, "failover-lock");
                holder.lock();
                Session waiterSession = Session.builder(viaB).ttl(ttl).build();
                Mutex waiter = new Mutex(waiterSession, "failover-lock");
                CompletableFuture<Boolean> acquired = CompletableFuture.supplyAsync(() -> {
                    try {
                        return waiter.lock(Duration.ofSeconds(60));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, pool);

                long t0 = System.nanoTime();
                c.stop(leader);
                awaitLeader(c, followers);
                System.out.printf("[lock failover] new leader after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
                // longer than the holder's TTL: only keep-alives that reached the new leader keep the lock held
                Thread.sleep(ttl.toMillis() + 1000);
                assertTrue(holderSession.isAlive(), "the holder's session was lost in the failover: "
                        + holderSession.done().getNow(null));
                assertFalse(acquired.isDone(), () -> "the waiter finished while the holder still held the lock: "
                        + acquired.handle((v, e) -> e != null ? e.toString() : "acquired=" + v).join()
                        + "; waiter session " + (waiterSession.isAlive() ? "alive" : waiterSession.done().getNow(null)));

                long holderToken = holder.revision();
                holder.unlock();
                assertTrue(acquired.get(10, TimeUnit.SECONDS), "the waiter did not acquire after the unlock");
                assertTrue(waiter.revision() > holderToken, "fencing tokens must increase");
                waiter.unlock();
                holderSession.close();
                waiterSession.close();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static int awaitLeader(TestCluster c, List<Integer> among) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            int l = c.leader();
            if (l >= 0 && among.contains(l)) {
                return l;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no leader among " + among);
    }
}
