package io.metastore.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrantResponse;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveRequest;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveResponse;
import io.metastore.proto.etcdserverpb.LeaseLeasesRequest;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.RawClient.assertEtcdError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's Lease semantics (etcd-api.md §3.9). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeaseIntegrationTest {
    private TestMember member;
    private RawClient raw;

    @BeforeAll
    void start() {
        member = TestMember.start(ServerConfig.StorageEngine.ROCKSDB);
        raw = new RawClient(member.member().clientPort());
    }

    @AfterAll
    void stop() {
        raw.close();
        member.close();
    }

    static ByteString bs(String s) {
        return ByteString.copyFromUtf8(s);
    }

    @Test
    void grantAttachRevokeDeletesKeysInOneRevision() {
        LeaseGrantResponse g = raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build());
        assertTrue(g.getID() > 0);
        assertEquals(60, g.getTTL());
        raw.kv.put(PutRequest.newBuilder().setKey(bs("ls/a")).setLease(g.getID()).build());
        long before = raw.kv.put(PutRequest.newBuilder().setKey(bs("ls/b")).setLease(g.getID()).build()).getHeader().getRevision();
        LeaseTimeToLiveResponse ttl = raw.lease.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder()
                .setID(g.getID()).setKeys(true).build());
        assertEquals(60, ttl.getGrantedTTL());
        assertTrue(ttl.getTTL() > 55 && ttl.getTTL() <= 60);
        assertEquals(2, ttl.getKeysCount());
        assertTrue(raw.lease.leaseLeases(LeaseLeasesRequest.getDefaultInstance()).getLeasesList().stream()
                .anyMatch(l -> l.getID() == g.getID()));
        long after = raw.lease.leaseRevoke(LeaseRevokeRequest.newBuilder().setID(g.getID()).build()).getHeader().getRevision();
        assertEquals(before + 1, after, "all attached keys go in one revision");
        assertEquals(0, raw.kv.range(RangeRequest.newBuilder().setKey(bs("ls/")).setRangeEnd(bs("ls0")).build()).getCount());
    }

    @Test
    void unknownLeasesAnsweredAsEtcd() throws Exception {
        assertEquals(-1, raw.lease.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(424242).build()).getTTL());
        assertEtcdError(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                () -> raw.lease.leaseRevoke(LeaseRevokeRequest.newBuilder().setID(424242).build()));
        LinkedBlockingQueue<LeaseKeepAliveResponse> replies = new LinkedBlockingQueue<>();
        StreamObserver<LeaseKeepAliveRequest> ka = LeaseGrpc.newStub(raw.channel).leaseKeepAlive(new StreamObserver<>() {
            public void onNext(LeaseKeepAliveResponse r) { replies.add(r); }
            public void onError(Throwable t) { }
            public void onCompleted() { }
        });
        ka.onNext(LeaseKeepAliveRequest.newBuilder().setID(424242).build());
        LeaseKeepAliveResponse r = replies.poll(10, TimeUnit.SECONDS);
        assertNotNull(r);
        assertEquals(0, r.getTTL());
        ka.onCompleted();
        assertEtcdError(Status.Code.FAILED_PRECONDITION, "etcdserver: lease already exists", () -> {
            raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setID(777).setTTL(30).build());
            raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setID(777).setTTL(30).build());
        });
        assertEtcdError(Status.Code.OUT_OF_RANGE, "etcdserver: too large lease TTL",
                () -> raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(9_000_000_001L).build()));
        assertEquals(2, raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(1).build()).getTTL(),
                "TTL below the minimum is raised to ceil(1.5 x election timeout)");
    }

    @Test
    void expiredLeaseDeletesItsKeysAndKeepAliveKeepsOthers() throws Exception {
        long dying = raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(2).build()).getID();
        long kept = raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(2).build()).getID();
        raw.kv.put(PutRequest.newBuilder().setKey(bs("ex/dying")).setLease(dying).build());
        raw.kv.put(PutRequest.newBuilder().setKey(bs("ex/kept")).setLease(kept).build());
        LinkedBlockingQueue<LeaseKeepAliveResponse> replies = new LinkedBlockingQueue<>();
        StreamObserver<LeaseKeepAliveRequest> ka = LeaseGrpc.newStub(raw.channel).leaseKeepAlive(new StreamObserver<>() {
            public void onNext(LeaseKeepAliveResponse r) { replies.add(r); }
            public void onError(Throwable t) { }
            public void onCompleted() { }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        boolean gone = false;
        while (System.nanoTime() < deadline && !gone) {
            ka.onNext(LeaseKeepAliveRequest.newBuilder().setID(kept).build());
            LeaseKeepAliveResponse r = replies.poll(5, TimeUnit.SECONDS);
            assertNotNull(r);
            assertEquals(2, r.getTTL());
            Thread.sleep(400);
            gone = raw.kv.range(RangeRequest.newBuilder().setKey(bs("ex/dying")).build()).getCount() == 0;
        }
        ka.onCompleted();
        assertTrue(gone, "the abandoned lease expired and took its key with it");
        assertEquals(1, raw.kv.range(RangeRequest.newBuilder().setKey(bs("ex/kept")).build()).getCount());
        assertEquals(-1, raw.lease.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(dying).build()).getTTL());
    }

    /** Checkpoints (every 5 s) let a restart resume the remaining TTL instead of granting the full TTL again. */
    @Test
    void remainingTtlSurvivesRestart() throws Exception {
        long id = raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build()).getID();
        Thread.sleep(12_000);
        raw.close();
        member.restart();
        raw = new RawClient(member.member().clientPort());
        long ttl = raw.lease.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).build()).getTTL();
        assertTrue(ttl <= 55 && ttl > 30, "remaining TTL after restart was " + ttl);
    }

    @Test
    void leasesSurviveRestartWithTheirKeys() throws Exception {
        long id = raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(600).build()).getID();
        raw.kv.put(PutRequest.newBuilder().setKey(bs("rl/a")).setLease(id).build());
        raw.close();
        member.restart();
        raw = new RawClient(member.member().clientPort());
        LeaseTimeToLiveResponse ttl = raw.lease.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder()
                .setID(id).setKeys(true).build());
        assertEquals(600, ttl.getGrantedTTL());
        assertTrue(ttl.getTTL() > 500);
        assertEquals("rl/a", ttl.getKeys(0).toStringUtf8());
    }
}
