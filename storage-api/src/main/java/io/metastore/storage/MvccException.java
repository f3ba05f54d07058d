package io.metastore.storage;

/** A request the store refuses by etcd's MVCC rules. Subclasses map one-to-one onto etcd errors. */
public class MvccException extends RuntimeException {
    public MvccException(String message) {
        super(message, null, false, false);
    }

    /** etcd: "mvcc: required revision has been compacted". */
    public static final class Compacted extends MvccException {
        public final long compactRevision;
        public Compacted(long compactRevision) {
            super("mvcc: required revision has been compacted");
            this.compactRevision = compactRevision;
        }
    }

    /** etcd: "mvcc: required revision is a future revision". */
    public static final class FutureRevision extends MvccException {
        public FutureRevision() {
            super("mvcc: required revision is a future revision");
        }
    }
}
