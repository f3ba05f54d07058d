package io.metastore.server.process;

import io.grpc.StatusRuntimeException;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.metastore.server.process.CrashRecoveryIT.bs;
import static io.metastore.server.process.CrashRecoveryIT.value;

/**
 * Writer threads spread over every member's client port, each putting keys of its own ({@code prefix + "w" + t + "/"
 * + i}, each key once) and recording which puts were acknowledged. A failed put is sent again, with the same value,
 * to the next member, a bounded number of times; a put that was retried may have been applied twice (etcd clients
 * have the same ambiguity), which {@link Ack#attempts()} tells. A key given up on is in {@link #abandoned}.
 */
final class ClusterLoad implements AutoCloseable {
    static final int MAX_ATTEMPTS = 20;
    /** Longer than the server's request timeout, so the server's own error comes first. */
    static final Duration PUT_DEADLINE = ClusterProcesses.REQUEST_TIMEOUT.plusSeconds(3);

    /** One acknowledged put. */
    record Ack(String key, String value, long revision, int member, int attempts, long nanos) {}

    final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> abandoned = new ConcurrentLinkedQueue<>();
    /** "CODE: description" of every failed attempt, counted. */
    final Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
    private final ClusterProcesses cluster;
    private final String prefix;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    /** Members the writers do not send to (e.g. one that is frozen, so no put waits for a deadline there). */
    final java.util.Set<Integer> avoid = ConcurrentHashMap.newKeySet();

    private final int valueBytes;

    ClusterLoad(ClusterProcesses cluster, String prefix, int writers) {
        this(cluster, prefix, writers, 100);
    }

    /** @param valueBytes the size of each value (at least 100) */
    ClusterLoad(ClusterProcesses cluster, String prefix, int writers, int valueBytes) {
        this.cluster = cluster;
        this.prefix = prefix;
        this.valueBytes = valueBytes;
        for (int t = 0; t < writers; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    write(id);
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "load-writer-" + t);
            th.setDaemon(true);
            threads.add(th);
        }
    }

    ClusterLoad start() {
        threads.forEach(Thread::start);
        return this;
    }

    private void write(int id) throws InterruptedException {
        int n = cluster.size();
        for (int i = 0; !stop.get(); i++) {
            String key = String.format("%sw%d/%06d", prefix, id, i);
            String val = valueBytes <= 100 ? value("w" + id, i) : bigValue("w" + id, i, valueBytes);
            int member = (id + i) % n;
            boolean done = false;
            for (int attempt = 1; attempt <= MAX_ATTEMPTS && !done; attempt++) {
                for (int k = 0; k < n && avoid.contains(member); k++) {
                    member = (member + 1) % n;
                }
                try {
                    PutResponse r = cluster.kv(member, PUT_DEADLINE)
                            .put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs(val)).build());
                    long now = System.nanoTime();
                    acks.add(new Ack(key, val, r.getHeader().getRevision(), member, attempt, now));
                    done = true;
                } catch (StatusRuntimeException e) {
                    errors.computeIfAbsent(describe(e), x -> new AtomicInteger()).incrementAndGet();
                    member = (member + 1) % n;
                    if (stop.get()) {
                        break;
                    }
                    Thread.sleep(Math.min(500, 50L * attempt));
                }
            }
            if (!done) {
                abandoned.add(key);
            }
        }
    }

    /** {@code size} bytes starting with the writer's tag, random letters after it. */
    static String bigValue(String tag, int i, int size) {
        StringBuilder sb = new StringBuilder(size).append(tag).append('-').append(i).append('-');
        java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
        while (sb.length() < size) {
            sb.append((char) ('a' + r.nextInt(26)));
        }
        return sb.toString();
    }

    static String describe(StatusRuntimeException e) {
        String d = e.getStatus().getDescription();
        if (d != null && d.length() > 100) {
            d = d.substring(0, 100) + "...";
        }
        return e.getStatus().getCode() + ": " + d;
    }

    int acked() {
        return acks.size();
    }

    /** Waits until {@code n} puts in all are acknowledged; false if that takes longer than {@code bound}. */
    boolean awaitAcks(int n, Duration bound) throws InterruptedException {
        long end = System.nanoTime() + bound.toNanos();
        while (acks.size() < n) {
            if (System.nanoTime() > end || !failures.isEmpty()) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /** Stops the writers (bounded wait) and fails on anything unexpected they ran into. */
    void stop() throws InterruptedException {
        stop.set(true);
        long end = System.nanoTime() + PUT_DEADLINE.plusSeconds(5).toNanos();
        for (Thread t : threads) {
            t.join(Math.max(1, (end - System.nanoTime()) / 1_000_000));
            if (t.isAlive()) {
                throw new AssertionError(t.getName() + " did not stop");
            }
        }
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError("writer failed: " + failures.peek());
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    Map<String, Integer> errorCounts() {
        Map<String, Integer> out = new TreeMap<>();
        errors.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join(PUT_DEADLINE.plusSeconds(5).toMillis());
        }
    }
}
