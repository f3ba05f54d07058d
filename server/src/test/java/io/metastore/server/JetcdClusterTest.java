package io.metastore.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.ClusterIntegrationTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jetcd's Cluster and Maintenance clients: add, update the peer URL of, and remove a member; move leadership. */
class JetcdClusterTest {

    private static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static Client client(TestCluster c, int... members) {
        String[] eps = new String[members.length];
        for (int i = 0; i < members.length; i++) {
            eps[i] = "http://127.0.0.1:" + c.port(members[i]);
        }
        return Client.builder().endpoints(eps).build();
    }

    @Test
    void addUpdateRemoveAndMoveLeader() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            await("a leader", () -> c.leader() >= 0);
            ClusterMembershipTest.awaitPublished(c);
            try (Client jetcd = client(c, 0, 1, 2)) {
                int firstPeer = TestMember.freePort();
                var added = jetcd.getClusterClient().addMember(List.of(URI.create("http://127.0.0.1:" + firstPeer)))
                        .get(30, TimeUnit.SECONDS);
                long id = added.getMember().getId();
                assertFalse(added.getMember().isLearner());

                // not started yet: its peer URL can still change, and it joins at the new one
                int peer = TestMember.freePort();
                URI url = URI.create("http://127.0.0.1:" + peer);
                var updated = jetcd.getClusterClient().updateMember(id, List.of(url)).get(30, TimeUnit.SECONDS);
                assertTrue(updated.getMembers().stream().anyMatch(m -> m.getId() == id
                        && m.getPeerURIs().equals(List.of(url))));
                int m4 = c.startJoining("m4", TestMember.freePort(), peer);
                List<Member> members = jetcd.getClusterClient().listMember().get(30, TimeUnit.SECONDS).getMembers();
                assertEquals(4, members.size());
                assertTrue(members.stream().anyMatch(m -> m.getId() == id && m.getName().equals("m4")
                        && m.getPeerURIs().equals(List.of(url))));
                try (Client viaM4 = client(c, m4)) {
                    viaM4.getKVClient().put(bs("via-m4"), bs("1")).get(30, TimeUnit.SECONDS);
                }
                // started: it moves when it restarts at the new URL (a new Raft peer replaces the old one)
                int movedPeer = TestMember.freePort();
                URI moved = URI.create("http://127.0.0.1:" + movedPeer);
                jetcd.getClusterClient().updateMember(id, List.of(moved)).get(30, TimeUnit.SECONDS);
                jetcd.getKVClient().put(bs("before-move"), bs("1")).get(30, TimeUnit.SECONDS);
                c.stop(m4);
                jetcd.getKVClient().put(bs("while-moving"), bs("1")).get(30, TimeUnit.SECONDS);
                c.restartWithPeerPort(m4, movedPeer);
                await("the group follows m4 to its new address", () -> {
                    int l = c.leader();
                    return l >= 0 && c.member(l).raft().membership().contains("m4@127.0.0.1_" + movedPeer)
                            && !c.member(l).raft().membership().contains("m4@127.0.0.1_" + peer);
                });
                try (Client viaM4 = client(c, m4)) {
                    viaM4.getKVClient().put(bs("after-move"), bs("1")).get(30, TimeUnit.SECONDS);
                    assertEquals(1, viaM4.getKVClient().get(bs("while-moving")).get(30, TimeUnit.SECONDS).getCount());
                }
                assertTrue(jetcd.getClusterClient().listMember().get(30, TimeUnit.SECONDS).getMembers().stream()
                        .anyMatch(m -> m.getId() == id && m.getPeerURIs().equals(List.of(moved))));

                var removed = jetcd.getClusterClient().removeMember(id).get(30, TimeUnit.SECONDS);
                assertEquals(3, removed.getMembers().size());
                c.stop(m4);

                int leader = c.leader();
                int target = (leader + 1) % 3;
                long targetId = c.member(target).server().memberId();
                try (Client atLeader = client(c, leader)) {
                    atLeader.getMaintenanceClient().moveLeader(targetId).get(30, TimeUnit.SECONDS);
                }
                assertEquals(target, c.leader());
                jetcd.getKVClient().put(bs("after"), bs("1")).get(30, TimeUnit.SECONDS);
            }
        }
    }
}
