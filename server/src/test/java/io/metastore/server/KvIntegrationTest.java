package io.metastore.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeResponse;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static io.metastore.server.RawClient.assertEtcdError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's KV semantics and errors over gRPC (etcd-api.md §3.2-3.7, §4), on one engine per subclass. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class KvIntegrationTest {
    private TestMember member;
    private RawClient raw;
    private KVGrpc.KVBlockingStub kv;

    abstract ServerConfig.StorageEngine engine();

    @BeforeAll
    void start() {
        member = TestMember.start(engine());
        raw = new RawClient(member.member().clientPort());
        kv = raw.kv;
    }

    @AfterAll
    void stop() {
        raw.close();
        member.close();
    }

    static ByteString bs(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private PutResponse put(String k, String v) {
        return kv.put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v)).build());
    }

    private long rev() {
        return kv.range(RangeRequest.newBuilder().setKey(bs("\0")).setLimit(1).build()).getHeader().getRevision();
    }

    @Test
    void putBumpsRevisionAndVersion() {
        long r0 = rev();
        PutResponse p1 = put("pv/a", "1");
        assertEquals(r0 + 1, p1.getHeader().getRevision());
        PutResponse p2 = put("pv/a", "2");
        assertEquals(r0 + 2, p2.getHeader().getRevision());
        var kvs = kv.range(RangeRequest.newBuilder().setKey(bs("pv/a")).build()).getKvs(0);
        assertEquals(r0 + 1, kvs.getCreateRevision());
        assertEquals(r0 + 2, kvs.getModRevision());
        assertEquals(2, kvs.getVersion());
        assertEquals("2", kvs.getValue().toStringUtf8());
        // prev_kv returns the replaced version
        PutResponse p3 = kv.put(PutRequest.newBuilder().setKey(bs("pv/a")).setValue(bs("3")).setPrevKv(true).build());
        assertEquals("2", p3.getPrevKv().getValue().toStringUtf8());
        assertTrue(p1.getHeader().getClusterId() != 0 && p1.getHeader().getMemberId() != 0);
        assertTrue(p1.getHeader().getRaftTerm() > 0);
    }

    @Test
    void deleteOfNothingDoesNotBumpRevision() {
        long r0 = rev();
        DeleteRangeResponse d = kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("nothing/here")).build());
        assertEquals(0, d.getDeleted());
        assertEquals(r0, d.getHeader().getRevision());
        assertEquals(r0, rev());
    }

    @Test
    void deleteRangeIsOneRevisionAndResetsVersion() {
        put("dr/a", "1");
        put("dr/b", "1");
        put("dr/b", "2");
        long r0 = rev();
        DeleteRangeResponse d = kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("dr/"))
                .setRangeEnd(bs("dr0")).setPrevKv(true).build());
        assertEquals(2, d.getDeleted());
        assertEquals(2, d.getPrevKvsCount());
        assertEquals(r0 + 1, d.getHeader().getRevision());
        PutResponse again = put("dr/b", "3");
        var got = kv.range(RangeRequest.newBuilder().setKey(bs("dr/b")).build()).getKvs(0);
        assertEquals(1, got.getVersion());
        assertEquals(again.getHeader().getRevision(), got.getCreateRevision());
    }

    @Test
    void rangeLimitCountSortAndFilters() {
        for (int i = 0; i < 5; i++) {
            put("rg/" + i, "v" + (4 - i));
        }
        RangeRequest prefix = RangeRequest.newBuilder().setKey(bs("rg/")).setRangeEnd(bs("rg0")).build();
        RangeResponse limited = kv.range(prefix.toBuilder().setLimit(2).build());
        assertEquals(2, limited.getKvsCount());
        assertTrue(limited.getMore());
        assertEquals(5, limited.getCount(), "count ignores limit");
        RangeResponse desc = kv.range(prefix.toBuilder().setSortOrder(RangeRequest.SortOrder.DESCEND)
                .setSortTarget(RangeRequest.SortTarget.KEY).setLimit(1).build());
        assertEquals("rg/4", desc.getKvs(0).getKey().toStringUtf8());
        RangeResponse byValue = kv.range(prefix.toBuilder().setSortTarget(RangeRequest.SortTarget.VALUE).build());
        assertEquals("rg/4", byValue.getKvs(0).getKey().toStringUtf8(), "NONE order with a non-key target sorts ascending");
        RangeResponse keysOnly = kv.range(prefix.toBuilder().setKeysOnly(true).build());
        assertTrue(keysOnly.getKvs(0).getValue().isEmpty());
        RangeResponse countOnly = kv.range(prefix.toBuilder().setCountOnly(true).build());
        assertEquals(0, countOnly.getKvsCount());
        assertEquals(5, countOnly.getCount());
        long firstMod = kv.range(RangeRequest.newBuilder().setKey(bs("rg/0")).build()).getKvs(0).getModRevision();
        RangeResponse filtered = kv.range(prefix.toBuilder().setMinModRevision(firstMod + 3).build());
        assertEquals(2, filtered.getKvsCount());
        assertEquals(5, filtered.getCount(), "count ignores min/max filters");
        RangeResponse old = kv.range(RangeRequest.newBuilder().setKey(bs("rg/")).setRangeEnd(bs("rg0"))
                .setRevision(firstMod).build());
        assertEquals(1, old.getKvsCount());
        assertTrue(old.getHeader().getRevision() > firstMod, "header carries the current revision");
        RangeResponse fromKey = kv.range(RangeRequest.newBuilder().setKey(bs("rg/3")).setRangeEnd(bs("\0")).build());
        assertTrue(fromKey.getKvsCount() >= 2);
        assertEquals(0, kv.range(RangeRequest.newBuilder().setKey(bs("rg/4")).setRangeEnd(bs("rg/1")).build()).getKvsCount());
    }

    @Test
    void txnCreateIfAbsentThenElseBranch() {
        TxnRequest create = TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(bs("tx/k")).setTarget(Compare.CompareTarget.MOD)
                        .setResult(Compare.CompareResult.EQUAL).setModRevision(0))
                .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("tx/k")).setValue(bs("v1"))))
                .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs("tx/k"))))
                .build();
        long r0 = rev();
        TxnResponse first = kv.txn(create);
        assertTrue(first.getSucceeded());
        assertEquals(r0 + 1, first.getHeader().getRevision());
        TxnResponse second = kv.txn(create);
        assertFalse(second.getSucceeded());
        assertEquals(r0 + 1, second.getHeader().getRevision(), "a read-only branch does not bump");
        assertEquals("v1", second.getResponses(0).getResponseRange().getKvs(0).getValue().toStringUtf8());
        // VALUE compare on a missing key is false, so the failure branch runs
        TxnResponse missing = kv.txn(TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(bs("tx/none")).setTarget(Compare.CompareTarget.VALUE)
                        .setResult(Compare.CompareResult.NOT_EQUAL).setValue(bs("x")))
                .build());
        assertFalse(missing.getSucceeded());
    }

    @Test
    void txnRangeSeesEarlierWritesAndNestedTxn() {
        TxnResponse r = kv.txn(TxnRequest.newBuilder()
                .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("nx/a")).setValue(bs("1"))))
                .addSuccess(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs("nx/a"))))
                .addSuccess(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder()
                        .addCompare(Compare.newBuilder().setKey(bs("nx/a")).setTarget(Compare.CompareTarget.VERSION)
                                .setResult(Compare.CompareResult.EQUAL).setVersion(0))
                        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("nx/b")).setValue(bs("then"))))
                        .addFailure(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("nx/b")).setValue(bs("else"))))))
                .build());
        assertTrue(r.getSucceeded());
        assertEquals("1", r.getResponses(1).getResponseRange().getKvs(0).getValue().toStringUtf8());
        // nested compares are decided before any write of the outer txn: nx/a did not exist then
        assertTrue(r.getResponses(2).getResponseTxn().getSucceeded());
        var b = kv.range(RangeRequest.newBuilder().setKey(bs("nx/b")).build()).getKvs(0);
        assertEquals("then", b.getValue().toStringUtf8());
        assertEquals(b.getModRevision(), kv.range(RangeRequest.newBuilder().setKey(bs("nx/a")).build()).getKvs(0).getModRevision(),
                "one txn, one revision");
    }

    @Test
    void errorsMatchEtcdByteForByte() {
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided",
                () -> kv.range(RangeRequest.newBuilder().build()));
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided",
                () -> kv.put(PutRequest.newBuilder().setValue(bs("v")).build()));
        assertEtcdError(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                () -> kv.put(PutRequest.newBuilder().setKey(bs("e/k")).setLease(12345).build()));
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: value is provided",
                () -> kv.put(PutRequest.newBuilder().setKey(bs("e/k")).setValue(bs("v")).setIgnoreValue(true).build()));
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: lease is provided",
                () -> kv.put(PutRequest.newBuilder().setKey(bs("e/k")).setLease(1).setIgnoreLease(true).build()));
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: key not found",
                () -> kv.put(PutRequest.newBuilder().setKey(bs("e/missing")).setIgnoreValue(true).build()));
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: invalid sort option",
                () -> kv.range(RangeRequest.newBuilder().setKey(bs("e")).setSortOrderValue(7).build()));
        RequestOp dup = RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("e/d"))).build();
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request",
                () -> kv.txn(TxnRequest.newBuilder().addSuccess(dup).addSuccess(dup).build()));
        RequestOp del = RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
                .setKey(bs("e/")).setRangeEnd(bs("e0"))).build();
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request",
                () -> kv.txn(TxnRequest.newBuilder().addSuccess(del).addSuccess(dup).build()));
        TxnRequest.Builder big = TxnRequest.newBuilder();
        for (int i = 0; i < 129; i++) {
            big.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("e/big" + i))));
        }
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request",
                () -> kv.txn(big.build()));
        assertEtcdError(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                () -> kv.range(RangeRequest.newBuilder().setKey(bs("e")).setRevision(rev() + 100).build()));
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: key not found",
                () -> kv.txn(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder()).build()));
        byte[] large = new byte[1536 * 1024 + 10];
        assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large",
                () -> kv.put(PutRequest.newBuilder().setKey(bs("e/large")).setValue(ByteString.copyFrom(large)).build()));
    }

    @Test
    void compactionRules() {
        put("cp/a", "1");
        long keep = put("cp/a", "2").getHeader().getRevision();
        put("cp/a", "3");
        kv.compact(CompactionRequest.newBuilder().setRevision(keep).setPhysical(true).build());
        // the compact revision itself stays readable
        assertEquals("2", kv.range(RangeRequest.newBuilder().setKey(bs("cp/a")).setRevision(keep).build())
                .getKvs(0).getValue().toStringUtf8());
        assertEtcdError(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted",
                () -> kv.range(RangeRequest.newBuilder().setKey(bs("cp/a")).setRevision(keep - 1).build()));
        assertEtcdError(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted",
                () -> kv.compact(CompactionRequest.newBuilder().setRevision(keep).build()));
        assertEtcdError(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                () -> kv.compact(CompactionRequest.newBuilder().setRevision(rev() + 10).build()));
    }

    @Test
    void unknownRpcIsUnimplemented() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> KVGrpc.newBlockingStub(raw.channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .rangeStream(RangeRequest.newBuilder().setKey(bs("x")).build()).hasNext());
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
    }

    @Test
    void dataSurvivesRestart() throws Exception {
        put("rs/a", "before");
        long r = rev();
        raw.close();
        member.restart();
        raw = new RawClient(member.member().clientPort());
        kv = raw.kv;
        var got = kv.range(RangeRequest.newBuilder().setKey(bs("rs/a")).build());
        assertArrayEquals("before".getBytes(StandardCharsets.UTF_8), got.getKvs(0).getValue().toByteArray());
        assertEquals(r, got.getHeader().getRevision());
        assertEquals(r + 1, put("rs/a", "after").getHeader().getRevision());
    }
}
