package io.metastore.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.maintenance.StatusResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.CompactOption;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jetcd's KV, Lease and Maintenance clients, unchanged, against a MetaStore member (Watch: WatchIntegrationTest). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JetcdClientsTest {
    private TestMember member;
    private Client client;

    @BeforeAll
    void start() {
        member = TestMember.start(ServerConfig.StorageEngine.ROCKSDB);
        client = member.client();
    }

    @AfterAll
    void stop() {
        member.close();
    }

    static ByteSequence b(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static <T> T get(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    @Test
    void kvClient() throws Exception {
        KV kv = client.getKVClient();
        PutResponse p1 = get(kv.put(b("jk/a"), b("1")));
        PutResponse p2 = get(kv.put(b("jk/a"), b("2"), PutOption.builder().withPrevKV().build()));
        assertEquals(p1.getHeader().getRevision() + 1, p2.getHeader().getRevision());
        assertEquals("1", p2.getPrevKv().getValue().toString(StandardCharsets.UTF_8));
        get(kv.put(b("jk/b"), b("3")));
        GetResponse all = get(kv.get(b("jk/"), GetOption.builder().isPrefix(true).withLimit(1).build()));
        assertEquals(2, all.getCount());
        assertTrue(all.isMore());
        assertEquals(1, all.getKvs().size());
        GetResponse old = get(kv.get(b("jk/a"), GetOption.builder().withRevision(p1.getHeader().getRevision()).build()));
        assertEquals("1", old.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));

        Txn txn = kv.txn();
        TxnResponse t = get(txn.If(new Cmp(b("jk/a"), Cmp.Op.EQUAL, CmpTarget.value(b("2"))))
                .Then(Op.put(b("jk/c"), b("then"), PutOption.DEFAULT))
                .Else(Op.put(b("jk/c"), b("else"), PutOption.DEFAULT))
                .commit());
        assertTrue(t.isSucceeded());
        assertEquals("then", get(kv.get(b("jk/c"))).getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));

        long deleted = get(kv.delete(b("jk/"), DeleteOption.builder().isPrefix(true).build())).getDeleted();
        assertEquals(3, deleted);
        long rev = get(kv.put(b("jk/d"), b("x"))).getHeader().getRevision();
        get(kv.compact(rev, CompactOption.builder().withCompactPhysical(true).build()));
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> get(kv.get(b("jk/d"), GetOption.builder().withRevision(rev - 1).build())));
        assertTrue(e.getCause().getMessage().contains("required revision has been compacted"), e.getCause().getMessage());
    }

    @Test
    void leaseClient() throws Exception {
        var lease = client.getLeaseClient();
        LeaseGrantResponse g = get(lease.grant(30));
        get(client.getKVClient().put(b("jl/a"), b("v"), PutOption.builder().withLeaseId(g.getID()).build()));
        LeaseTimeToLiveResponse ttl = get(lease.timeToLive(g.getID(), LeaseOption.builder().withAttachedKeys().build()));
        assertEquals(30, ttl.getGrantedTTL());
        assertEquals(1, ttl.getKeys().size());
        // (jetcd 0.8 has no LeaseLeases call: its proto copy predates it; LeaseIntegrationTest covers it)
        LeaseKeepAliveResponse once = get(lease.keepAliveOnce(g.getID()));
        assertEquals(30, once.getTTL());
        LinkedBlockingQueue<LeaseKeepAliveResponse> replies = new LinkedBlockingQueue<>();
        try (CloseableClient keepAlive = lease.keepAlive(g.getID(), new StreamObserver<>() {
            public void onNext(LeaseKeepAliveResponse r) { replies.add(r); }
            public void onError(Throwable t) { }
            public void onCompleted() { }
        })) {
            assertNotNull(replies.poll(10, TimeUnit.SECONDS), "jetcd's keep-alive got an answer");
        }
        get(lease.revoke(g.getID()));
        assertEquals(0, get(client.getKVClient().get(b("jl/a"))).getCount());
        assertEquals(-1, get(lease.timeToLive(g.getID(), LeaseOption.DEFAULT)).getTTL());
    }

    @Test
    void maintenanceClient() throws Exception {
        var m = client.getMaintenanceClient();
        get(client.getKVClient().put(b("jm/a"), b("v")));
        StatusResponse st = get(m.statusMember(member.url()));
        assertEquals("3.6.0", st.getVersion());
        assertTrue(st.getDbSize() > 0);
        assertEquals(st.getHeader().getMemberId(), st.getLeader());
        var hash = get(m.hashKV(member.url(), 0));
        assertTrue(hash.getHeader().getRevision() > 0);
        get(m.defragmentMember(member.url()));
        assertTrue(get(m.listAlarms()).getAlarms().isEmpty());
        ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
        long size = get(m.snapshot(snapshot));
        assertEquals(snapshot.size(), size);
        assertEquals(32, size % 512, "etcd's snapshot layout: 512*n bytes then a SHA-256");
        assertFalse(get(client.getClusterClient().listMember()).getMembers().isEmpty());
    }
}
