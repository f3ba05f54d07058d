package io.metastore.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lock.LockResponse;
import io.etcd.jetcd.options.GetOption;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.v3lockpb.LockGrpc;
import io.metastore.proto.v3lockpb.LockRequest;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's v3lockpb.Lock service, driven by jetcd's Lock client (and raw stubs where jetcd cannot cancel). */
class LockServiceTest {
    private static TestMember member;
    private static Client client;

    @BeforeAll
    static void start() throws InterruptedException {
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY);
        client = member.client();
        member.awaitLeader();
    }

    @AfterAll
    static void stop() {
        member.close();
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static long lease(long ttl) throws Exception {
        return client.getLeaseClient().grant(ttl).get(5, TimeUnit.SECONDS).getID();
    }

    static List<KeyValue> keysUnder(String prefix) throws Exception {
        return client.getKVClient().get(bytes(prefix + "/"), GetOption.builder().isPrefix(true).build())
                .get(5, TimeUnit.SECONDS).getKvs();
    }

    @Test
    void lockReturnsTheLeaseKeyAndUnlockDeletesIt() throws Exception {
        long lease = lease(30);
        LockResponse held = client.getLockClient().lock(bytes("basic"), lease).get(5, TimeUnit.SECONDS);
        assertEquals("basic/" + Long.toHexString(lease), held.getKey().toString(StandardCharsets.UTF_8));
        List<KeyValue> kvs = keysUnder("basic");
        assertEquals(1, kvs.size());
        assertEquals(lease, kvs.get(0).getLease(), "the lock key is on the caller's lease");
        assertTrue(held.getHeader().getRevision() >= kvs.get(0).getCreateRevision());

        // same lease again: etcd's re-entrancy, the same key
        assertEquals(held.getKey(), client.getLockClient().lock(bytes("basic"), lease).get(5, TimeUnit.SECONDS).getKey());

        client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
        assertTrue(keysUnder("basic").isEmpty());
        // an absent key is fine, as in etcd (Unlock is a plain delete)
        client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
        // the lease was neither revoked nor renewed by the service
        long ttl = client.getLeaseClient().timeToLive(lease, io.etcd.jetcd.options.LeaseOption.DEFAULT)
                .get(5, TimeUnit.SECONDS).getTTL();
        assertTrue(ttl > 0 && ttl <= 30, "ttl " + ttl);
    }

    @Test
    void aSecondLockerWaitsForTheUnlock() throws Exception {
        long a = lease(30);
        long b = lease(30);
        LockResponse first = client.getLockClient().lock(bytes("queue"), a).get(5, TimeUnit.SECONDS);
        CompletableFuture<LockResponse> second = client.getLockClient().lock(bytes("queue"), b);
        assertThrows(TimeoutException.class, () -> second.get(700, TimeUnit.MILLISECONDS));
        client.getLockClient().unlock(first.getKey()).get(5, TimeUnit.SECONDS);
        LockResponse got = second.get(5, TimeUnit.SECONDS);
        assertEquals("queue/" + Long.toHexString(b), got.getKey().toString(StandardCharsets.UTF_8));
        client.getLockClient().unlock(got.getKey()).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aRevokedLeaseIsRefusedAsInEtcd() throws Exception {
        long lease = lease(30);
        client.getLeaseClient().revoke(lease).get(5, TimeUnit.SECONDS);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> client.getLockClient().lock(bytes("revoked"), lease).get(5, TimeUnit.SECONDS));
        // jetcd's Lock client hands on the gRPC status: etcd's NOT_FOUND from the Put under the lease
        Status status = Status.fromThrowable(e.getCause());
        assertEquals(Status.Code.NOT_FOUND, status.getCode());
        assertEquals("etcdserver: requested lease not found", status.getDescription());
        assertTrue(keysUnder("revoked").isEmpty());
    }

    /** Jepsen's etcd 3.4 finding: a waiter whose lease expired while it waited must not be told it holds the lock. */
    @Test
    void aWaiterWhoseLeaseExpiredIsNotGrantedTheLock() throws Exception {
        long holder = lease(30);
        long shortLived = lease(2); // nobody keeps it alive
        LockResponse held = client.getLockClient().lock(bytes("expiring"), holder).get(5, TimeUnit.SECONDS);
        CompletableFuture<LockResponse> waiter = client.getLockClient().lock(bytes("expiring"), shortLived);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (keysUnder("expiring").size() != 2 && System.nanoTime() < deadline) {
            Thread.sleep(20); // the waiter queues (its call is asynchronous)
        }
        assertEquals(2, keysUnder("expiring").size());
        while (keysUnder("expiring").size() != 1 && System.nanoTime() < deadline) {
            Thread.sleep(100); // the waiter's key goes with its lease
        }
        assertEquals(1, keysUnder("expiring").size());
        client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
        ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("mutex: session is expired"), e.getCause().getMessage());
        assertTrue(keysUnder("expiring").isEmpty());
    }

    @Test
    void lease0GetsAFreshLeaseAsInEtcd() throws Exception {
        LockResponse held = client.getLockClient().lock(bytes("nolease"), 0).get(5, TimeUnit.SECONDS);
        KeyValue kv = keysUnder("nolease").get(0);
        assertNotEquals(0, kv.getLease());
        assertEquals("nolease/" + Long.toHexString(kv.getLease()), held.getKey().toString(StandardCharsets.UTF_8));
        client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
        client.getLeaseClient().revoke(kv.getLease()).get(5, TimeUnit.SECONDS);
    }

    /** A client that gives up waiting (cancel or deadline) leaves no key that would block those behind it. */
    @Test
    void aCancelledWaitLeavesNoKey() throws Exception {
        long holder = lease(30);
        LockResponse held = client.getLockClient().lock(bytes("cancel"), holder).get(5, TimeUnit.SECONDS);
        ManagedChannel ch = ManagedChannelBuilder.forTarget(member.endpoint()).usePlaintext().build();
        try {
            long w1 = lease(30);
            long w2 = lease(30);
            ListenableFuture<io.metastore.proto.v3lockpb.LockResponse> cancelled = LockGrpc.newFutureStub(ch)
                    .lock(request("cancel", w1));
            StatusRuntimeException timedOut = assertThrows(StatusRuntimeException.class, () ->
                    LockGrpc.newBlockingStub(ch).withDeadlineAfter(800, TimeUnit.MILLISECONDS).lock(request("cancel", w2)));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, timedOut.getStatus().getCode());
            // the server learns of the deadline on its own and withdraws w2's key shortly after
            assertEquals(2, awaitKeyCount("cancel", 2), "holder and the still-waiting w1");
            cancelled.cancel(true);
            assertEquals(1, awaitKeyCount("cancel", 1));
            List<KeyValue> left = keysUnder("cancel");
            assertEquals(1, left.size());
            assertEquals(held.getKey(), left.get(0).getKey());
        } finally {
            ch.shutdownNow();
        }
        client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
        assertTrue(keysUnder("cancel").isEmpty());
    }

    @Test
    void locksExcludeEachOther() throws Exception {
        int threads = 4;
        int rounds = 8;
        ByteSequence counter = bytes("mutex-counter");
        client.getKVClient().put(counter, bytes("0")).get(5, TimeUnit.SECONDS);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long lease = lease(30);
                workers.add(pool.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        LockResponse held = client.getLockClient().lock(bytes("mutex"), lease).get(20, TimeUnit.SECONDS);
                        // an unguarded read-modify-write: only the lock keeps increments from being lost
                        long n = Long.parseLong(client.getKVClient().get(counter).get(5, TimeUnit.SECONDS)
                                .getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
                        client.getKVClient().put(counter, bytes(Long.toString(n + 1))).get(5, TimeUnit.SECONDS);
                        client.getLockClient().unlock(held.getKey()).get(5, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(String.valueOf(threads * rounds), client.getKVClient().get(counter).get(5, TimeUnit.SECONDS)
                .getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
        assertTrue(keysUnder("mutex").isEmpty());
    }

    @Test
    void aNameThatIsNotUtf8IsRefused() {
        ManagedChannel ch = ManagedChannelBuilder.forTarget(member.endpoint()).usePlaintext().build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> LockGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(5, TimeUnit.SECONDS)
                    .lock(LockRequest.newBuilder().setName(ByteString.copyFrom(new byte[]{(byte) 0xff})).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        } finally {
            ch.shutdownNow();
        }
    }

    /** Polls (up to 5 s) until {@code expected} keys are under the prefix; returns the last count seen. */
    private static int awaitKeyCount(String prefix, int expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int n = keysUnder(prefix).size();
        while (n != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
            n = keysUnder(prefix).size();
        }
        return n;
    }

    private static LockRequest request(String name, long lease) {
        return LockRequest.newBuilder().setName(ByteString.copyFromUtf8(name)).setLease(lease).build();
    }
}
