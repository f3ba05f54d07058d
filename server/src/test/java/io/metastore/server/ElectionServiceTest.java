package io.metastore.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.election.LeaderResponse;
import io.etcd.jetcd.election.NoLeaderException;
import io.etcd.jetcd.election.NotLeaderException;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.v3electionpb.ElectionGrpc;
import io.metastore.proto.v3electionpb.ProclaimRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's v3electionpb.Election service, driven by jetcd's Election client. */
class ElectionServiceTest {
    private static TestMember member;
    private static Client client;
    private static Election election;

    @BeforeAll
    static void start() throws InterruptedException {
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY);
        client = member.client();
        member.awaitLeader();
        election = client.getElectionClient();
    }

    @AfterAll
    static void stop() {
        member.close();
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    static long lease() throws Exception {
        return client.getLeaseClient().grant(30).get(5, TimeUnit.SECONDS).getID();
    }

    @Test
    void campaignProclaimObserveResignInOrder() throws Exception {
        ByteSequence name = bytes("jobs");
        BlockingQueue<String> observed = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> observeErrors = new LinkedBlockingQueue<>();
        election.observe(name, new Election.Listener() {
            @Override
            public void onNext(LeaderResponse r) {
                observed.add(text(r.getKv().getValue()));
            }

            @Override
            public void onError(Throwable t) {
                observeErrors.add(t);
            }

            @Override
            public void onCompleted() {
            }
        });

        long a = lease();
        long b = lease();
        CampaignResponse won = election.campaign(name, a, bytes("a1")).get(5, TimeUnit.SECONDS);
        LeaderKey leaderA = won.getLeader();
        assertEquals("jobs", text(leaderA.getName()));
        assertEquals("jobs/" + Long.toHexString(a), text(leaderA.getKey()));
        assertEquals(a, leaderA.getLease());
        assertTrue(leaderA.getRevision() > 0);
        assertEquals("a1", text(election.leader(name).get(5, TimeUnit.SECONDS).getKv().getValue()));

        CompletableFuture<CampaignResponse> candidateB = election.campaign(name, b, bytes("b1"));
        assertThrows(TimeoutException.class, () -> candidateB.get(500, TimeUnit.MILLISECONDS));

        election.proclaim(leaderA, bytes("a2")).get(5, TimeUnit.SECONDS);
        assertEquals("a2", text(election.leader(name).get(5, TimeUnit.SECONDS).getKv().getValue()));

        election.resign(leaderA).get(5, TimeUnit.SECONDS);
        LeaderKey leaderB = candidateB.get(5, TimeUnit.SECONDS).getLeader();
        assertTrue(leaderB.getRevision() > leaderA.getRevision(), "terms are ordered by create revision");
        assertEquals("b1", text(election.leader(name).get(5, TimeUnit.SECONDS).getKv().getValue()));

        // the deposed leader's key no longer names the current term
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> election.proclaim(leaderA, bytes("a3")).get(5, TimeUnit.SECONDS));
        assertInstanceOf(NotLeaderException.class, e.getCause());
        // resigning a term that is over is not an error, and leaves the current leader alone
        election.resign(leaderA).get(5, TimeUnit.SECONDS);
        assertEquals("b1", text(election.leader(name).get(5, TimeUnit.SECONDS).getKv().getValue()));

        for (String expected : List.of("a1", "a2", "b1")) {
            assertEquals(expected, observed.poll(5, TimeUnit.SECONDS));
        }
        election.resign(leaderB).get(5, TimeUnit.SECONDS);
        assertNull(observed.poll(300, TimeUnit.MILLISECONDS), "nothing to report while there is no leader");
        assertTrue(observeErrors.isEmpty(), observeErrors.toString());
    }

    @Test
    void leaderWithoutCandidatesIsNoLeader() {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> election.leader(bytes("nobody")).get(5, TimeUnit.SECONDS));
        assertInstanceOf(NoLeaderException.class, e.getCause());
    }

    @Test
    void errorsCarryEtcdsCodeAndText() throws Exception {
        ManagedChannel ch = ManagedChannelBuilder.forTarget(member.endpoint()).usePlaintext().build();
        try {
            var stub = ElectionGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS);
            StatusRuntimeException missing = assertThrows(StatusRuntimeException.class,
                    () -> stub.proclaim(ProclaimRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNKNOWN, missing.getStatus().getCode());
            assertEquals("\"leader\" field must be provided", missing.getStatus().getDescription());
            StatusRuntimeException noLeader = assertThrows(StatusRuntimeException.class, () -> stub.leader(
                    io.metastore.proto.v3electionpb.LeaderRequest.newBuilder()
                            .setName(com.google.protobuf.ByteString.copyFromUtf8("nobody-raw")).build()));
            assertEquals(Status.Code.UNKNOWN, noLeader.getStatus().getCode());
            assertEquals("election: no leader", noLeader.getStatus().getDescription());
            StatusRuntimeException notLeader = assertThrows(StatusRuntimeException.class, () -> stub.proclaim(
                    ProclaimRequest.newBuilder().setLeader(io.metastore.proto.v3electionpb.LeaderKey.newBuilder()
                            .setName(com.google.protobuf.ByteString.copyFromUtf8("raw"))
                            .setKey(com.google.protobuf.ByteString.copyFromUtf8("raw/1")).setRev(1).setLease(lease())).build()));
            assertEquals(Status.Code.UNKNOWN, notLeader.getStatus().getCode());
            assertEquals("election: not leader", notLeader.getStatus().getDescription());
        } finally {
            ch.shutdownNow();
        }
    }

    /** A campaign the client abandons withdraws its candidacy: it must not become leader later with nobody behind it. */
    @Test
    void anAbandonedCampaignWithdraws() throws Exception {
        ByteSequence name = bytes("abandon");
        LeaderKey leader = election.campaign(name, lease(), bytes("first")).get(5, TimeUnit.SECONDS).getLeader();
        ManagedChannel ch = ManagedChannelBuilder.forTarget(member.endpoint()).usePlaintext().build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ElectionGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(700, TimeUnit.MILLISECONDS)
                    .campaign(io.metastore.proto.v3electionpb.CampaignRequest.newBuilder()
                            .setName(com.google.protobuf.ByteString.copyFromUtf8("abandon")).setLease(lease())
                            .setValue(com.google.protobuf.ByteString.copyFromUtf8("second")).build()));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        } finally {
            ch.shutdownNow();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline && candidates("abandon") > 1) {
            Thread.sleep(50);
        }
        assertEquals(1, candidates("abandon"));
        election.resign(leader).get(5, TimeUnit.SECONDS);
        assertInstanceOf(NoLeaderException.class, assertThrows(ExecutionException.class,
                () -> election.leader(name).get(5, TimeUnit.SECONDS)).getCause());
    }

    private static long candidates(String name) throws Exception {
        return client.getKVClient().get(bytes(name + "/"), io.etcd.jetcd.options.GetOption.builder().isPrefix(true)
                .withCountOnly(true).build()).get(5, TimeUnit.SECONDS).getCount();
    }
}
