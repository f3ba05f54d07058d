package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backend;
import io.metastore.concurrency.testing.Eventually;
import io.metastore.concurrency.testing.Kv;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.mvccpb.KeyValue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mutex against MetaStore and the real etcd. */
class MutexTest {
    private static final String BACKENDS = "io.metastore.concurrency.testing.Backends#core";
    private static final Duration TTL = Duration.ofSeconds(2);

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void lockKeyIsPrefixSlashLeaseHexAndTheRevisionIsItsCreateRevision(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Session s = Session.builder(conn).ttl(TTL).build();
            String name = Kv.uniquePrefix("mutex");
            Mutex m = new Mutex(s, name);
            m.lock();
            assertEquals(name + "/" + Long.toHexString(s.lease()), m.key());
            KeyValue kv = new Kv(conn).get(m.key());
            assertEquals(kv.getCreateRevision(), m.revision());
            assertEquals(s.lease(), kv.getLease());
            assertTrue(m.header().getRevision() >= m.revision());
            // same session, same name: the same key, so it is already "held" (etcd's re-entrancy)
            Mutex again = new Mutex(s, name);
            assertTrue(again.tryLock());
            assertEquals(m.revision(), again.revision());
            m.unlock();
            assertEquals(null, new Kv(conn).get(again.key()));
            IllegalStateException e = assertThrows(IllegalStateException.class, m::unlock);
            assertEquals("mutex: lock has already been released", e.getMessage());
            s.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void tryLockAndTimedLockFailWithoutLeavingAKey(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Session a = Session.builder(conn).ttl(TTL).build();
            Session b = Session.builder(conn).ttl(TTL).build();
            String name = Kv.uniquePrefix("mutex");
            Mutex ma = new Mutex(a, name);
            Mutex mb = new Mutex(b, name);
            ma.lock();
            assertFalse(mb.tryLock());
            assertEquals(-1, mb.revision());
            long t0 = System.nanoTime();
            assertFalse(mb.lock(Duration.ofMillis(300)));
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(300));
            assertEquals(1, new Kv(conn).prefix(name + "/").size(), "only the holder's key is left");
            ma.unlock();
            assertTrue(mb.lock(Duration.ofSeconds(5)));
            mb.unlock();
            a.close();
            b.close();
        }
    }

    /**
     * N clients, each with its own session, increment one counter key with a plain get+put under the mutex: the
     * total is exact only if the holds never overlapped. The fencing tokens, recorded in acquisition order, must
     * strictly increase.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void contendedCounterIsExactAndFencingTokensIncrease(Backend backend) throws Exception {
        int clients = 4;
        int rounds = 8;
        String name = Kv.uniquePrefix("mutex");
        String counter = name + "-counter";
        List<Long> tokens = Collections.synchronizedList(new ArrayList<>());
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            kv.put(counter, "0");
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                workers.add(CompletableFuture.runAsync(() -> {
                    Session s = Session.builder(conn).ttl(Duration.ofSeconds(5)).build();
                    Mutex m = new Mutex(s, name);
                    try {
                        for (int i = 0; i < rounds; i++) {
                            m.lock();
                            tokens.add(m.revision());
                            long v = Long.parseLong(kv.value(counter));
                            Thread.yield();
                            kv.put(counter, Long.toString(v + 1));
                            m.unlock();
                        }
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        s.close();
                    }
                }, newThreadPerTask()));
            }
            CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            assertEquals(Long.toString((long) clients * rounds), kv.value(counter));
            assertEquals(clients * rounds, tokens.size());
            for (int i = 1; i < tokens.size(); i++) {
                assertTrue(tokens.get(i) > tokens.get(i - 1), "fencing tokens strictly increase: " + tokens);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void waitersAcquireInArrivalOrder(Backend backend) throws Exception {
        String name = Kv.uniquePrefix("mutex");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            Session holder = Session.builder(conn).ttl(TTL).build();
            Mutex first = new Mutex(holder, name);
            first.lock();
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Void>> waiters = new ArrayList<>();
            List<Session> sessions = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String me = "w" + i;
                Session s = Session.builder(conn).ttl(TTL).build();
                sessions.add(s);
                waiters.add(CompletableFuture.runAsync(() -> {
                    Mutex m = new Mutex(s, name);
                    try {
                        m.lock();
                        order.add(me);
                        m.unlock();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, newThreadPerTask()));
                int queued = i + 2;
                Eventually.await(me + " queued", 5_000, () -> kv.prefix(name + "/").size() == queued);
            }
            first.unlock();
            CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            assertEquals(List.of("w0", "w1", "w2"), order);
            holder.close();
            sessions.forEach(Session::close);
        }
    }

    /** The holder's lease is revoked (as if it expired): the next waiter gets the lock and the old guard fails. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void holdersSessionLossHandsTheLockToTheNextWaiter(Backend backend) throws Exception {
        String name = Kv.uniquePrefix("mutex");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            Session a = Session.builder(conn).ttl(TTL).build();
            Session b = Session.builder(conn).ttl(TTL).build();
            Mutex ma = new Mutex(a, name);
            ma.lock();
            Mutex mb = new Mutex(b, name);
            CompletableFuture<Boolean> bLocked = CompletableFuture.supplyAsync(() -> {
                try {
                    return mb.lock(Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, newThreadPerTask());
            Eventually.await("b queued", 5_000, () -> kv.prefix(name + "/").size() == 2);
            kv.revoke(a.lease());
            assertTrue(bLocked.get(5, TimeUnit.SECONDS));
            assertTrue(mb.revision() > ma.revision());
            // a write fenced with the old holder's guard no longer lands
            boolean landed = KVGrpc.newBlockingStub(conn.channel()).txn(TxnRequest.newBuilder()
                    .addCompare(ma.ownerGuard())
                    .addSuccess(Ops.op(Ops.put(Ops.bytes(name + "-data"), Ops.bytes("stale"), 0))).build())
                    .getSucceeded();
            assertFalse(landed);
            assertEquals(Session.End.LEASE_EXPIRED, a.done().get(3, TimeUnit.SECONDS));
            mb.unlock();
            b.close();
        }
    }

    /** A waiter whose own session dies fails with SessionLostException instead of waiting forever. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void waitersSessionLossFailsItsWait(Backend backend) throws Exception {
        String name = Kv.uniquePrefix("mutex");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            Session a = Session.builder(conn).ttl(TTL).build();
            Session b = Session.builder(conn).ttl(TTL).build();
            new Mutex(a, name).lock();
            Mutex mb = new Mutex(b, name);
            CompletableFuture<Void> bLocked = CompletableFuture.runAsync(() -> {
                try {
                    mb.lock();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, newThreadPerTask());
            Eventually.await("b queued", 5_000, () -> kv.prefix(name + "/").size() == 2);
            kv.revoke(b.lease());
            ExecutionException e = assertThrows(ExecutionException.class, () -> bLocked.get(5, TimeUnit.SECONDS));
            assertInstanceOf(SessionLostException.class, e.getCause());
            a.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void interruptingAWaiterWithdrawsItsKey(Backend backend) throws Exception {
        String name = Kv.uniquePrefix("mutex");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            Session a = Session.builder(conn).ttl(TTL).build();
            Session b = Session.builder(conn).ttl(TTL).build();
            new Mutex(a, name).lock();
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    new Mutex(b, name).lock();
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            waiter.start();
            Eventually.await("b queued", 5_000, () -> kv.prefix(name + "/").size() == 2);
            waiter.interrupt();
            waiter.join(5_000);
            assertInstanceOf(InterruptedException.class, outcome.get());
            assertEquals(1, kv.prefix(name + "/").size(), "the interrupted waiter removed its key");
            assertTrue(b.isAlive());
            a.close();
            b.close();
        }
    }

    static java.util.concurrent.Executor newThreadPerTask() {
        return r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            t.start();
        };
    }
}
