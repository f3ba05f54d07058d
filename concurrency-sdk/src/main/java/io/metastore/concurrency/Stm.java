package io.metastore.concurrency;

import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Software transactional memory over etcd (Go's {@code concurrency.STM}): run a function that reads and writes
 * keys as if alone. Reads go to the server and are remembered (the read set); writes are buffered (the write
 * set). At the end, one Txn applies the writes only if nothing read has changed since — every read key's mod
 * revision is compared with what was seen. On a conflict the function runs again from scratch, up to
 * {@code maxAttempts} times ({@link StmConflictException} after that).
 *
 * <p>The function may run several times: it must not have side effects outside the {@link Txn}. An exception
 * thrown by it aborts the transaction (nothing is written) and propagates.
 *
 * <pre>{@code
 * Stm.run(conn, tx -> {
 *     long a = Long.parseLong(tx.get("acct/a")), b = Long.parseLong(tx.get("acct/b"));
 *     tx.put("acct/a", Long.toString(a - 10));
 *     tx.put("acct/b", Long.toString(b + 10));
 * });
 * }</pre>
 */
public final class Stm {
    /** Go's isolation levels, strongest first. */
    public enum Isolation {
        /**
         * Serializable, and every read sees one snapshot (the revision of the first read); the commit also fails
         * if a key written was modified after that snapshot. Go's default.
         */
        SERIALIZABLE_SNAPSHOT,
        /** Serializable: reads after the first come from the first read's revision; read keys must be unchanged. */
        SERIALIZABLE,
        /** Each key reads its latest value once; read keys must be unchanged at commit. */
        REPEATABLE_READ,
        /** Reads see the latest committed values; no conflict check at all (writes always commit). */
        READ_COMMITTED
    }

    /** The function's view of the store during one attempt. Keys and values are UTF-8 strings. */
    public interface Txn {
        /** The value of {@code key} (null if absent) as of this transaction; adds it to the read set. */
        String get(String key);

        /** Buffers a write, applied at commit. */
        void put(String key, String value);

        /** Buffers a write attached to a lease, applied at commit. */
        void put(String key, String value, long lease);

        /** Buffers a delete, applied at commit. */
        void delete(String key);

        /** Mod revision of {@code key} as read by this transaction (0 if absent); adds it to the read set. */
        long rev(String key);
    }

    /** The transaction body; see {@link Stm}. */
    @FunctionalInterface
    public interface Body {
        void apply(Txn tx);
    }

    public static final int DEFAULT_MAX_ATTEMPTS = 100;

    private final EtcdConnection conn;
    private final Isolation isolation;
    private final int maxAttempts;
    private final List<String> prefetch;

    private Stm(EtcdConnection conn, Isolation isolation, int maxAttempts, List<String> prefetch) {
        this.conn = conn;
        this.isolation = isolation;
        this.maxAttempts = maxAttempts;
        this.prefetch = prefetch;
    }

    /** Runs {@code body} with {@link Isolation#SERIALIZABLE_SNAPSHOT} and the default retry bound. */
    public static TxnResponse run(EtcdConnection conn, Body body) {
        return builder(conn).build().run(body);
    }

    public static Builder builder(EtcdConnection conn) {
        return new Builder(conn);
    }

    /** Options of an {@link Stm}. */
    public static final class Builder {
        private final EtcdConnection conn;
        private Isolation isolation = Isolation.SERIALIZABLE_SNAPSHOT;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private final List<String> prefetch = new ArrayList<>();

        private Builder(EtcdConnection conn) {
            this.conn = conn;
        }

        public Builder isolation(Isolation isolation) {
            this.isolation = isolation;
            return this;
        }

        /** How many times the body may run before giving up on conflicts (at least 1). */
        public Builder maxAttempts(int attempts) {
            if (attempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be at least 1: " + attempts);
            }
            this.maxAttempts = attempts;
            return this;
        }

        /** Keys read in one round trip before the body runs (Go's {@code WithPrefetch}). */
        public Builder prefetch(String... keys) {
            prefetch.addAll(List.of(keys));
            return this;
        }

        public Stm build() {
            return new Stm(conn, isolation, maxAttempts, List.copyOf(prefetch));
        }
    }

    /** Runs {@code body} until a commit succeeds; returns the committing Txn's response. */
    public TxnResponse run(Body body) {
        Map<String, RangeResponse> carriedReads = new LinkedHashMap<>();
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            Attempt a = new Attempt(carriedReads);
            for (String k : prefetch) {
                a.get(k);
            }
            body.apply(a);
            TxnResponse resp = a.commit();
            if (resp.getSucceeded()) {
                return resp;
            }
            carriedReads = a.freshReads(resp);
        }
        throw new StmConflictException(maxAttempts);
    }

    private record Write(String value, RequestOp op) {
    }

    /** One run of the body: its read set, write set and snapshot revision. */
    private final class Attempt implements Txn {
        private final Map<String, RangeResponse> reads = new LinkedHashMap<>();
        private final Map<String, Write> writes = new LinkedHashMap<>();
        /** Reads handed over from the failed commit of the previous attempt, to save a round trip. */
        private final Map<String, RangeResponse> carried;
        /** The snapshot revision of the serializable levels: the first read's; 0 until then. */
        private long snapshot;

        Attempt(Map<String, RangeResponse> carried) {
            this.carried = carried;
        }

        @Override
        public String get(String key) {
            Write w = writes.get(key);
            if (w != null) {
                return w.value();
            }
            RangeResponse r = read(key);
            return r.getKvsCount() == 0 ? null : r.getKvs(0).getValue().toStringUtf8();
        }

        @Override
        public long rev(String key) {
            RangeResponse r = read(key);
            return r.getKvsCount() == 0 ? 0 : r.getKvs(0).getModRevision();
        }

        @Override
        public void put(String key, String value) {
            put(key, value, 0);
        }

        @Override
        public void put(String key, String value, long lease) {
            writes.put(key, new Write(value, Ops.op(Ops.put(Ops.bytes(key), Ops.bytes(value), lease))));
        }

        @Override
        public void delete(String key) {
            writes.put(key, new Write(null, Ops.op(Ops.delete(Ops.bytes(key)))));
        }

        private RangeResponse read(String key) {
            RangeResponse r = reads.get(key);
            if (r != null) {
                return r;
            }
            r = carried.remove(key);
            if (r == null) {
                RangeRequest.Builder req = RangeRequest.newBuilder().setKey(Ops.bytes(key));
                boolean serializableLevel = isolation == Isolation.SERIALIZABLE_SNAPSHOT
                        || isolation == Isolation.SERIALIZABLE;
                if (serializableLevel && snapshot > 0) {
                    // later reads come from the first read's revision; a local read is enough at a fixed revision
                    req.setRevision(snapshot).setSerializable(true);
                } else if (!serializableLevel) {
                    // Go reads these levels serializably: staleness is caught by the commit's compares
                    req.setSerializable(true);
                }
                r = conn.kv().range(req.build());
            }
            if (snapshot == 0) {
                snapshot = r.getHeader().getRevision();
            }
            reads.put(key, r);
            return r;
        }

        TxnResponse commit() {
            TxnRequest.Builder txn = TxnRequest.newBuilder();
            if (isolation != Isolation.READ_COMMITTED) {
                for (Map.Entry<String, RangeResponse> e : reads.entrySet()) {
                    long seen = e.getValue().getKvsCount() == 0 ? 0 : e.getValue().getKvs(0).getModRevision();
                    txn.addCompare(Ops.modRevision(Ops.bytes(e.getKey()), Compare.CompareResult.EQUAL, seen));
                }
            }
            if (isolation == Isolation.SERIALIZABLE_SNAPSHOT && !reads.isEmpty()) {
                long firstRead = reads.values().stream().mapToLong(r -> r.getHeader().getRevision()).min().orElseThrow();
                for (String k : writes.keySet()) {
                    // a blind write to a key someone changed after our snapshot is a write-write conflict
                    txn.addCompare(Ops.modRevision(Ops.bytes(k), Compare.CompareResult.LESS, firstRead + 1));
                }
            }
            writes.values().forEach(w -> txn.addSuccess(w.op()));
            if (isolation == Isolation.SERIALIZABLE_SNAPSHOT || isolation == Isolation.SERIALIZABLE) {
                // on conflict, read the read set again in the same round trip for the next attempt
                reads.keySet().forEach(k -> txn.addFailure(Ops.op(Ops.get(Ops.bytes(k)))));
            }
            return conn.kv().txn(txn.build());
        }

        /** The failed commit's fresh reads, stamped with the commit's revision (sub-headers are not reliable). */
        Map<String, RangeResponse> freshReads(TxnResponse failed) {
            Map<String, RangeResponse> fresh = new LinkedHashMap<>();
            if (failed.getResponsesCount() != reads.size()) {
                return fresh;
            }
            int i = 0;
            for (String k : reads.keySet()) {
                RangeResponse r = failed.getResponses(i++).getResponseRange().toBuilder()
                        .setHeader(failed.getHeader()).build();
                fresh.put(k, r);
            }
            return fresh;
        }
    }
}
