package io.metastore.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.lock.LockResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lock and Election through different members of one 3-member cluster: the recipes' state is the cluster's. */
class LockElectionClusterTest {
    private static TestCluster cluster;
    private static final Client[] clients = new Client[3];

    @BeforeAll
    static void start() throws InterruptedException {
        cluster = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY);
        for (int i = 0; i < 3; i++) {
            clients[i] = Client.builder().endpoints("http://127.0.0.1:" + cluster.member(i).clientPort())
                    .connectTimeout(Duration.ofSeconds(5)).build();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int i = 0; i < 3; i++) {
            while (cluster.member(i).server().leaderName() == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
    }

    @AfterAll
    static void stop() {
        for (Client c : clients) {
            if (c != null) {
                c.close();
            }
        }
        cluster.close();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void aLockHeldViaOneMemberBlocksLockersOnAnotherUntilItsLeaseIsRevoked() throws Exception {
        long holderLease = clients[0].getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
        long waiterLease = clients[2].getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
        LockResponse held = clients[0].getLockClient().lock(bytes("cl-lock"), holderLease).get(10, TimeUnit.SECONDS);
        CompletableFuture<LockResponse> waiter = clients[2].getLockClient().lock(bytes("cl-lock"), waiterLease);
        assertThrows(TimeoutException.class, () -> waiter.get(700, TimeUnit.MILLISECONDS));

        // the holder "crashes": its lease goes (revoked through a third member), and with it the lock key
        clients[1].getLeaseClient().revoke(holderLease).get(10, TimeUnit.SECONDS);
        LockResponse got = waiter.get(10, TimeUnit.SECONDS);
        assertEquals("cl-lock/" + Long.toHexString(waiterLease), got.getKey().toString(StandardCharsets.UTF_8));
        assertTrue(clients[1].getKVClient().get(held.getKey()).get(10, TimeUnit.SECONDS).getKvs().isEmpty());
        clients[1].getLockClient().unlock(got.getKey()).get(10, TimeUnit.SECONDS);
    }

    @Test
    void aLeaderElectedViaOneMemberIsSeenAndDeposableViaOthers() throws Exception {
        long a = clients[0].getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
        long b = clients[1].getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
        LeaderKey leader = clients[0].getElectionClient().campaign(bytes("cl-elect"), a, bytes("a"))
                .get(10, TimeUnit.SECONDS).getLeader();
        CompletableFuture<?> next = clients[1].getElectionClient().campaign(bytes("cl-elect"), b, bytes("b"));
        assertEquals("a", clients[2].getElectionClient().leader(bytes("cl-elect")).get(10, TimeUnit.SECONDS)
                .getKv().getValue().toString(StandardCharsets.UTF_8));
        clients[2].getElectionClient().resign(leader).get(10, TimeUnit.SECONDS); // a LeaderKey works anywhere
        next.get(10, TimeUnit.SECONDS);
        assertEquals("b", clients[2].getElectionClient().leader(bytes("cl-elect")).get(10, TimeUnit.SECONDS)
                .getKv().getValue().toString(StandardCharsets.UTF_8));
        clients[1].getLeaseClient().revoke(b).get(10, TimeUnit.SECONDS);
    }
}
