package io.metastore.raft;

import io.metastore.storage.MvccStore;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static io.metastore.raft.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class RaftConfigTest {

    @TempDir
    Path dir;

    private static RaftConfig.Builder base(Path dir) {
        return RaftConfig.builder().localName("a")
                .peers(List.of(new RaftPeerSpec("a", "127.0.0.1", 1), new RaftPeerSpec("b", "127.0.0.1", 2)))
                .storageDir(dir).clusterToken("tok");
    }

    @Test
    void defaultsAndValidation() {
        RaftConfig c = base(dir).build();
        assertEquals(Duration.ofMillis(100), c.heartbeatInterval());
        assertEquals(Duration.ofMillis(1000), c.electionTimeout());
        assertEquals(10_000, c.snapshotCount());
        assertEquals(1536 * 1024 + 512 * 1024, c.maxRequestBytes());
        assertNull(c.leadershipListener());
        assertEquals(Duration.ofSeconds(7), c.requestTimeout());
        assertEquals("a", c.localPeer().name());
        assertThrows(IllegalArgumentException.class, () -> base(dir).localName("z").build());
        assertThrows(IllegalArgumentException.class, () -> base(dir)
                .peers(List.of(new RaftPeerSpec("a", "h", 1), new RaftPeerSpec("a", "h", 2))).build());
        assertThrows(IllegalArgumentException.class, () -> base(dir).clusterToken("").build());
        assertThrows(IllegalArgumentException.class, () -> base(dir).snapshotCount(0).build());
        assertThrows(IllegalArgumentException.class,
                () -> base(dir).heartbeatInterval(Duration.ofSeconds(2)).build());
        assertThrows(NullPointerException.class, () -> base(dir).storageDir(null).build());
        assertEquals("[::1]:7", new RaftPeerSpec("x", "::1", 7).address());
    }

    @Test
    void everyMemberDerivesTheSameGroupId() {
        assertEquals(RaftNode.groupUuid("tok"), RaftNode.groupUuid("tok"));
        assertNotEquals(RaftNode.groupUuid("tok"), RaftNode.groupUuid("tok2"));
        assertEquals(UUID.nameUUIDFromBytes("tok".getBytes()), RaftNode.groupUuid("tok"));
    }

    @Test
    void ratisPropertiesFollowTheConfig() {
        RaftProperties p = RaftNode.ratisProperties(base(dir).electionTimeout(Duration.ofMillis(800))
                .maxRequestBytes(10 * 1024 * 1024).snapshotCount(123).build());
        assertEquals(800, RaftServerConfigKeys.Rpc.timeoutMin(p).toLong(java.util.concurrent.TimeUnit.MILLISECONDS));
        assertEquals(1600, RaftServerConfigKeys.Rpc.timeoutMax(p).toLong(java.util.concurrent.TimeUnit.MILLISECONDS));
        assertTrue(RaftServerConfigKeys.LeaderElection.preVote(p));
        assertEquals(RaftServerConfigKeys.Read.Option.LINEARIZABLE, RaftServerConfigKeys.Read.option(p));
        assertTrue(RaftServerConfigKeys.Log.purgeUptoSnapshotIndex(p));
        assertTrue(RaftServerConfigKeys.Snapshot.autoTriggerEnabled(p));
        assertEquals(123, RaftServerConfigKeys.Snapshot.autoTriggerThreshold(p));
        long appender = RaftServerConfigKeys.Log.Appender.bufferByteLimit(p).getSize();
        assertTrue(appender >= 10 * 1024 * 1024 + 1024, "an entry of maxRequestBytes fits: " + appender);
        assertTrue(RaftServerConfigKeys.Log.writeBufferSize(p).getSize() >= appender + 8);
        assertTrue(GrpcConfigKeys.messageSizeMax(p, s -> {}).getSize() >= appender + 1024 * 1024);
        // segments follow the snapshot interval (~1 KiB per entry, at least 1 MiB) but always hold the largest entry
        assertTrue(RaftServerConfigKeys.Log.segmentSizeMax(p).getSize() >= appender, "segment holds an entry");
        RaftProperties big = RaftNode.ratisProperties(base(dir).snapshotCount(1_000_000).build());
        assertEquals(32L * 1024 * 1024, RaftServerConfigKeys.Log.segmentSizeMax(big).getSize());
        assertEquals(1, GrpcConfigKeys.Server.port(p));
        assertEquals("127.0.0.1", GrpcConfigKeys.Server.host(p));
    }

    @Test
    void refusesAStorageDirOfAnotherGroup() throws IOException {
        Files.createDirectories(dir.resolve("m1").resolve(RaftNode.groupUuid("some-other-cluster").toString()));
        MvccStore store = memoryStore();
        IOException e = assertThrows(IOException.class,
                () -> RaftNode.start(config("m1", peers(1), dir).build(), store, new Recorder(store)));
        assertTrue(e.getMessage().contains("another Raft group"), e.getMessage());
    }
}
