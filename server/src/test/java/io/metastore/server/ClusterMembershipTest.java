package io.metastore.server;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.Member;
import io.metastore.proto.etcdserverpb.MemberAddRequest;
import io.metastore.proto.etcdserverpb.MemberAddResponse;
import io.metastore.proto.etcdserverpb.MemberListRequest;
import io.metastore.proto.etcdserverpb.MemberPromoteRequest;
import io.metastore.proto.etcdserverpb.MemberRemoveRequest;
import io.metastore.proto.etcdserverpb.MemberUpdateRequest;
import io.metastore.proto.etcdserverpb.MoveLeaderRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.StatusRequest;
import io.metastore.proto.etcdserverpb.StatusResponse;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.metastore.server.ClusterIntegrationTest.await;
import static io.metastore.server.ClusterIntegrationTest.bs;
import static io.metastore.server.RawClient.assertEtcdError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's Cluster API and MoveLeader on in-process members: grow, promote, shrink, move leadership. */
public class ClusterMembershipTest {

    private static List<Member> members(RawClient c) {
        return c.cluster.memberList(MemberListRequest.newBuilder().setLinearizable(true).build()).getMembersList();
    }

    /** etcd counts only members that have published (have a name) as started. */
    public static void awaitPublished(TestCluster c) throws InterruptedException {
        for (int i = 0; i < c.size(); i++) {
            MetaStore m = c.member(i);
            await("every member published", () -> m.server().membership().members().stream()
                    .allMatch(io.metastore.server.cluster.Membership.Member::started));
        }
    }

    private static Member named(RawClient c, String name) {
        return members(c).stream().filter(m -> m.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void learnerIsAddedJoinsIsPromotedAndRemoved() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            await("a leader", () -> c.leader() >= 0);
            awaitPublished(c);
            int follower = (c.leader() + 1) % 3;
            try (RawClient f = new RawClient(c.port(follower))) {
                f.kv.put(PutRequest.newBuilder().setKey(bs("before")).setValue(bs("1")).build());
                int peer = TestMember.freePort();
                int client = TestMember.freePort();
                String peerUrl = "http://127.0.0.1:" + peer;

                MemberAddResponse added = f.cluster.memberAdd(MemberAddRequest.newBuilder()
                        .addPeerURLs(peerUrl).setIsLearner(true).build());
                assertTrue(added.getMember().getIsLearner());
                assertEquals("", added.getMember().getName());
                assertNotEquals(0, added.getMember().getID());
                assertEquals(4, added.getMembersCount());
                assertEquals(added.getHeader().getClusterId(), f.cluster.memberList(MemberListRequest.getDefaultInstance())
                        .getHeader().getClusterId());
                // unstarted: listed with its peer URL and no name
                assertTrue(members(f).stream().anyMatch(m -> m.getID() == added.getMember().getID()
                        && m.getName().isEmpty() && m.getPeerURLsList().equals(List.of(peerUrl))));

                String spare = "http://127.0.0.1:" + TestMember.freePort();
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster",
                        () -> f.cluster.memberAdd(MemberAddRequest.newBuilder()
                                .addPeerURLs(spare).setIsLearner(true).build()));
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists",
                        () -> f.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs(peerUrl).build()));
                assertEtcdError(Status.Code.FAILED_PRECONDITION,
                        "etcdserver: can only promote a learner member which is in sync with leader",
                        () -> f.cluster.memberPromote(MemberPromoteRequest.newBuilder()
                                .setID(added.getMember().getID()).build()));

                int m4 = c.startJoining("m4", client, peer);
                try (RawClient learner = new RawClient(c.port(m4))) {
                    Member joined = named(f, "m4");
                    assertEquals(added.getMember().getID(), joined.getID());
                    assertTrue(joined.getIsLearner());
                    assertEquals(List.of("http://127.0.0.1:" + client), joined.getClientURLsList());

                    StatusResponse st = learner.maintenance.status(StatusRequest.getDefaultInstance());
                    assertTrue(st.getIsLearner());
                    assertEquals(added.getMember().getID(), st.getHeader().getMemberId());
                    assertEquals(added.getHeader().getClusterId(), st.getHeader().getClusterId());
                    assertEquals(1, learner.kv.range(RangeRequest.newBuilder().setKey(bs("before"))
                            .setSerializable(true).build()).getCount(), "the learner has the data");
                    assertTrue(learner.maintenance.snapshot(io.metastore.proto.etcdserverpb.SnapshotRequest
                            .getDefaultInstance()).hasNext(), "a learner streams snapshots (etcd 3.6)");
                    assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: rpc not supported for learner",
                            () -> learner.kv.range(RangeRequest.newBuilder().setKey(bs("before")).build()));
                    assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: rpc not supported for learner",
                            () -> learner.kv.put(PutRequest.newBuilder().setKey(bs("x")).build()));

                    String elsewhere = "http://127.0.0.1:" + TestMember.freePort();
                    assertEtcdError(Status.Code.UNIMPLEMENTED,
                            "metastore: a started learner cannot move to another peer host:port; promote or remove it first",
                            () -> f.cluster.memberUpdate(MemberUpdateRequest.newBuilder().setID(joined.getID())
                                    .addPeerURLs(elsewhere).build()));

                    // promoted through a follower: forwarded to the leader, which knows the learner is in sync
                    await("the learner in sync", () -> {
                        try {
                            f.cluster.memberPromote(MemberPromoteRequest.newBuilder().setID(joined.getID()).build());
                            return true;
                        } catch (StatusRuntimeException e) {
                            assertTrue(e.getStatus().getDescription().contains("in sync"), e.toString());
                            return false;
                        }
                    });
                    assertFalse(named(f, "m4").getIsLearner());
                    await("m4 votes", () -> !c.member(m4).server().isLearner());
                    learner.kv.put(PutRequest.newBuilder().setKey(bs("via-m4")).setValue(bs("v")).build());
                    assertEquals(1, learner.kv.range(RangeRequest.newBuilder().setKey(bs("via-m4")).build()).getCount());
                    assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member",
                            () -> f.cluster.memberPromote(MemberPromoteRequest.newBuilder().setID(joined.getID()).build()));

                    var removed = f.cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(joined.getID()).build());
                    assertEquals(3, removed.getMembersCount());
                    await("m4 learns it was removed", () -> c.member(m4).removedFromCluster().isDone());
                    assertEtcdError(Status.Code.NOT_FOUND, "etcdserver: member not found",
                            () -> f.cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(joined.getID()).build()));
                    f.kv.put(PutRequest.newBuilder().setKey(bs("after")).setValue(bs("1")).build());
                }
            }
        }
    }

    @Test
    void votingMemberJoinsAndTheLeaderCanBeRemoved() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.ROCKSDB)) {
            await("a leader", () -> c.leader() >= 0);
            awaitPublished(c);
            try (RawClient any = new RawClient(c.port(0))) {
                int peer = TestMember.freePort();
                int client = TestMember.freePort();
                MemberAddResponse added = any.cluster.memberAdd(MemberAddRequest.newBuilder()
                        .addPeerURLs("http://127.0.0.1:" + peer).build());
                assertFalse(added.getMember().getIsLearner());
                // a second voter while one is unstarted: 3 started of 5 is still a quorum, so etcd allows it too
                int m4 = c.startJoining("m4", client, peer);
                await("m4 votes", () -> c.member(m4).server().membership().byRaftName("m4") != null
                        && c.member(c.leader() < 0 ? 0 : c.leader()).server().members() != null
                        && !c.member(m4).server().isLearner());
                try (RawClient newcomer = new RawClient(c.port(m4))) {
                    newcomer.kv.put(PutRequest.newBuilder().setKey(bs("k")).setValue(bs("v")).build());
                    int leader = c.leader();
                    long leaderId = c.member(leader).server().memberId();
                    var resp = newcomer.cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(leaderId).build());
                    assertEquals(3, resp.getMembersCount());
                    await("the removed leader stops", () -> c.member(leader).removedFromCluster().isDone());
                    c.stop(leader);
                    await("a new leader", () -> c.leader() >= 0);
                    assertEquals(1, newcomer.kv.range(RangeRequest.newBuilder().setKey(bs("k")).build()).getCount());
                    newcomer.kv.put(PutRequest.newBuilder().setKey(bs("k2")).setValue(bs("v")).build());
                    assertEquals(3, members(newcomer).size());
                }
            }
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(ServerConfig.StorageEngine.class)
    void aMemberAddedAfterTheLogWasPurgedCatchesUpBySnapshot(ServerConfig.StorageEngine engine) throws Exception {
        try (TestCluster c = TestCluster.start(3, engine, b -> b.snapshotCount(50))) {
            await("a leader", () -> c.leader() >= 0);
            awaitPublished(c);
            try (RawClient r = new RawClient(c.port(0))) {
                // log segments of 4 MiB here (they must hold a largest request): 8 KiB values fill one, which the
                // snapshots then let Ratis purge
                String value = "v".repeat(8192);
                for (int i = 0; i < 600; i++) {
                    r.kv.put(PutRequest.newBuilder().setKey(bs("purge/" + i)).setValue(bs(value)).build());
                }
                int leader = c.leader();
                await("the leader's log purged", () -> c.member(leader).raft().firstLogIndex() > 1);
                int peer = TestMember.freePort();
                r.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs("http://127.0.0.1:" + peer).build());
                int m4 = c.startJoining("m4", TestMember.freePort(), peer);
                assertTrue(c.member(m4).raft().snapshotInstalls() >= 1, "caught up by snapshot install");
                try (RawClient newcomer = new RawClient(c.port(m4))) {
                    assertEquals(600, newcomer.kv.range(RangeRequest.newBuilder().setKey(bs("purge/"))
                            .setRangeEnd(bs("purge0")).setSerializable(true).setCountOnly(true).build()).getCount());
                    long rev = r.kv.range(RangeRequest.newBuilder().setKey(bs("purge/0")).build()).getHeader().getRevision();
                    var req = io.metastore.proto.etcdserverpb.HashKVRequest.newBuilder().setRevision(rev).build();
                    await("m4 applied up to " + rev, () -> newcomer.kv.range(RangeRequest.newBuilder()
                            .setKey(bs("purge/0")).setSerializable(true).build()).getHeader().getRevision() >= rev);
                    assertEquals(r.maintenance.hashKV(req).getHash(), newcomer.maintenance.hashKV(req).getHash());
                }
            }
        }
    }

    @Test
    void membershipErrorsMatchEtcd() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            await("a leader", () -> c.leader() >= 0);
            awaitPublished(c);
            try (RawClient r = new RawClient(c.port(0))) {
                long voter = members(r).get(0).getID();
                assertEtcdError(Status.Code.NOT_FOUND, "etcdserver: member not found",
                        () -> r.cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(42).build()));
                assertEtcdError(Status.Code.NOT_FOUND, "etcdserver: member not found",
                        () -> r.cluster.memberUpdate(MemberUpdateRequest.newBuilder().setID(42)
                                .addPeerURLs("http://127.0.0.1:1").build()));
                assertEtcdError(Status.Code.NOT_FOUND, "etcdserver: member not found",
                        () -> r.cluster.memberPromote(MemberPromoteRequest.newBuilder().setID(42).build()));
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member",
                        () -> r.cluster.memberPromote(MemberPromoteRequest.newBuilder().setID(voter).build()));
                assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid",
                        () -> r.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs("not a url").build()));
                assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid",
                        () -> r.cluster.memberAdd(MemberAddRequest.getDefaultInstance()));
                String taken = members(r).get(1).getPeerURLs(0);
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists",
                        () -> r.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs(taken).build()));
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists",
                        () -> r.cluster.memberUpdate(MemberUpdateRequest.newBuilder().setID(voter)
                                .addPeerURLs(taken).build()));
                // two unstarted voters in a cluster of three started: 3 of 5 is a quorum, 3 of 6 is not
                r.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs("http://127.0.0.1:" + TestMember.freePort()).build());
                r.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs("http://127.0.0.1:" + TestMember.freePort()).build());
                String third = "http://127.0.0.1:" + TestMember.freePort();
                assertEtcdError(Status.Code.FAILED_PRECONDITION,
                        "etcdserver: re-configuration failed due to not enough started members",
                        () -> r.cluster.memberAdd(MemberAddRequest.newBuilder().addPeerURLs(third).build()));
                // removing an unstarted member needs no Raft change
                for (Member m : members(r)) {
                    if (m.getName().isEmpty()) {
                        r.cluster.memberRemove(MemberRemoveRequest.newBuilder().setID(m.getID()).build());
                    }
                }
                assertEquals(3, members(r).size());
            }
        }
    }

    @Test
    void moveLeaderAndLeaderRequiringCalls() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY)) {
            await("a leader", () -> c.leader() >= 0);
            awaitPublished(c);
            int leader = c.leader();
            int follower = (leader + 1) % 3;
            long followerId = c.member(follower).server().memberId();
            try (RawClient l = new RawClient(c.port(leader)); RawClient f = new RawClient(c.port(follower))) {
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: not leader",
                        () -> f.maintenance.moveLeader(MoveLeaderRequest.newBuilder().setTargetID(followerId).build()));
                assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: bad leader transferee",
                        () -> l.maintenance.moveLeader(MoveLeaderRequest.newBuilder().setTargetID(42).build()));
                l.maintenance.moveLeader(MoveLeaderRequest.newBuilder().setTargetID(followerId).build());
                assertEquals(follower, c.leader());
                StatusResponse st = l.maintenance.status(StatusRequest.getDefaultInstance());
                assertEquals(followerId, st.getLeader());

                // hasleader: answered normally while there is a leader
                Metadata md = new Metadata();
                md.put(Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER), "true");
                KVGrpc.KVBlockingStub needsLeader = f.kv.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
                needsLeader.put(PutRequest.newBuilder().setKey(bs("hl")).setValue(bs("v")).build());

                try (RawWatch w = new RawWatch(io.metastore.proto.etcdserverpb.WatchGrpc.newStub(f.channel)
                        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md)))) {
                    w.create(WatchCreateRequest.newBuilder().setKey(bs("hl")).build());
                    assertTrue(w.next().getCreated());
                    // lose the quorum: the follower has no leader any more
                    c.stop((follower + 1) % 3);
                    c.stop((follower + 2) % 3);
                    await("no leader", () -> c.member(follower).server().leaderName() == null);
                    assertEtcdError(Status.Code.UNAVAILABLE, "etcdserver: no leader",
                            () -> needsLeader.put(PutRequest.newBuilder().setKey(bs("hl")).build()));
                    // without hasleader: etcd's errors within a bound (request timeout 7 s), never a hang
                    for (Runnable call : List.<Runnable>of(
                            () -> f.kv.put(PutRequest.newBuilder().setKey(bs("hl")).build()),
                            () -> f.kv.range(RangeRequest.newBuilder().setKey(bs("hl")).build()))) {
                        long t0 = System.nanoTime();
                        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(
                                StatusRuntimeException.class, call::run);
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
                        assertTrue(List.of("etcdserver: request timed out", "etcdserver: no leader")
                                .contains(e.getStatus().getDescription()), e.toString());
                        assertTrue(ms < 9_000, "answered in " + ms + " ms");
                    }
                    assertEquals(1, f.kv.range(RangeRequest.newBuilder().setKey(bs("hl")).setSerializable(true).build())
                            .getCount(), "serializable reads are served locally");
                    // etcd ends such streams after three election timeouts without a leader
                    await("the watch stream ended", () -> w.error != null);
                    Status ended = Status.fromThrowable(w.error);
                    assertEquals(Status.Code.UNAVAILABLE, ended.getCode());
                    assertEquals("etcdserver: no leader", ended.getDescription());
                }
            }
        }
    }
}
