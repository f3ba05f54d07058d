package io.metastore.concurrency.testing;

import com.google.protobuf.ByteString;
import io.metastore.concurrency.EtcdConnection;
import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.mvccpb.KeyValue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Plain etcd calls the tests use to set up and inspect state, independent of the SDK's own code paths. */
public final class Kv {
    private final EtcdConnection conn;

    public Kv(EtcdConnection conn) {
        this.conn = conn;
    }

    /** A fresh key prefix per test, so tests can share one server. */
    public static String uniquePrefix(String what) {
        return "/sdk-test/" + what + "/" + UUID.randomUUID().toString().substring(0, 8);
    }

    private KVGrpc.KVBlockingStub kv() {
        return KVGrpc.newBlockingStub(conn.channel()).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private LeaseGrpc.LeaseBlockingStub lease() {
        return LeaseGrpc.newBlockingStub(conn.channel()).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    static ByteString b(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    public PutResponse put(String key, String value) {
        return kv().put(PutRequest.newBuilder().setKey(b(key)).setValue(b(value)).build());
    }

    public KeyValue get(String key) {
        RangeResponse r = kv().range(RangeRequest.newBuilder().setKey(b(key)).build());
        return r.getKvsCount() == 0 ? null : r.getKvs(0);
    }

    public String value(String key) {
        KeyValue kv = get(key);
        return kv == null ? null : kv.getValue().toStringUtf8();
    }

    public List<KeyValue> prefix(String prefix) {
        ByteString p = b(prefix);
        byte[] end = p.toByteArray();
        end[end.length - 1]++;
        return kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(ByteString.copyFrom(end)).build()).getKvsList();
    }

    public void delete(String key) {
        kv().deleteRange(DeleteRangeRequest.newBuilder().setKey(b(key)).build());
    }

    public long revision() {
        return kv().range(RangeRequest.newBuilder().setKey(b("/")).build()).getHeader().getRevision();
    }

    public void compact(long revision) {
        kv().compact(CompactionRequest.newBuilder().setRevision(revision).setPhysical(true).build());
    }

    public void revoke(long leaseId) {
        lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(leaseId).build());
    }

    /** Remaining TTL in seconds, -1 if the lease is gone. */
    public long ttl(long leaseId) {
        return lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(leaseId).build()).getTTL();
    }
}
