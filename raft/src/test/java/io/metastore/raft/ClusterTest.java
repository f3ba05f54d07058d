package io.metastore.raft;

import io.metastore.storage.MvccStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.metastore.raft.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** A 3-member group on loopback, in one JVM. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ClusterTest {

    @TempDir
    Path dir;

    final List<RaftPeerSpec> peers = new ArrayList<>();
    final RaftNode[] nodes = new RaftNode[3];
    final MvccStore[] stores = new MvccStore[3];
    final Recorder[] appliers = new Recorder[3];
    final List<String> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll() throws InterruptedException {
        List<Thread> closers = new ArrayList<>();
        for (RaftNode n : nodes) {
            if (n != null) {
                Thread t = new Thread(n::close);
                t.start();
                closers.add(t);
            }
        }
        for (Thread t : closers) {
            t.join(30_000);
        }
    }

    private RaftConfig config(int i, long snapshotCount) {
        String name = peers.get(i).name();
        return TestSupport.config(name, peers, dir)
                .snapshotCount(snapshotCount)
                .logSegmentBytes(8 * 1024)
                .leadershipListener((leader, term, local) -> events.add(name + ":" + leader + "@" + term + ":" + local))
                .build();
    }

    private void startAll(long snapshotCount, boolean durable) throws Exception {
        peers.addAll(TestSupport.peers(3));
        for (int i = 0; i < 3; i++) {
            stores[i] = durable ? new DurableStore(memoryStore()) : memoryStore();
            appliers[i] = new Recorder(stores[i]);
        }
        List<Thread> starters = new ArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 3; i++) {
            int k = i;
            Thread t = new Thread(() -> {
                try {
                    nodes[k] = RaftNode.start(config(k, snapshotCount), stores[k], appliers[k]);
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            t.start();
            starters.add(t);
        }
        for (Thread t : starters) {
            t.join();
        }
        assertTrue(errors.isEmpty(), "start: " + errors);
    }

    private int awaitLeader(int... candidates) {
        int[] found = {-1};
        await("a leader all live members agree on", Duration.ofSeconds(20), () -> {
            int leader = -1;
            for (int i : candidates) {
                if (nodes[i].isLeader()) {
                    leader = i;
                }
            }
            if (leader < 0) {
                return false;
            }
            for (int i : candidates) {
                if (!peers.get(leader).name().equals(nodes[i].leaderName())) {
                    return false;
                }
            }
            found[0] = leader;
            return true;
        });
        return found[0];
    }

    @Test
    void proposalsOnFollowersAreForwardedAndLeaderFailoverKeepsGoing() throws Exception {
        long t = System.nanoTime();
        startAll(10_000, false);
        int leader = awaitLeader(0, 1, 2);
        t = lap("start + election", t);
        int f1 = (leader + 1) % 3;
        int f2 = (leader + 2) % 3;

        // a proposal made on a follower is forwarded to the leader and applied everywhere
        long rev = asLong(get(nodes[f1].propose(put("from-follower", "hello"))));
        assertTrue(rev > 0);
        for (int i = 0; i < 3; i++) {
            int k = i;
            await("applied on member " + k, Duration.ofSeconds(10),
                    () -> "hello".equals(value(stores[k], "from-follower")));
        }

        t = lap("forwarded proposal applied on all", t);
        // linearizable reads on a follower: after the barrier it sees every write acknowledged before
        for (int i = 0; i < 20; i++) {
            get(nodes[leader].propose(put("lin", "" + i)));
            get(nodes[f2].linearizableBarrier());
            assertEquals("" + i, value(stores[f2], "lin"), "follower read after barrier");
        }
        assertTrue(nodes[f2].stateMachine().readRounds() >= 20, "the follower's barrier used ReadIndex");
        t = lap("20 follower barriers", t);

        // every member heard about the leader
        String leaderName = peers.get(leader).name();
        await("leader events", Duration.ofSeconds(5), () -> events.stream()
                .filter(e -> e.contains(":" + leaderName + "@")).map(e -> e.substring(0, e.indexOf(':')))
                .distinct().count() == 3);
        assertTrue(events.contains(leaderName + ":" + leaderName + "@" + nodes[leader].currentTerm() + ":true")
                || events.stream().anyMatch(e -> e.startsWith(leaderName + ":" + leaderName + "@") && e.endsWith(":true")),
                "leader told it leads: " + events);

        // stop the leader: a new one is elected among the two others and proposals continue
        long oldTerm = nodes[f1].currentTerm();
        long t0 = System.nanoTime();
        nodes[leader].close();
        nodes[leader] = null;
        int newLeader = awaitLeader(f1, f2);
        long electedMs = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("new leader %s elected %d ms after the old one stopped%n", peers.get(newLeader).name(),
                electedMs);
        assertTrue(nodes[newLeader].currentTerm() > oldTerm);
        for (int i = 0; i < 10; i++) {
            get(nodes[f1].propose(put("after-failover-" + i, "v" + i)));
            get(nodes[f2].propose(put("after-failover-b-" + i, "v" + i)));
        }
        for (int k : new int[] {f1, f2}) {
            await("failover writes on " + k, Duration.ofSeconds(10),
                    () -> "v9".equals(value(stores[k], "after-failover-b-9")));
            assertTrue(appliers[k].eachAppliedOnce());
        }
        assertSameContent(content(stores[f1]), content(stores[f2]));
        lap("failover writes", t);
    }

    private static long lap(String what, long since) {
        long now = System.nanoTime();
        System.out.printf("%s: %d ms%n", what, (now - since) / 1_000_000);
        return now;
    }

    /**
     * A follower that was down while the leader snapshotted and purged its log catches up by snapshot
     * installation (Ratis streams the snapshot file; the follower restores it in reinitialize()). With a durable
     * store the leader's snapshot is a marker, replaced by a store image when Ratis asks for its files.
     */
    @ParameterizedTest(name = "durable={0}")
    @ValueSource(booleans = {false, true})
    void laggingFollowerCatchesUpBySnapshotInstallation(boolean durable) throws Exception {
        startAll(50, durable);
        int leader = awaitLeader(0, 1, 2);
        int lagging = (leader + 1) % 3;
        int other = (leader + 2) % 3;
        get(nodes[leader].propose(put("before", "stop")));
        await("applied on the lagging member", Duration.ofSeconds(10),
                () -> "stop".equals(value(stores[lagging], "before")));
        nodes[lagging].close();
        nodes[lagging] = null;

        Map<String, String> expected = new TreeMap<>(content(stores[leader]));
        List<CompletableFuture<byte[]>> fs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String k = String.format("k/%04d", i % 120);
            String v = "v" + i + "-" + "y".repeat(60);
            expected.put(k, v);
            fs.add(nodes[i % 2 == 0 ? leader : other].propose(put(k, v)));
        }
        for (CompletableFuture<byte[]> f : fs) {
            get(f);
        }
        long leaderApplied = stores[leader].appliedIndex().index();
        await("leader purged its log", Duration.ofSeconds(10),
                () -> nodes[leader].division().getRaftLog().getStartIndex() > 100);

        MvccStore restartedStore = durable ? stores[lagging] : memoryStore(); // a durable store survives restarts
        Recorder restartedApplier = new Recorder(restartedStore);
        stores[lagging] = restartedStore;
        appliers[lagging] = restartedApplier;
        nodes[lagging] = RaftNode.start(config(lagging, 50), restartedStore, restartedApplier);
        await("lagging member caught up", Duration.ofSeconds(30),
                () -> restartedStore.appliedIndex().index() >= leaderApplied);
        assertSameContent(expected, content(restartedStore));
        await("store replaced by an installed snapshot", Duration.ofSeconds(5),
                () -> restartedApplier.resets.get() >= 1);
        assertTrue(restartedApplier.applies() < 300, "caught up without replaying the purged log: "
                + restartedApplier.applies());
        assertTrue(restartedApplier.eachAppliedOnce());
        // and it keeps following
        get(nodes[lagging].propose(put("after", "install")));
        await("new write on the caught-up member", Duration.ofSeconds(10),
                () -> "install".equals(value(restartedStore, "after")));
    }
}
