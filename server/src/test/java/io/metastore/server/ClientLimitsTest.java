package io.metastore.server;

import com.google.protobuf.ByteString;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --max-watchers, --max-leases and --max-concurrent-streams on a real member, through plain gRPC. */
class ClientLimitsTest {

    private static WatchCreateRequest watchKey(String key) {
        return WatchCreateRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).build();
    }

    @Test
    void watchersBeyondTheLimitAreCanceledWithAReasonAndTheStreamGoesOn() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY,
                b -> b.limits = b.limits.withMaxWatchers(2));
             RawClient c = new RawClient(m.awaitLeader().member().clientPort());
             RawWatch w = new RawWatch(c.watch)) {
            w.create(watchKey("a"));
            WatchResponse first = w.next();
            w.create(watchKey("b"));
            WatchResponse second = w.next();
            assertTrue(first.getCreated() && second.getCreated() && !second.getCanceled());

            w.create(watchKey("c"));
            WatchResponse refused = w.next();
            assertTrue(refused.getCreated(), "etcd answers a failed create with created=true");
            assertTrue(refused.getCanceled());
            assertEquals("etcdserver: too many watchers", refused.getCancelReason());

            // the stream and its watchers carry on
            c.kv.put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("a"))
                    .setValue(ByteString.copyFromUtf8("1")).build());
            WatchResponse event = w.next();
            assertEquals(first.getWatchId(), event.getWatchId());
            assertEquals("a", event.getEvents(0).getKv().getKey().toStringUtf8());

            // a canceled watcher frees its place
            w.cancel(second.getWatchId());
            assertTrue(w.next().getCanceled());
            w.create(watchKey("c"));
            WatchResponse again = w.next();
            assertTrue(again.getCreated());
            assertFalse(again.getCanceled());
        }
    }

    @Test
    void leaseGrantBeyondTheLimitFailsUntilOneIsRevoked() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY,
                b -> b.limits = b.limits.withMaxLeases(2));
             RawClient c = new RawClient(m.awaitLeader().member().clientPort())) {
            LeaseGrantRequest grant = LeaseGrantRequest.newBuilder().setTTL(60).build();
            long first = c.lease.leaseGrant(grant).getID();
            c.lease.leaseGrant(grant);
            RawClient.assertEtcdError(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: too many leases",
                    () -> c.lease.leaseGrant(grant));
            c.lease.leaseRevoke(LeaseRevokeRequest.newBuilder().setID(first).build());
            assertTrue(c.lease.leaseGrant(grant).getID() != 0);
        }
    }

    @Test
    void maxConcurrentStreamsHoldsFurtherCallsOnTheSameConnection() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY,
                b -> b.limits = b.limits.withMaxConcurrentStreams(1));
             RawClient c = new RawClient(m.awaitLeader().member().clientPort());
             RawClient other = new RawClient(m.member().clientPort())) {
            RangeRequest range = RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")).build();
            c.kv.range(range); // the connection is up and allows one stream at a time
            try (RawWatch w = new RawWatch(c.watch)) {
                w.create(watchKey("k"));
                assertTrue(w.next().getCreated());
                // the open watch holds the connection's only stream: a second call waits for a free one
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> c.kv.withDeadline(Deadline.after(1, TimeUnit.SECONDS)).range(range));
                assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
                // another connection has its own allowance
                assertEquals(0, other.kv.range(range).getCount());
            }
        }
    }
}
