package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeResponse;

/** Reads shared by {@link Election} and its {@link Observation}. */
final class Elections {
    private Elections() {
    }

    /** The read whose only key is the first-created one under the election prefix, or {@link NoLeaderException}. */
    static RangeResponse leader(EtcdConnection c, ByteString prefix) {
        RangeResponse r = c.kv().range(Ops.firstCreated(prefix));
        if (r.getKvsCount() == 0) {
            throw new NoLeaderException();
        }
        return r;
    }
}
