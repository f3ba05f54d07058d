package io.metastore.server;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.options.WatchOption;
import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import io.metastore.proto.mvccpb.Event;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's Watch semantics (etcd-api.md §3.8) with raw streams and with jetcd. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WatchIntegrationTest {
    private TestMember member;
    private RawClient raw;

    @BeforeAll
    void start() {
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY);
        raw = new RawClient(member.member().clientPort());
    }

    @AfterAll
    void stop() {
        raw.close();
        member.close();
    }

    static ByteString bs(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private long put(String k, String v) {
        return raw.kv.put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v)).build()).getHeader().getRevision();
    }

    @Test
    void liveEventsInOrderWithPrevKv() throws Exception {
        try (RawWatch w = new RawWatch(raw.watch)) {
            w.create(WatchCreateRequest.newBuilder().setKey(bs("lw/")).setRangeEnd(bs("lw0")).setPrevKv(true).build());
            WatchResponse created = w.next();
            assertTrue(created.getCreated());
            assertEquals(0, created.getWatchId());
            long r1 = put("lw/a", "1");
            long r2 = put("lw/a", "2");
            long r3 = raw.kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("lw/a")).build()).getHeader().getRevision();
            WatchResponse e1 = w.next();
            assertEquals(r1, e1.getHeader().getRevision());
            assertEquals(Event.EventType.PUT, e1.getEvents(0).getType());
            assertFalse(e1.getEvents(0).hasPrevKv(), "a creation has no prev_kv");
            WatchResponse e2 = w.next();
            assertEquals(r2, e2.getEvents(0).getKv().getModRevision());
            assertEquals("1", e2.getEvents(0).getPrevKv().getValue().toStringUtf8());
            WatchResponse e3 = w.next();
            Event del = e3.getEvents(0);
            assertEquals(Event.EventType.DELETE, del.getType());
            assertEquals(r3, del.getKv().getModRevision(), "DELETE carries the deletion revision");
            assertEquals(0, del.getKv().getVersion());
            assertEquals("2", del.getPrevKv().getValue().toStringUtf8());
        }
    }

    @Test
    void replayFromPastRevisionThenLive() throws Exception {
        long r1 = put("rp/a", "1");
        put("rp/b", "2");
        put("rp/a", "3");
        try (RawWatch w = new RawWatch(raw.watch)) {
            w.create(WatchCreateRequest.newBuilder().setKey(bs("rp/")).setRangeEnd(bs("rp0")).setStartRevision(r1).build());
            assertTrue(w.next().getCreated());
            int seen = 0;
            long last = 0;
            while (seen < 3) {
                for (Event e : w.next().getEventsList()) {
                    assertTrue(e.getKv().getModRevision() > last, "ordered, no duplicates");
                    last = e.getKv().getModRevision();
                    seen++;
                }
            }
            long r4 = put("rp/c", "4");
            assertEquals(r4, w.next().getEvents(0).getKv().getModRevision());
        }
    }

    @Test
    void compactedStartIsCanceledWithCompactRevision() throws Exception {
        put("cw/a", "1");
        long r = put("cw/a", "2");
        put("cw/a", "3");
        raw.kv.compact(CompactionRequest.newBuilder().setRevision(r).setPhysical(true).build());
        try (RawWatch w = new RawWatch(raw.watch)) {
            w.create(WatchCreateRequest.newBuilder().setKey(bs("cw/a")).setStartRevision(r - 1).build());
            WatchResponse created = w.next();
            assertTrue(created.getCreated());
            WatchResponse canceled = w.next();
            assertTrue(canceled.getCanceled());
            assertTrue(canceled.getCompactRevision() >= r);
            assertEquals(0, canceled.getEventsCount());
        }
        try (RawWatch w = new RawWatch(raw.watch)) {
            // the compact revision itself is still watchable
            w.create(WatchCreateRequest.newBuilder().setKey(bs("cw/a")).setStartRevision(raw.kv.range(
                    io.metastore.proto.etcdserverpb.RangeRequest.newBuilder().setKey(bs("cw/a")).build())
                    .getKvs(0).getModRevision()).build());
            assertTrue(w.next().getCreated());
            assertEquals("3", w.next().getEvents(0).getKv().getValue().toStringUtf8());
        }
    }

    @Test
    void filtersCancelDuplicateIdsAndProgress() throws Exception {
        try (RawWatch w = new RawWatch(raw.watch)) {
            w.create(WatchCreateRequest.newBuilder().setKey(bs("fl/a")).setWatchId(7)
                    .addFilters(WatchCreateRequest.FilterType.NOPUT).build());
            WatchResponse created = w.next();
            assertEquals(7, created.getWatchId());
            w.create(WatchCreateRequest.newBuilder().setKey(bs("fl/b")).setWatchId(7).build());
            WatchResponse dup = w.next();
            assertTrue(dup.getCreated() && dup.getCanceled());
            assertEquals(-1, dup.getWatchId());
            assertEquals("mvcc: duplicate watch ID provided on the WatchStream", dup.getCancelReason());
            w.create(WatchCreateRequest.newBuilder().setKey(bs("fl/z")).setRangeEnd(bs("fl/a")).build());
            WatchResponse empty = w.next();
            assertEquals("mvcc: watcher range is empty", empty.getCancelReason());
            put("fl/a", "1"); // filtered out
            long del = raw.kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("fl/a")).build()).getHeader().getRevision();
            WatchResponse d = w.next();
            assertEquals(Event.EventType.DELETE, d.getEvents(0).getType());
            assertEquals(del, d.getHeader().getRevision());
            w.requestProgress();
            WatchResponse progress = w.next();
            assertEquals(-1, progress.getWatchId());
            assertEquals(0, progress.getEventsCount());
            assertFalse(progress.getCreated() || progress.getCanceled());
            assertEquals(del, progress.getHeader().getRevision());
            w.cancel(7);
            WatchResponse canceled = w.next();
            assertTrue(canceled.getCanceled());
            assertEquals(7, canceled.getWatchId());
            w.cancel(99); // unknown: etcd answers nothing
            w.expectNothing(300);
        }
    }

    @Test
    void jetcdWatchSeesPutsAndDeletes() throws Exception {
        List<WatchEvent> events = new CopyOnWriteArrayList<>();
        ByteSequence prefix = ByteSequence.from("jw/", StandardCharsets.UTF_8);
        try (var watcher = member.client().getWatchClient().watch(prefix,
                WatchOption.builder().isPrefix(true).build(), r -> events.addAll(r.getEvents()))) {
            Thread.sleep(300);
            put("jw/a", "1");
            raw.kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("jw/a")).build());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (events.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
        assertEquals(2, events.size());
        assertEquals(WatchEvent.EventType.PUT, events.get(0).getEventType());
        assertEquals(WatchEvent.EventType.DELETE, events.get(1).getEventType());
    }
}
