package io.metastore.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.metastore.proto.etcdserverpb.AlarmRequest;
import io.metastore.proto.etcdserverpb.AlarmResponse;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.DefragmentRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.HashKVRequest;
import io.metastore.proto.etcdserverpb.HashKVResponse;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.MemberListRequest;
import io.metastore.proto.etcdserverpb.MemberListResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.SnapshotRequest;
import io.metastore.proto.etcdserverpb.SnapshotResponse;
import io.metastore.proto.etcdserverpb.StatusRequest;
import io.metastore.proto.etcdserverpb.StatusResponse;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Iterator;

import static io.metastore.server.RawClient.assertEtcdError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Maintenance and Cluster RPCs on a single member (etcd-api.md §3.10-3.11). */
class MaintenanceIntegrationTest {

    static ByteString bs(String s) {
        return ByteString.copyFromUtf8(s);
    }

    @Test
    void statusAndMemberListDescribeThisMember() {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.ROCKSDB);
             RawClient raw = new RawClient(m.member().clientPort())) {
            raw.kv.put(PutRequest.newBuilder().setKey(bs("s")).setValue(bs("v")).build());
            StatusResponse st = raw.maintenance.status(StatusRequest.getDefaultInstance());
            assertEquals("3.6.0", st.getVersion());
            assertEquals(st.getHeader().getMemberId(), st.getLeader(), "a single member leads itself");
            assertTrue(st.getDbSize() > 0);
            assertTrue(st.getRaftTerm() >= 1);
            assertTrue(st.getRaftAppliedIndex() >= 1 && st.getRaftIndex() >= st.getRaftAppliedIndex());
            assertEquals(0, st.getErrorsCount());
            assertEquals(ServerConfig.DEFAULT_QUOTA_BYTES, st.getDbSizeQuota());
            MemberListResponse ml = raw.cluster.memberList(MemberListRequest.getDefaultInstance());
            assertEquals(1, ml.getMembersCount());
            assertEquals("m1", ml.getMembers(0).getName());
            assertEquals(st.getHeader().getMemberId(), ml.getMembers(0).getID());
            assertEquals(m.url(), ml.getMembers(0).getClientURLs(0));
        }
    }

    @ParameterizedTest
    @EnumSource(ServerConfig.StorageEngine.class)
    void snapshotSaveAndRestoreKeepsDataAndRevisions(ServerConfig.StorageEngine engine) throws Exception {
        Path snap = Files.createTempFile("snap", ".db");
        Path restored = Files.createTempDirectory("restored").resolve("data");
        long rev;
        HashKVResponse hashBefore;
        try (TestMember m = TestMember.start(engine); RawClient raw = new RawClient(m.member().clientPort())) {
            for (int i = 0; i < 50; i++) {
                raw.kv.put(PutRequest.newBuilder().setKey(bs("snap/" + (i % 10))).setValue(bs("v" + i)).build());
            }
            rev = raw.kv.range(RangeRequest.newBuilder().setKey(bs("snap/0")).build()).getHeader().getRevision();
            hashBefore = raw.maintenance.hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] trailer = null;
            long total = 0;
            try (OutputStream out = Files.newOutputStream(snap)) {
                Iterator<SnapshotResponse> it = raw.maintenance.snapshot(SnapshotRequest.getDefaultInstance());
                while (it.hasNext()) {
                    SnapshotResponse r = it.next();
                    byte[] blob = r.getBlob().toByteArray();
                    if (r.getRemainingBytes() == 0) {
                        trailer = blob;
                    } else {
                        sha.update(blob);
                    }
                    out.write(blob);
                    total += blob.length;
                }
            }
            assertEquals(32, total % 512, "etcdctl checks size = 512*n + 32");
            assertArrayEquals(sha.digest(), trailer, "the last message is the SHA-256 of the rest");
        }
        io.metastore.server.SnapshotRestore.restore(snap, restored, engine);
        try (TestMember m = TestMember.startOn(restored, engine); RawClient raw = new RawClient(m.member().clientPort())) {
            var got = raw.kv.range(RangeRequest.newBuilder().setKey(bs("snap/")).setRangeEnd(bs("snap0")).build());
            assertEquals(10, got.getCount());
            assertEquals(rev, got.getHeader().getRevision(), "the revision survives the restore");
            assertEquals("v49", raw.kv.range(RangeRequest.newBuilder().setKey(bs("snap/9")).build())
                    .getKvs(0).getValue().toStringUtf8());
            assertEquals(hashBefore.getHash(),
                    raw.maintenance.hashKV(HashKVRequest.newBuilder().setRevision(rev).build()).getHash());
            assertEquals(rev + 1, raw.kv.put(PutRequest.newBuilder().setKey(bs("after")).build())
                    .getHeader().getRevision());
        }
        Files.deleteIfExists(snap);
    }

    @Test
    void restoreRefusesACorruptFileAndAnExistingDir() throws IOException {
        Path bad = Files.createTempFile("bad", ".db");
        Files.write(bad, new byte[512 + 32]);
        Path dir = Files.createTempDirectory("restore-target");
        assertTrue(assertThrowsIo(() -> io.metastore.server.SnapshotRestore.restore(bad, dir.resolve("x"),
                ServerConfig.StorageEngine.MEMORY)).contains("checksum"));
        assertTrue(assertThrowsIo(() -> io.metastore.server.SnapshotRestore.restore(bad, dir,
                ServerConfig.StorageEngine.MEMORY)).contains("exists"));
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static String assertThrowsIo(IoAction a) {
        try {
            a.run();
        } catch (IOException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected an IOException");
    }

    @Test
    void quotaRaisesNoSpaceUntilSpaceIsFreedAndAlarmDisarmed() throws InterruptedException {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> b.quotaBackendBytes(256 * 1024));
             RawClient raw = new RawClient(m.member().clientPort())) {
            ByteString value = ByteString.copyFrom(new byte[4096]);
            boolean refused = false;
            for (int i = 0; i < 200 && !refused; i++) {
                try {
                    raw.kv.put(PutRequest.newBuilder().setKey(bs("q/" + i)).setValue(value).build());
                } catch (io.grpc.StatusRuntimeException e) {
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
                    assertEquals("etcdserver: mvcc: database space exceeded", e.getStatus().getDescription());
                    refused = true;
                }
            }
            assertTrue(refused, "the quota was reached");
            // the refused request raised the alarm through Raft; etcd does that asynchronously too
            AlarmResponse alarms = null;
            for (int i = 0; i < 100; i++) {
                alarms = raw.maintenance.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build());
                if (alarms.getAlarmsCount() > 0) {
                    break;
                }
                Thread.sleep(50);
            }
            assertEquals(1, alarms.getAlarmsCount());
            assertEquals(AlarmType.NOSPACE, alarms.getAlarms(0).getAlarm());
            StatusResponse st = raw.maintenance.status(StatusRequest.getDefaultInstance());
            assertTrue(st.getErrorsList().stream().anyMatch(e -> e.contains("NOSPACE")), st.getErrorsList().toString());
            // while the alarm is raised: small puts, txns with puts and lease grants are refused; reads and deletes work
            assertEtcdError(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded",
                    () -> raw.kv.put(PutRequest.newBuilder().setKey(bs("q/tiny")).build()));
            assertEtcdError(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded",
                    () -> raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(10).build()));
            assertEtcdError(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded",
                    () -> raw.kv.txn(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder()
                            .setRequestPut(PutRequest.newBuilder().setKey(bs("q/t")))).build()));
            assertTrue(raw.kv.range(RangeRequest.newBuilder().setKey(bs("q/0")).build()).getCount() == 1);
            long rev = raw.kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("q/")).setRangeEnd(bs("q0")).build())
                    .getHeader().getRevision();
            raw.kv.compact(CompactionRequest.newBuilder().setRevision(rev).setPhysical(true).build());
            raw.maintenance.defragment(DefragmentRequest.getDefaultInstance());
            AlarmResponse disarmed = raw.maintenance.alarm(AlarmRequest.newBuilder()
                    .setAction(AlarmRequest.AlarmAction.DEACTIVATE).setMemberID(alarms.getAlarms(0).getMemberID())
                    .setAlarm(AlarmType.NOSPACE).build());
            assertEquals(1, disarmed.getAlarmsCount());
            raw.kv.put(PutRequest.newBuilder().setKey(bs("q/again")).setValue(bs("ok")).build());
            assertEquals(0, raw.maintenance.alarm(AlarmRequest.newBuilder()
                    .setAction(AlarmRequest.AlarmAction.GET).build()).getAlarmsCount());
        }
    }

    @Test
    void hashKvIsStableAcrossRestartAndErrorsLikeRange() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.ROCKSDB)) {
            RawClient raw = new RawClient(m.member().clientPort());
            for (int i = 0; i < 20; i++) {
                raw.kv.put(PutRequest.newBuilder().setKey(bs("h/" + (i % 5))).setValue(bs("v" + i)).build());
            }
            HashKVResponse before = raw.maintenance.hashKV(HashKVRequest.getDefaultInstance());
            assertEquals(before.getHeader().getRevision(), before.getHashRevision());
            assertEtcdError(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                    () -> raw.maintenance.hashKV(HashKVRequest.newBuilder().setRevision(1000).build()));
            raw.close();
            m.restart();
            RawClient again = new RawClient(m.member().clientPort());
            HashKVResponse after = again.maintenance.hashKV(HashKVRequest.newBuilder()
                    .setRevision(before.getHashRevision()).build());
            assertEquals(before.getHash(), after.getHash());
            again.close();
        }
    }
}
