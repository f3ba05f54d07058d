package io.metastore.concurrency;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.metastore.concurrency.testing.Backend;
import io.metastore.concurrency.testing.Kv;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.KVGrpc;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Session against MetaStore and the real etcd: grant, keep-alive, close, orphan, loss detection. */
class SessionTest {
    private static final String BACKENDS = "io.metastore.concurrency.testing.Backends#core";

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void keepAliveOutlivesTheTtlAndCloseRevokes(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String key = Kv.uniquePrefix("session") + "/k";
            Session s = Session.builder(conn).ttl(Duration.ofSeconds(2)).build();
            assertTrue(s.lease() > 0);
            assertEquals(Duration.ofSeconds(2), s.ttl());
            putWithLease(conn, key, s.lease());
            Thread.sleep(3_000); // longer than the TTL: only the keep-alive keeps the key
            assertNotNull(kv.get(key), "key survives thanks to keep-alive");
            assertTrue(s.isAlive());
            s.close();
            assertEquals(Session.End.CLOSED, s.done().get(1, TimeUnit.SECONDS));
            assertNull(kv.get(key), "close revokes the lease and its keys");
            assertEquals(-1, kv.ttl(s.lease()));
            s.close(); // idempotent
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void orphanLeavesTheLeaseToExpire(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String key = Kv.uniquePrefix("session") + "/k";
            Session s = Session.builder(conn).ttl(Duration.ofSeconds(2)).build();
            putWithLease(conn, key, s.lease());
            s.orphan();
            assertEquals(Session.End.ORPHANED, s.done().get(1, TimeUnit.SECONDS));
            assertNotNull(kv.get(key), "orphan does not revoke");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            while (kv.get(key) != null && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertNull(kv.get(key), "the server expires the orphaned lease after its TTL");
        }
    }

    /** A session on someone else's lease (as etcd's server-side Lock uses the caller's): no renewal, no revoke. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void withoutKeepAliveNeitherRenewsNorRevokes(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String prefix = Kv.uniquePrefix("borrowed");
            Session owner = Session.builder(conn).ttl(Duration.ofSeconds(30)).build();
            Session borrowed = Session.builder(conn).lease(owner.lease()).withoutKeepAlive().build();
            Mutex m = new Mutex(borrowed, prefix);
            m.lock();
            assertEquals(owner.lease(), kv.get(m.key()).getLease(), "the lock key is on the owner's lease");
            borrowed.close();
            assertTrue(kv.ttl(owner.lease()) > 0, "closing the borrowing session leaves the lease alone");
            assertNotNull(kv.get(m.key()));
            owner.close();
            assertNull(kv.get(m.key()));

            Session fresh = Session.builder(conn).ttl(Duration.ofSeconds(2)).withoutKeepAlive().build();
            String key = prefix + "/fresh";
            putWithLease(conn, key, fresh.lease());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            while (kv.get(key) != null && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertNull(kv.get(key), "a lease granted for such a session is left to expire");
            assertTrue(fresh.isAlive(), "it cannot see its lease expire; the recipes see their keys vanish");
            fresh.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void revokedLeaseEndsTheSessionAndFailsBoundWaits(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Session s = Session.builder(conn).ttl(Duration.ofSeconds(3)).build();
            new Kv(conn).revoke(s.lease());
            // the next renewal (every TTL/3 = 1 s) is answered with TTL 0
            assertEquals(Session.End.LEASE_EXPIRED, s.done().get(5, TimeUnit.SECONDS));
            assertFalse(s.isAlive());
            assertThrows(SessionLostException.class, () -> new Mutex(s, Kv.uniquePrefix("m")).lock());
            s.close(); // lease already gone: no error
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void resumesAnExistingLeaseAndNoticesAMissingOne(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Session first = Session.builder(conn).ttl(Duration.ofSeconds(5)).build();
            first.orphan();
            Session resumed = Session.builder(conn).lease(first.lease()).build();
            assertEquals(first.lease(), resumed.lease());
            Thread.sleep(300);
            assertTrue(resumed.isAlive());
            assertEquals(Duration.ofSeconds(5), resumed.ttl(), "TTL learnt from the keep-alive response");
            resumed.close();
            assertEquals(-1, new Kv(conn).ttl(first.lease()));

            Session missing = Session.builder(conn).lease(first.lease()).build();
            assertEquals(Session.End.LEASE_EXPIRED, missing.done().get(3, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void keepAliveFailureEndsTheSessionWithinTheTtl(Backend backend) throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forTarget(backend.endpoints().get(0)).usePlaintext().build();
        try (EtcdConnection conn = EtcdConnection.of(channel)) {
            Session s = Session.builder(conn).ttl(Duration.ofSeconds(2)).build();
            long lease = s.lease();
            channel.shutdownNow(); // no renewal can be confirmed any more; the scheduler still runs
            long t0 = System.nanoTime();
            assertEquals(Session.End.KEEPALIVE_FAILED, s.done().get(4, TimeUnit.SECONDS));
            assertTrue(System.nanoTime() - t0 <= TimeUnit.MILLISECONDS.toNanos(2_500), "lost within the TTL");
            try (EtcdConnection other = backend.connect()) {
                new Kv(other).revoke(lease);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void closingTheConnectionEndsItsSessions(Backend backend) throws Exception {
        EtcdConnection conn = backend.connect();
        Session s = Session.builder(conn).ttl(Duration.ofSeconds(2)).build();
        conn.close();
        assertEquals(Session.End.KEEPALIVE_FAILED, s.done().get(1, TimeUnit.SECONDS));
    }

    static void putWithLease(EtcdConnection conn, String key, long lease) {
        KVGrpc.newBlockingStub(conn.channel()).put(PutRequest.newBuilder()
                .setKey(Ops.bytes(key)).setLease(lease).build());
    }
}
