package io.metastore.concurrency;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.mvccpb.Event;
import io.metastore.proto.mvccpb.KeyValue;

import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * The dequeue loop both queues share (etcd's recipes): read the head, claim it with a delete guarded by its mod
 * revision (exactly one consumer wins it), and when the queue is empty wait — watch-based — for the next PUT under
 * the prefix, then read the head again (so the highest priority item wins even if several arrive at once).
 */
final class QueueSupport {
    private QueueSupport() {
    }

    static Optional<String> dequeue(EtcdConnection c, ByteString prefix, RangeRequest head, Deadline deadline,
                                    boolean wait) throws InterruptedException, TimeoutException {
        try {
            return take(c, prefix, head, deadline, wait);
        } catch (RuntimeException e) {
            throw Interrupts.interruptedOr(e);
        }
    }

    private static Optional<String> take(EtcdConnection c, ByteString prefix, RangeRequest head, Deadline deadline,
                                         boolean wait) throws InterruptedException, TimeoutException {
        while (true) {
            RangeResponse r = c.kv().range(head);
            if (r.getKvsCount() > 0) {
                KeyValue kv = r.getKvs(0);
                if (Ops.deleteIfModRevision(c, kv.getKey(), kv.getModRevision())) {
                    return Optional.of(kv.getValue().toStringUtf8());
                }
                continue; // another consumer took it
            }
            if (!wait) {
                return Optional.empty();
            }
            Waits.awaitEventOrStale(c, prefix, Ops.prefixEnd(prefix), r.getHeader().getRevision() + 1,
                    e -> e.getType() == Event.EventType.PUT, deadline, null);
        }
    }
}
