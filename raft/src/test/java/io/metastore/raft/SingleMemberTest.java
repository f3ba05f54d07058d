package io.metastore.raft;

import io.metastore.storage.MvccStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.metastore.raft.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SingleMemberTest {

    RaftNode node;
    MvccStore store;
    Recorder applier;
    final List<String> leaderEvents = new ArrayList<>();
    long startMillis;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        store = memoryStore();
        applier = new Recorder(store);
        List<RaftPeerSpec> peers = peers(1);
        long t0 = System.nanoTime();
        node = RaftNode.start(config("m1", peers, dir)
                .leadershipListener((leader, term, local) -> {
                    synchronized (leaderEvents) {
                        leaderEvents.add(leader + "@" + term + (local ? "(local)" : ""));
                    }
                }).build(), store, applier);
        long started = System.nanoTime();
        await("leader", Duration.ofSeconds(20), node::isLeader);
        startMillis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("start() took %d ms (first Ratis use in this JVM), leader %d ms later%n",
                (started - t0) / 1_000_000, startMillis);
    }

    @AfterAll
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void becomesLeaderQuickly() {
        assertTrue(node.isLeader());
        assertEquals("m1", node.leaderName());
        assertEquals("m1", node.localName());
        assertTrue(node.currentTerm() >= 1);
        assertTrue(startMillis < 5_000, "leader " + startMillis + " ms after start() returned");
        await("leader event", Duration.ofSeconds(5), () -> {
            synchronized (leaderEvents) {
                return leaderEvents.stream().anyMatch(e -> e.startsWith("m1@") && e.endsWith("(local)"));
            }
        });
    }

    @Test
    void thousandProposalsAppliedInOrder() throws Exception {
        long rev0 = store.currentRevision();
        int before = applier.applies();
        List<CompletableFuture<byte[]>> futures = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            futures.add(node.propose(put("order/" + i, "v" + i)));
        }
        for (int i = 0; i < 1000; i++) {
            byte[] result = get(futures.get(i));
            assertEquals(rev0 + i + 1, asLong(result), "revision of proposal " + i);
        }
        assertEquals(before + 1000, applier.applies());
        for (int i = 0; i < 1000; i++) {
            assertEquals("v" + i, value(store, "order/" + i));
        }
        synchronized (applier.order) {
            List<Long> idx = applier.order;
            for (int i = 1; i < idx.size(); i++) {
                assertTrue(idx.get(i) > idx.get(i - 1), "apply order " + idx.get(i - 1) + " then " + idx.get(i));
            }
        }
        assertTrue(applier.eachAppliedOnce());
        assertEquals(1, applier.threads.size(), "one apply thread: " + applier.threads);
        assertTrue(node.commitIndex() >= store.appliedIndex().index());
        // Ratis also applies entries that carry no command (leader start-up, commit-index metadata entries)
        assertTrue(node.lastAppliedIndex() >= store.appliedIndex().index());
    }

    @Test
    void barrierSeesAcknowledgedWrites() throws Exception {
        for (int i = 0; i < 20; i++) {
            get(node.propose(put("lin", "" + i)));
            get(node.linearizableBarrier());
            assertEquals("" + i, value(store, "lin"));
        }
    }

    @Test
    void concurrentBarriersCoalesce() throws Exception {
        long queries0 = node.stateMachine().readRounds();
        long rounds0 = node.readRoundsStarted();
        int threads = 8;
        int perThread = 50;
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> all = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    all.add(node.linearizableBarrier());
                }
            });
            th.start();
            ts.add(th);
        }
        go.countDown();
        for (Thread th : ts) {
            th.join();
        }
        CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
        long queries = node.stateMachine().readRounds() - queries0;
        long rounds = node.readRoundsStarted() - rounds0;
        int callers = threads * perThread;
        System.out.printf("barriers: %d callers -> %d ReadIndex rounds, %d state machine queries%n",
                callers, rounds, queries);
        assertEquals(rounds, queries);
        assertTrue(queries >= 1 && queries < callers, queries + " rounds for " + callers + " callers");
    }

    @Test
    void oversizedProposalIsRejectedWithoutTouchingRatis() throws Exception {
        int max = node.config().maxRequestBytes();
        assertEquals(2 * 1024 * 1024, max);
        // the commit index is no witness here: Ratis appends its own metadata entries (the commit index, lazily)
        // whenever it likes, and one landing meanwhile moved it in a CI run; the state machine's applies are ours
        int applies = applier.applies();
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> node.propose(new byte[max + 1]).get(5, TimeUnit.SECONDS));
        assertEquals(RaftException.Kind.TOO_LARGE, ((RaftException) e.getCause()).kind());
        assertEquals(applies, applier.applies());

        // exactly max bytes fits the Ratis buffers (appender, log write buffer, gRPC)
        byte[] big = new byte[max];
        byte[] prefix = "big=".getBytes();
        System.arraycopy(prefix, 0, big, 0, prefix.length);
        java.util.Arrays.fill(big, prefix.length, big.length, (byte) 'x');
        get(node.propose(big));
        assertEquals(max - prefix.length, value(store, "big").length());
    }

    @Test
    void applierFailureIsReportedAsInternal() throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> node.propose("boom".getBytes()).get(10, TimeUnit.SECONDS));
        RaftException re = (RaftException) e.getCause();
        assertEquals(RaftException.Kind.INTERNAL, re.kind());
        assertTrue(re.getMessage().contains("boom"), re.getMessage());
        get(node.propose(put("after-boom", "ok"))); // the node keeps going
        assertEquals("ok", value(store, "after-boom"));
    }
}
