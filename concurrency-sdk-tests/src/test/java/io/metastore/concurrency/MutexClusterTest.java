package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backend;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutex on a 3-member MetaStore, each client on a different member: the lock must hold across members (writes go
 * through Raft, watches and reads are served by whichever member the client talks to).
 */
class MutexClusterTest {
    @Test
    void clientsOnDifferentMembersExcludeEachOther() throws Exception {
        Backend cluster = Backends.metastoreCluster();
        String name = Kv.uniquePrefix("mutex-cluster");
        String counter = name + "-counter";
        int rounds = 6;
        List<Long> tokens = Collections.synchronizedList(new ArrayList<>());
        List<EtcdConnection> conns = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                conns.add(cluster.connect(i));
            }
            new Kv(conns.get(0)).put(counter, "0");
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (EtcdConnection conn : conns) {
                workers.add(CompletableFuture.runAsync(() -> {
                    Kv kv = new Kv(conn);
                    Session s = Session.builder(conn).ttl(Duration.ofSeconds(5)).build();
                    Mutex m = new Mutex(s, name);
                    try {
                        for (int r = 0; r < rounds; r++) {
                            m.lock();
                            tokens.add(m.revision());
                            long v = Long.parseLong(kv.value(counter));
                            kv.put(counter, Long.toString(v + 1));
                            m.unlock();
                        }
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        s.close();
                    }
                }, MutexTest.newThreadPerTask()));
            }
            CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            assertEquals(Integer.toString(3 * rounds), new Kv(conns.get(1)).value(counter));
            for (int i = 1; i < tokens.size(); i++) {
                assertTrue(tokens.get(i) > tokens.get(i - 1), "fencing tokens strictly increase: " + tokens);
            }
        } finally {
            conns.forEach(EtcdConnection::close);
        }
    }

    /** The holder on member 1 loses its lease (revoked through member 3): the waiter on member 2 acquires. */
    @Test
    void sessionLossOnOneMemberHandsTheLockToAWaiterOnAnother() throws Exception {
        Backend cluster = Backends.metastoreCluster();
        String name = Kv.uniquePrefix("mutex-cluster");
        try (EtcdConnection c1 = cluster.connect(0); EtcdConnection c2 = cluster.connect(1);
             EtcdConnection c3 = cluster.connect(2)) {
            Session a = Session.builder(c1).ttl(Duration.ofSeconds(2)).build();
            Session b = Session.builder(c2).ttl(Duration.ofSeconds(2)).build();
            Mutex ma = new Mutex(a, name);
            ma.lock();
            Mutex mb = new Mutex(b, name);
            CompletableFuture<Boolean> bLocked = CompletableFuture.supplyAsync(() -> {
                try {
                    return mb.lock(Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Kv kv3 = new Kv(c3);
            Eventually.await("b queued", 5_000, () -> kv3.prefix(name + "/").size() == 2);
            kv3.revoke(a.lease());
            assertTrue(bLocked.get(5, TimeUnit.SECONDS));
            assertTrue(mb.revision() > ma.revision());
            assertEquals(Session.End.LEASE_EXPIRED, a.done().get(3, TimeUnit.SECONDS));
            mb.unlock();
            b.close();
        }
    }
}
