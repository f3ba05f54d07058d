package io.metastore.concurrency;

/** The watch started below the compaction revision; the waiter re-reads the current state and watches again. */
final class WatchCompactedException extends ConcurrencyException {
    final long compactRevision;

    WatchCompactedException(long compactRevision) {
        super("watch start revision was compacted (compact revision " + compactRevision + ")");
        this.compactRevision = compactRevision;
    }
}
