package io.metastore.server.process;

import io.metastore.proto.etcdserverpb.StatusResponse;
import io.metastore.proto.mvccpb.KeyValue;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static io.metastore.server.process.FaultChecks.secondsSince;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member that was down while the others went through many snapshots catches up by snapshot installation. Three
 * members with {@code --snapshot-count=200}; a follower is stopped with SIGTERM; more than 5 x 200 entries (and more
 * than one 32 MiB Raft log segment, since Ratis purges only closed segments) are written; the leader's Raft log
 * must then start after the stopped member's last index, so when it restarts it can only catch up through an
 * installed snapshot, which its log must show. Afterwards HashKV at the common revision is equal on all three and
 * every acknowledged put (a sample checked per key on the restarted member, all compared across members) is there.
 */
class SnapshotCatchUpIT {
    private static final String PREFIX = "snap/";
    private static final int SNAPSHOT_COUNT = 200;
    /** Entries written while the member is down: > 5 x snapshot count, and > 32 MiB in all. */
    private static final int WRITES_WHILE_DOWN = 1400;
    private static final int VALUE_BYTES = 32 * 1024;
    private static final Pattern SEGMENT = Pattern.compile("log_(?:inprogress_)?(\\d+)(?:-(\\d+))?");
    private static final String INSTALL_LINE = "Installing snapshot.* received from the leader";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rocksdb", "memory"})
    @Timeout(value = 170, unit = TimeUnit.SECONDS)
    void memberDownForManySnapshotsCatchesUpByInstallingOne(String engine) throws Exception {
        try (ClusterProcesses c = ClusterProcesses.onLoopback("SnapshotCatchUpIT-" + engine, 3, engine,
                "--snapshot-count=" + SNAPSHOT_COUNT).startAll()) {
            int leader = c.awaitLeader(Duration.ofSeconds(20));
            int down = (leader + 1) % c.size();
            List<ClusterLoad.Ack> acks = new ArrayList<>();
            try (ClusterLoad before = new ClusterLoad(c, PREFIX + "before/", 2).start()) {
                assertTrue(before.awaitAcks(100, Duration.ofSeconds(30)), "slow load");
                before.stop();
                acks.addAll(before.acks);
            }
            c.awaitConverged(c.all(), Duration.ofSeconds(20));
            StatusResponse atStop = c.status(down);
            long downIndex = atStop.getRaftAppliedIndex();
            c.member(down).sigterm();
            assertEquals(0, c.member(down).awaitExit(Duration.ofSeconds(20)), "exit code after SIGTERM");

            // write while it is down, through the two others only
            long tWrites = System.nanoTime();
            try (ClusterLoad load = new ClusterLoad(c, PREFIX + "while-down/", 4, VALUE_BYTES)) {
                load.avoid.add(down);
                load.start();
                assertTrue(load.awaitAcks(WRITES_WHILE_DOWN, Duration.ofSeconds(90)), "slow load: " + load.acked()
                        + " acks; errors " + load.errorCounts());
                load.stop();
                assertTrue(load.abandoned.isEmpty(), "puts given up: " + load.abandoned);
                acks.addAll(load.acks);
                System.out.printf("[%s] %s stopped at applied index %d; %d puts of %d KiB written in %.1f s while it"
                                + " was down%n", engine, ClusterProcesses.name(down), downIndex, load.acked(),
                        VALUE_BYTES / 1024, secondsSince(tWrites));
            }

            // the leader's log no longer holds the entries the stopped member misses
            long leaderApplied = c.status(leader).getRaftAppliedIndex();
            Path groupDir = raftGroupDir(c.member(leader).dataDir());
            long firstIndex = awaitPurgedBeyond(groupDir.resolve("current"), downIndex + 1, Duration.ofSeconds(20));
            List<String> snapshots = list(groupDir.resolve("sm"));
            System.out.printf("[%s] leader %s: applied index %d, Raft log starts at %d, snapshots %s%n", engine,
                    ClusterProcesses.name(leader), leaderApplied, firstIndex, snapshots);

            // restart: it must catch up by an installed snapshot
            long tRestart = System.nanoTime();
            c.restart(down);
            double readyAfter = secondsSince(tRestart);
            long rev = c.awaitConverged(c.all(), Duration.ofSeconds(60));
            double caughtUpAfter = secondsSince(tRestart);
            Path log = c.member(down).currentLog();
            int installs = MemberProcess.count(log, INSTALL_LINE);
            System.out.printf("[%s] %s restarted: ready after %.2f s, converged at revision %d %.2f s after the"
                            + " restart; snapshot installations in its log: %d%n", engine, ClusterProcesses.name(down),
                    readyAfter, rev, caughtUpAfter, installs);
            assertTrue(installs >= 1, "the restarted member did not log a snapshot installation ('" + INSTALL_LINE
                    + "'); log tail:\n" + MemberProcess.tail(log, 30));
            if (engine.equals("rocksdb")) {
                // a durable store's snapshot is a marker; the leader makes an image of the store to ship it
                assertTrue(MemberProcess.count(c.member(leader).currentLog(), "Producing a store image") >= 1,
                        "the leader did not produce a store image to install");
            }

            FaultChecks.Converged r = FaultChecks.assertConvergedWithEveryAck(c, c.all(), PREFIX, acks,
                    Duration.ofSeconds(30));
            // and per key on the restarted member, for a sample
            Map<String, KeyValue> local = c.localKeys(down, PREFIX);
            List<ClusterLoad.Ack> sample = new ArrayList<>(acks);
            Collections.shuffle(sample);
            for (ClusterLoad.Ack a : sample.subList(0, 50)) {
                KeyValue kv = local.get(a.key());
                assertTrue(kv != null && kv.getValue().toStringUtf8().equals(a.value()),
                        a.key() + " on the restarted member: " + FaultChecks.brief(kv));
            }
            System.out.printf("[%s] all converged at revision %d, %d keys, HashKV %s on all%n", engine, r.revision(),
                    r.keys(), Integer.toUnsignedString((int) r.hash()));
        }
    }

    /** The member's Ratis group directory ({@code <data-dir>/member/raft/<group uuid>}). */
    static Path raftGroupDir(Path dataDir) throws IOException {
        Path raft = dataDir.resolve("member").resolve("raft");
        try (Stream<Path> s = Files.list(raft)) {
            List<Path> groups = s.filter(p -> p.getFileName().toString().matches("[0-9a-f-]{36}")).toList();
            assertEquals(1, groups.size(), "Raft group dirs under " + raft + ": " + groups);
            return groups.get(0);
        }
    }

    /** Waits until the first log segment starts after {@code index}; returns that start. */
    private static long awaitPurgedBeyond(Path current, long index, Duration bound) throws Exception {
        long end = System.nanoTime() + bound.toNanos();
        long first;
        do {
            first = Long.MAX_VALUE;
            for (String f : list(current)) {
                Matcher m = SEGMENT.matcher(f);
                if (m.matches()) {
                    first = Math.min(first, Long.parseLong(m.group(1)));
                }
            }
            if (first != Long.MAX_VALUE && first > index) {
                return first;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < end);
        throw new AssertionError("the leader's Raft log still starts at " + first + ", not after index " + index
                + ": " + list(current));
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
