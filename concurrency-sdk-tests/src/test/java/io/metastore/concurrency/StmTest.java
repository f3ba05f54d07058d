package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backend;
import io.metastore.concurrency.testing.Kv;
import io.metastore.proto.etcdserverpb.TxnResponse;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** STM against MetaStore and the real etcd, under each isolation level that checks conflicts. */
class StmTest {
    static Stream<Arguments> backendsAndLevels() {
        return io.metastore.concurrency.testing.Backends.core().flatMap(b -> Stream.of(
                Stm.Isolation.SERIALIZABLE_SNAPSHOT, Stm.Isolation.SERIALIZABLE, Stm.Isolation.REPEATABLE_READ)
                .map(iso -> Arguments.of(b, iso)));
    }

    static Stream<Backend> backends() {
        return io.metastore.concurrency.testing.Backends.core();
    }

    /** Concurrent random transfers between accounts: conflicts are retried, money is neither made nor lost. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("backendsAndLevels")
    void concurrentTransfersKeepTheTotal(Backend backend, Stm.Isolation isolation) throws Exception {
        String p = Kv.uniquePrefix("stm");
        int accounts = 4;
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            for (int i = 0; i < accounts; i++) {
                kv.put(p + "/acct" + i, "100");
            }
            Stm stm = Stm.builder(conn).isolation(isolation).build();
            AtomicInteger attempts = new AtomicInteger();
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                workers.add(CompletableFuture.runAsync(() -> {
                    for (int i = 0; i < 8; i++) {
                        int from = ThreadLocalRandom.current().nextInt(accounts);
                        int to = (from + 1 + ThreadLocalRandom.current().nextInt(accounts - 1)) % accounts;
                        stm.run(tx -> {
                            attempts.incrementAndGet();
                            long a = Long.parseLong(tx.get(p + "/acct" + from));
                            long b = Long.parseLong(tx.get(p + "/acct" + to));
                            long amount = Math.min(a, 7);
                            tx.put(p + "/acct" + from, Long.toString(a - amount));
                            tx.put(p + "/acct" + to, Long.toString(b + amount));
                        });
                    }
                }, MutexTest.newThreadPerTask()));
            }
            CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            long total = 0;
            for (int i = 0; i < accounts; i++) {
                total += Long.parseLong(kv.value(p + "/acct" + i));
            }
            assertEquals(100L * accounts, total, "after " + attempts.get() + " attempts of 24 transfers");
            assertTrue(attempts.get() >= 24);
        }
    }

    /** A write by someone else between our read and our commit forces exactly one more attempt. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("backendsAndLevels")
    void aConflictingWriteRerunsTheBody(Backend backend, Stm.Isolation isolation) throws Exception {
        String key = Kv.uniquePrefix("stm") + "/x";
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            kv.put(key, "1");
            AtomicInteger runs = new AtomicInteger();
            TxnResponse resp = Stm.builder(conn).isolation(isolation).build().run(tx -> {
                long v = Long.parseLong(tx.get(key));
                if (runs.incrementAndGet() == 1) {
                    kv.put(key, "10"); // a concurrent writer sneaks in
                }
                tx.put(key, Long.toString(v + 1));
            });
            assertTrue(resp.getSucceeded());
            assertEquals(2, runs.get());
            assertEquals("11", kv.value(key), "the retry read the other writer's value");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void retriesAreBoundedAndAbortsWriteNothing(Backend backend) throws Exception {
        String p = Kv.uniquePrefix("stm");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            AtomicInteger runs = new AtomicInteger();
            Stm stm = Stm.builder(conn).maxAttempts(3).build();
            StmConflictException e = assertThrows(StmConflictException.class, () -> stm.run(tx -> {
                tx.get(p + "/hot");
                kv.put(p + "/hot", Integer.toString(runs.incrementAndGet())); // always conflicts
                tx.put(p + "/out", "never");
            }));
            assertEquals("stm: gave up after 3 conflicting attempts", e.getMessage());
            assertEquals(3, runs.get());
            assertNull(kv.get(p + "/out"));

            IllegalStateException abort = assertThrows(IllegalStateException.class, () -> Stm.run(conn, tx -> {
                tx.put(p + "/out", "never");
                throw new IllegalStateException("insufficient funds");
            }));
            assertEquals("insufficient funds", abort.getMessage());
            assertNull(kv.get(p + "/out"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void readsSeeOwnWritesAndDeletes(Backend backend) throws Exception {
        String p = Kv.uniquePrefix("stm");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            kv.put(p + "/a", "1");
            long revA = kv.get(p + "/a").getModRevision();
            Stm.run(conn, tx -> {
                assertNull(tx.get(p + "/missing"));
                assertEquals(0, tx.rev(p + "/missing"));
                assertEquals(revA, tx.rev(p + "/a"));
                tx.put(p + "/b", "2");
                assertEquals("2", tx.get(p + "/b"));
                tx.delete(p + "/a");
                assertNull(tx.get(p + "/a"));
            });
            assertNull(kv.get(p + "/a"));
            assertEquals("2", kv.value(p + "/b"));
        }
    }

    /**
     * SERIALIZABLE_SNAPSHOT also rejects a blind write to a key changed after the snapshot; REPEATABLE_READ,
     * which only checks what was read, lets it through.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void snapshotIsolationRejectsWriteWriteConflicts(Backend backend) throws Exception {
        String p = Kv.uniquePrefix("stm");
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            kv.put(p + "/r", "r");
            kv.put(p + "/w", "0");
            for (Stm.Isolation iso : List.of(Stm.Isolation.SERIALIZABLE_SNAPSHOT, Stm.Isolation.REPEATABLE_READ)) {
                AtomicInteger runs = new AtomicInteger();
                Stm.builder(conn).isolation(iso).build().run(tx -> {
                    tx.get(p + "/r");
                    if (runs.incrementAndGet() == 1) {
                        kv.put(p + "/w", "other");
                    }
                    tx.put(p + "/w", "mine");
                });
                assertEquals(iso == Stm.Isolation.SERIALIZABLE_SNAPSHOT ? 2 : 1, runs.get(), iso.toString());
            }
        }
    }
}
