package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backend;
import io.metastore.concurrency.testing.Eventually;
import io.metastore.concurrency.testing.Kv;
import io.metastore.proto.mvccpb.KeyValue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Election against MetaStore and the real etcd. */
class ElectionTest {
    private static final String BACKENDS = "io.metastore.concurrency.testing.Backends#core";
    private static final Duration TTL = Duration.ofSeconds(2);

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void noLeaderThenCampaignProclaimResign(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            String name = Kv.uniquePrefix("election");
            Session s = Session.builder(conn).ttl(TTL).build();
            Election e = new Election(s, name);
            NoLeaderException none = assertThrows(NoLeaderException.class, e::leader);
            assertEquals("election: no leader", none.getMessage());
            NotLeaderException notYet = assertThrows(NotLeaderException.class, () -> e.proclaim("x"));
            assertEquals("election: not leader", notYet.getMessage());
            e.resign(); // not campaigning: no-op

            e.campaign("v1");
            assertTrue(e.isLeader());
            assertEquals(name + "/" + Long.toHexString(s.lease()), e.key());
            KeyValue leader = e.leader();
            assertEquals("v1", leader.getValue().toStringUtf8());
            assertEquals(e.revision(), leader.getCreateRevision());

            e.proclaim("v2");
            assertEquals("v2", e.leader().getValue().toStringUtf8());
            assertEquals(e.revision(), e.leader().getCreateRevision(), "proclaim keeps the create revision");

            e.resign();
            assertFalse(e.isLeader());
            assertThrows(NoLeaderException.class, e::leader);
            assertThrows(NotLeaderException.class, () -> e.proclaim("v3"));
            s.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void campaigningAgainOnTheSameSessionKeepsTheCandidacyAndUpdatesTheValue(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            String name = Kv.uniquePrefix("election");
            Session s = Session.builder(conn).ttl(TTL).build();
            Election first = new Election(s, name);
            first.campaign("a");
            Election resumed = new Election(s, name);
            resumed.campaign("b");
            assertEquals(first.revision(), resumed.revision());
            assertEquals("b", resumed.leader().getValue().toStringUtf8());
            s.close();
        }
    }

    /**
     * Two candidates and an observer: the observer sees a's value, a's proclamation, then b once a resigns, then
     * b's proclamation — in that order; b's campaign returns only after a resigned.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void observeReportsLeadershipAndProclamationsInOrder(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String name = Kv.uniquePrefix("election");
            Session sa = Session.builder(conn).ttl(TTL).build();
            Session sb = Session.builder(conn).ttl(TTL).build();
            Session watcher = Session.builder(conn).ttl(TTL).build();
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            try (Observation obs = new Election(watcher, name).observe(k -> seen.add(k.getValue().toStringUtf8()))) {
                Election a = new Election(sa, name);
                a.campaign("a1");
                assertEquals("a1", seen.poll(5, TimeUnit.SECONDS));
                Election b = new Election(sb, name);
                CompletableFuture<Void> bWins = CompletableFuture.runAsync(() -> {
                    try {
                        b.campaign("b1");
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, MutexTest.newThreadPerTask());
                Eventually.await("b is a candidate", 5_000, () -> kv.prefix(name + "/").size() == 2);
                a.proclaim("a2");
                assertEquals("a2", seen.poll(5, TimeUnit.SECONDS));
                assertFalse(bWins.isDone(), "b waits while a leads");
                assertEquals("a2", a.leader().getValue().toStringUtf8());
                a.resign();
                bWins.get(5, TimeUnit.SECONDS);
                assertTrue(b.isLeader());
                assertEquals("b1", seen.poll(5, TimeUnit.SECONDS));
                b.proclaim("b2");
                assertEquals("b2", seen.poll(5, TimeUnit.SECONDS));
                assertNull(seen.poll(200, TimeUnit.MILLISECONDS), "nothing else: " + seen);
                assertFalse(obs.stopped().isDone());
            }
            sa.close();
            sb.close();
            watcher.close();
        }
    }

    /** The leader's session dies (lease revoked): the waiting candidate takes over; the old leader is deposed. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void leadersSessionLossElectsTheNextCandidate(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String name = Kv.uniquePrefix("election");
            Session sa = Session.builder(conn).ttl(TTL).build();
            Session sb = Session.builder(conn).ttl(TTL).build();
            Election a = new Election(sa, name);
            a.campaign("a");
            Election b = new Election(sb, name);
            CompletableFuture<Boolean> bWins = CompletableFuture.supplyAsync(() -> {
                try {
                    return b.campaign("b", Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Eventually.await("b is a candidate", 5_000, () -> kv.prefix(name + "/").size() == 2);
            kv.revoke(sa.lease());
            assertTrue(bWins.get(5, TimeUnit.SECONDS));
            assertEquals("b", b.leader().getValue().toStringUtf8());
            assertThrows(NotLeaderException.class, () -> a.proclaim("still me?"));
            sb.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void campaignTimeoutWithdrawsTheCandidacy(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String name = Kv.uniquePrefix("election");
            Session sa = Session.builder(conn).ttl(TTL).build();
            Session sb = Session.builder(conn).ttl(TTL).build();
            new Election(sa, name).campaign("a");
            Election b = new Election(sb, name);
            assertFalse(b.campaign("b", Duration.ofMillis(300)));
            assertFalse(b.isLeader());
            assertEquals(List.of(name + "/" + Long.toHexString(sa.lease())),
                    kv.prefix(name + "/").stream().map(k -> k.getKey().toStringUtf8()).toList());
            sa.close();
            sb.close();
        }
    }
}
