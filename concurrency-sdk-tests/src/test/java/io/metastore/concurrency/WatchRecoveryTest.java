package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backend;
import io.metastore.concurrency.testing.Kv;
import io.metastore.proto.mvccpb.Event;
import com.google.protobuf.ByteString;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The waits survive a compacted start revision: the server cancels the watch with the compact revision, the wait
 * re-reads the key and watches again from the present. Against MetaStore and etcd.
 */
class WatchRecoveryTest {
    private static final String BACKENDS = "io.metastore.concurrency.testing.Backends#core";

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void aCompactedStartRevisionCancelsTheWatchWithTheCompactRevision(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String key = Kv.uniquePrefix("watch") + "/k";
            long before = kv.put(key, "1").getHeader().getRevision();
            long compactAt = kv.put(key, "2").getHeader().getRevision();
            kv.compact(compactAt);
            CompletableFuture<Event> f = WatchStream.firstEvent(conn, Ops.bytes(key), ByteString.EMPTY, before,
                    e -> true);
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            WatchCompactedException c = assertInstanceOf(WatchCompactedException.class, e.getCause());
            assertEquals(compactAt, c.compactRevision);

            // the compact revision itself is still watchable: it replays the PUT at compactAt
            Event atCompact = WatchStream.firstEvent(conn, Ops.bytes(key), ByteString.EMPTY, compactAt, ev -> true)
                    .get(5, TimeUnit.SECONDS);
            assertEquals(compactAt, atCompact.getKv().getModRevision());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void awaitDeleteRecoversFromCompaction(Backend backend) throws Exception {
        try (EtcdConnection conn = backend.connect()) {
            Kv kv = new Kv(conn);
            String key = Kv.uniquePrefix("watch") + "/k";
            long seen = kv.put(key, "1").getHeader().getRevision();
            long compactAt = kv.put(key, "2").getHeader().getRevision();
            kv.put(Kv.uniquePrefix("watch") + "/other", "x");
            kv.compact(compactAt + 1);
            CompletableFuture<Void> waited = CompletableFuture.runAsync(() -> {
                try {
                    // "seen" is below the compaction: the first watch is cancelled, the wait must carry on
                    Waits.awaitDelete(conn, Ops.bytes(key), seen - 1, Deadline.NONE, null);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Thread.sleep(300);
            assertTrue(!waited.isDone(), "still waiting: the key exists");
            kv.delete(key);
            waited.get(5, TimeUnit.SECONDS);
        }
    }
}
