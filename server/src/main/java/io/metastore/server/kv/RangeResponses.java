package io.metastore.server.kv;

import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.storage.KeyValue;
import io.metastore.storage.RangeResult;

/** Builds etcd's RangeResponse from a store result. */
public final class RangeResponses {
    private RangeResponses() {}

    public static RangeResponse build(RangeResult result, boolean keysOnly, long headerRevision) {
        RangeResponse.Builder b = RangeResponse.newBuilder()
                .setHeader(ResponseHeader.newBuilder().setRevision(headerRevision))
                .setMore(result.more())
                .setCount(result.count());
        for (KeyValue kv : result.kvs()) {
            b.addKvs(KvProtos.toProto(keysOnly ? kv.withoutValue() : kv));
        }
        return b.build();
    }
}
