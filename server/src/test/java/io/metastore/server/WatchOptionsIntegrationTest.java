package io.metastore.server;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Watch options that need a member configured for them: fragmentation and progress notifications. */
class WatchOptionsIntegrationTest {

    static ByteString bs(String s) {
        return ByteString.copyFromUtf8(s);
    }

    /** A catch-up batch larger than max-request-bytes + 512 KiB is split; all parts but the last say fragment. */
    @Test
    void largeResponsesAreFragmentedWhenAsked() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> b.maxRequestBytes = 100_000);
             RawClient raw = new RawClient(m.member().clientPort())) {
            ByteString value = ByteString.copyFrom(new byte[60_000]);
            long first = 0;
            for (int i = 0; i < 20; i++) {
                long r = raw.kv.put(PutRequest.newBuilder().setKey(bs("fr/" + i)).setValue(value).build())
                        .getHeader().getRevision();
                first = first == 0 ? r : first;
            }
            try (RawWatch w = new RawWatch(raw.watch)) {
                w.create(WatchCreateRequest.newBuilder().setKey(bs("fr/")).setRangeEnd(bs("fr0"))
                        .setStartRevision(first).setFragment(true).build());
                assertTrue(w.next().getCreated());
                int events = 0;
                int fragments = 0;
                while (events < 20) {
                    WatchResponse r = w.next();
                    assertTrue(r.getSerializedSize() <= 100_000 + 512 * 1024 + 4096, "each part stays under the limit");
                    if (r.getFragment()) {
                        fragments++;
                    }
                    events += r.getEventsCount();
                }
                assertEquals(20, events);
                assertTrue(fragments > 0, "the batch was split");
            }
        }
    }

    @Test
    void progressNotifyReportsTheRevisionWhenIdle() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY,
                b -> b.watchProgressNotifyInterval(Duration.ofMillis(300)));
             RawClient raw = new RawClient(m.member().clientPort())) {
            long rev = raw.kv.put(PutRequest.newBuilder().setKey(bs("pn/a")).build()).getHeader().getRevision();
            try (RawWatch w = new RawWatch(raw.watch)) {
                w.create(WatchCreateRequest.newBuilder().setKey(bs("pn/a")).setProgressNotify(true).build());
                WatchResponse created = w.next();
                assertTrue(created.getCreated());
                WatchResponse progress = w.next();
                assertEquals(created.getWatchId(), progress.getWatchId());
                assertEquals(0, progress.getEventsCount());
                assertFalse(progress.getCreated() || progress.getCanceled());
                assertEquals(rev, progress.getHeader().getRevision());
            }
        }
    }
}
