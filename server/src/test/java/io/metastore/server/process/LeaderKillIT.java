package io.metastore.server.process;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.process.FaultChecks.secondsSince;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three member processes under concurrent write load spread over every client port; the leader is killed with
 * SIGKILL mid-load. A new leader must be agreed on by both survivors within two election timeouts plus slack, the
 * survivors keep acknowledging writes, the killed member restarts on its data dir and takes writes again, and
 * once the load stops every acknowledged put is on all three members (serializable reads of each member's own
 * state) and HashKV at the common revision is equal on all three.
 */
class LeaderKillIT {
    private static final String PREFIX = "kill/";
    private static final int WRITERS = 4;
    /** Two election timeouts plus slack for a loaded 2-core machine. */
    static final Duration NEW_LEADER_BOUND = ClusterProcesses.ELECTION_TIMEOUT.multipliedBy(2).plusSeconds(3);

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rocksdb", "memory"})
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void killingTheLeaderUnderLoadLosesNoAcknowledgedWrite(String engine) throws Exception {
        try (ClusterProcesses c = ClusterProcesses.onLoopback("LeaderKillIT-" + engine, 3, engine).startAll()) {
            c.awaitLeader(Duration.ofSeconds(20));
            double electedAfter;
            double firstWriteAfter;
            int killed;
            try (ClusterLoad load = new ClusterLoad(c, PREFIX, WRITERS).start()) {
                assertTrue(load.awaitAcks(300, Duration.ofSeconds(30)), "load too slow before the kill: "
                        + load.acked() + " acks, errors " + load.errorCounts());
                killed = c.awaitLeader(Duration.ofSeconds(5));
                long termBefore = c.status(killed).getRaftTerm();
                c.member(killed).kill9();
                long tKill = System.nanoTime();
                int acksAtKill = load.acked();
                List<Integer> survivors = c.allBut(killed);
                // measured with a generous bound, then held to the tight one (so a slow election shows its time)
                int elected = c.awaitLeader(survivors, i -> true, Duration.ofSeconds(30));
                electedAfter = secondsSince(tKill);
                long termAfter = c.status(elected).getRaftTerm();
                long firstAck = awaitFirstAckAfter(load, tKill, Duration.ofSeconds(30));
                firstWriteAfter = (firstAck - tKill) / 1e9;
                System.out.printf("[%s] kill -9 of leader %s (term %d) with %d acks: %s leads (term %d) after %.2f s;"
                                + " first write acknowledged after the kill at %.2f s%n", engine,
                        ClusterProcesses.name(killed), termBefore, acksAtKill, ClusterProcesses.name(elected), termAfter,
                        electedAfter, firstWriteAfter);
                assertNotEquals(killed, elected);
                assertTrue(termAfter > termBefore, "term did not advance: " + termBefore + " -> " + termAfter);
                assertTrue(electedAfter <= NEW_LEADER_BOUND.toMillis() / 1000.0, String.format(
                        "new leader after %.2f s, bound %s", electedAfter, NEW_LEADER_BOUND));

                // the survivors keep taking writes
                int target = load.acked() + 300;
                assertTrue(load.awaitAcks(target, Duration.ofSeconds(30)), "writes stalled on the survivors: "
                        + load.acked() + "/" + target + ", errors " + load.errorCounts());

                // the killed member comes back on its data dir and takes writes again
                long tRestart = System.nanoTime();
                c.restart(killed);
                System.out.printf("[%s] %s restarted in %.2f s%n", engine, ClusterProcesses.name(killed),
                        secondsSince(tRestart));
                long tBack = System.nanoTime();
                int k = killed;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (load.acks.stream().noneMatch(a -> a.member() == k && a.nanos() > tBack)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(load.acks.stream().anyMatch(a -> a.member() == k && a.nanos() > tBack),
                        "no write acknowledged by the restarted member within 30 s; errors " + load.errorCounts());
                assertTrue(load.awaitAcks(load.acked() + 200, Duration.ofSeconds(30)), "load stalled after restart");
                load.stop();
                System.out.printf("[%s] %d puts acknowledged, %d abandoned; failed attempts: %s%n", engine,
                        load.acked(), load.abandoned.size(), load.errorCounts());
                assertTrue(load.abandoned.isEmpty(), "puts given up after " + ClusterLoad.MAX_ATTEMPTS
                        + " attempts: " + load.abandoned);

                long tConverge = System.nanoTime();
                FaultChecks.Converged r = FaultChecks.assertConvergedWithEveryAck(c, c.all(), PREFIX, load.acks,
                        Duration.ofSeconds(30));
                System.out.printf("[%s] all 3 members converged %.2f s after the load stopped: revision %d, HashKV %s,"
                                + " %d keys; %d acks needed a retry (%d of them applied twice), %d keys present"
                                + " without an ack%n", engine, secondsSince(tConverge), r.revision(),
                        Integer.toUnsignedString((int) r.hash()), r.keys(), r.retriedAcks(), r.appliedTwice(),
                        r.unackedPresent());
            }
        }
    }

    static long awaitFirstAckAfter(ClusterLoad load, long t, Duration bound) throws InterruptedException {
        long end = System.nanoTime() + bound.toNanos();
        while (System.nanoTime() < end) {
            long first = load.acks.stream().mapToLong(ClusterLoad.Ack::nanos).filter(n -> n > t).min().orElse(0);
            if (first != 0) {
                return first;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no write acknowledged within " + bound + " after the kill; errors "
                + load.errorCounts());
    }
}
