package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.mvccpb.KeyValue;

/** Reads shared by {@link Election} and its {@link Observation}. */
final class Elections {
    private Elections() {
    }

    /** The first-created key under the election prefix, or {@link NoLeaderException}. */
    static KeyValue leader(EtcdConnection c, ByteString prefix) {
        RangeResponse r = c.kv().range(Ops.firstCreated(prefix));
        if (r.getKvsCount() == 0) {
            throw new NoLeaderException();
        }
        return r.getKvs(0);
    }
}
