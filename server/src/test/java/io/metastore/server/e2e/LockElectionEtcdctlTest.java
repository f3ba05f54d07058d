package io.metastore.server.e2e;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.lock.LockResponse;
import io.metastore.concurrency.EtcdConnection;
import io.metastore.concurrency.Mutex;
import io.metastore.concurrency.Session;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * etcdctl's {@code lock} and {@code elect} run etcd's client-side recipes over KV/Lease/Watch (not the Lock and
 * Election services): these scenarios check that they work against MetaStore, and that they share one key
 * layout with the server-side services and the Java SDK, i.e. all of them exclude each other on one name.
 */
@Timeout(90)
class LockElectionEtcdctlTest {
    private static final Duration SHORT = Duration.ofMillis(1200);
    private static final Duration LONG = Duration.ofSeconds(10);

    private static TestMember member;
    private static Client client;
    private static Etcdctl etcdctl;

    @BeforeAll
    static void start() throws InterruptedException {
        RealEtcd.requireBinaries();
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY);
        client = member.client();
        member.awaitLeader();
        etcdctl = new Etcdctl(member.endpoint());
    }

    @AfterAll
    static void stop() {
        member.close();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void etcdctlLockExcludesAndIsExcludedByTheLockServiceAndTheSdkMutex() throws Exception {
        long lease = client.getLeaseClient().grant(30).get(5, TimeUnit.SECONDS).getID();
        LockResponse held = client.getLockClient().lock(bytes("ctl-lock"), lease).get(5, TimeUnit.SECONDS);
        try (Etcdctl.Background first = etcdctl.background("lock", "ctl-lock");
             EtcdConnection conn = EtcdConnection.plaintext(member.endpoint())) {
            // 1. etcdctl waits for the server-side Lock's holder
            assertFalse(first.awaitStdout(s -> !s.isEmpty(), SHORT), first.stdout());
            client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
            assertTrue(first.awaitStdout(s -> s.startsWith("ctl-lock/"), LONG), first.stderr());

            // 2. a second etcdctl (running a command under the lock) and the SDK's Mutex wait for the first
            try (Etcdctl.Background second = etcdctl.background("lock", "ctl-lock", "echo", "second-ran");
                 Session session = Session.builder(conn).ttl(Duration.ofSeconds(10)).build()) {
                assertFalse(second.awaitStdout(s -> !s.isEmpty(), SHORT), second.stdout());
                Mutex mutex = new Mutex(session, "ctl-lock");
                assertFalse(mutex.lock(Duration.ofMillis(500)), "the SDK mutex must wait for etcdctl's lock");

                // SIGTERM: etcdctl unlocks; the second runs its command and unlocks in turn
                Etcdctl.Result firstResult = first.stop();
                assertTrue(second.awaitStdout(s -> s.contains("second-ran"), LONG), second.stderr());
                assertTrue(second.awaitStdout(s -> false, Duration.ofSeconds(5)) || !second.isAlive());
                assertEquals(0, second.stop().exitCode(), firstResult.toString());

                // 3. now the SDK holds it, and etcdctl waits for the SDK
                mutex.lock();
                try (Etcdctl.Background third = etcdctl.background("lock", "ctl-lock", "echo", "third-ran")) {
                    assertFalse(third.awaitStdout(s -> !s.isEmpty(), SHORT), third.stdout());
                    mutex.unlock();
                    assertTrue(third.awaitStdout(s -> s.contains("third-ran"), LONG), third.stderr());
                    third.awaitStdout(s -> false, Duration.ofSeconds(5)); // returns once it exits (after unlocking)
                    assertEquals(0, third.stop().exitCode());
                }
            }
        }
        assertEquals(0, client.getKVClient().get(bytes("ctl-lock/"),
                io.etcd.jetcd.options.GetOption.builder().isPrefix(true).withCountOnly(true).build())
                .get(5, TimeUnit.SECONDS).getCount(), "every locker cleaned up");
    }

    @Test
    void etcdctlElectAndListenAgreeWithTheElectionService() throws Exception {
        try (Etcdctl.Background listener = etcdctl.background("elect", "-l", "ctl-elect");
             Etcdctl.Background p1 = etcdctl.background("elect", "ctl-elect", "p1")) {
            // etcdctl prints the leader key and its value once elected; the listener prints each leader
            assertTrue(p1.awaitStdout(s -> s.matches("(?s)ctl-elect/[0-9a-f]+\\np1\\n.*"), LONG), p1.stderr());
            assertTrue(listener.awaitStdout(s -> s.contains("p1"), LONG), listener.stderr());
            assertEquals("p1", client.getElectionClient().leader(bytes("ctl-elect")).get(5, TimeUnit.SECONDS)
                    .getKv().getValue().toString(StandardCharsets.UTF_8), "the service sees etcdctl's candidate");

            long lease = client.getLeaseClient().grant(30).get(5, TimeUnit.SECONDS).getID();
            CompletableFuture<io.etcd.jetcd.election.CampaignResponse> p2 =
                    client.getElectionClient().campaign(bytes("ctl-elect"), lease, bytes("p2"));
            assertFalse(awaitDone(p2, SHORT), "the service's candidate queues behind etcdctl's leader");

            p1.stop(); // SIGTERM: etcdctl resigns
            LeaderKey leader = p2.get(10, TimeUnit.SECONDS).getLeader();
            assertTrue(listener.awaitStdout(s -> s.contains("p2"), LONG), listener.stdout());
            client.getElectionClient().proclaim(leader, bytes("p3")).get(5, TimeUnit.SECONDS);
            assertTrue(listener.awaitStdout(s -> s.contains("p3"), LONG), listener.stdout());

            String seen = listener.stdout();
            assertTrue(seen.indexOf("p1") < seen.indexOf("p2") && seen.indexOf("p2") < seen.indexOf("p3"), seen);
            assertTrue(seen.matches("(?s)ctl-elect/[0-9a-f]+\\np1\\nctl-elect/[0-9a-f]+\\np2\\nctl-elect/[0-9a-f]+\\np3\\n"),
                    seen);
            client.getElectionClient().resign(leader).get(5, TimeUnit.SECONDS);
        }
    }

    private static boolean awaitDone(CompletableFuture<?> f, Duration d) throws Exception {
        try {
            f.get(d.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }
}
