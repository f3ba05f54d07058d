package io.metastore.storage.internal;

import io.metastore.storage.Event;
import io.metastore.storage.KeyValue;
import io.metastore.storage.spi.BackendReader;
import io.metastore.storage.spi.StoredVersion;

import java.util.ArrayList;
import java.util.List;

/** Replays stored history as watch events (watch catch-up). The caller validates the revisions. */
public final class HistoryReader {
    private HistoryReader() {}

    /**
     * Events with main revision in [from, to], at most {@code maxRevisions} distinct main revisions
     * (<= 0 = no limit). prevKv is the version each change replaced, filled only when
     * {@code main - 1 >= compactRevision}: then it is retained whatever physical compaction has removed,
     * so the answer is the same on every member.
     */
    public static List<Event> events(BackendReader reader, long from, long to, int maxRevisions,
                                     boolean withPrevKv, long compactRevision) {
        List<StoredVersion> versions = new ArrayList<>();
        if (from <= to) {
            long[] lastMain = {Long.MIN_VALUE};
            int[] revisions = {0};
            reader.scanRevisions(from, to, v -> {
                if (v.main() != lastMain[0]) {
                    if (maxRevisions > 0 && revisions[0] == maxRevisions) {
                        return false;
                    }
                    revisions[0]++;
                    lastMain[0] = v.main();
                }
                versions.add(v);
                return true;
            });
        }
        // prevKv lookups run after the scan: the visitor stays a plain collector
        List<Event> events = new ArrayList<>(versions.size());
        for (StoredVersion v : versions) {
            KeyValue prev = withPrevKv && v.main() - 1 >= compactRevision ? previous(reader, v) : null;
            events.add(new Event(v.tombstone() ? Event.Type.DELETE : Event.Type.PUT, v.kv(), prev));
        }
        return events;
    }

    /**
     * The live version {@code v} replaced: an earlier write of the same key in the same revision, else
     * the key's version at main - 1. Null if the key did not exist.
     */
    static KeyValue previous(BackendReader reader, StoredVersion v) {
        StoredVersion[] found = {null};
        reader.scanKeyHistory(v.key(), v.main(), h -> {
            if (h.main() == v.main() && h.sub() >= v.sub()) {
                return true;
            }
            found[0] = h;
            return false;
        });
        return found[0] == null || found[0].tombstone() ? null : found[0].kv();
    }
}
