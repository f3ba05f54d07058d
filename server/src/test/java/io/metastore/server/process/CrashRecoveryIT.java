package io.metastore.server.process;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.HashKVRequest;
import io.metastore.proto.etcdserverpb.HashKVResponse;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrantResponse;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.proto.mvccpb.KeyValue;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kill -9 of a real member process under concurrent write load: every acknowledged write survives with its
 * value and revision, revisions stay dense and never go backwards, the lease and its keys survive, HashKV at a
 * revision taken before the crash is unchanged, and the member carries on at the next revision.
 */
class CrashRecoveryIT {
    private static final int WRITERS = 4;
    private static final long LEASE_TTL = 600;
    private static final String PREFIX = "crash/";

    /** One acknowledged change of one key. */
    record Ack(String key, String value, long revision, long lease) {}

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rocksdb", "memory"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyAcknowledgedWriteSurvivesKill9(String engine) throws Exception {
        // a small snapshot count so recovery goes through a Raft snapshot plus the log after it
        try (MemberProcess member = new MemberProcess("CrashRecoveryIT-" + engine, engine, "--snapshot-count=100")) {
            member.start();
            ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
            long leaseId;
            HashKVResponse hashBefore;
            long maxAckBeforeKill;
            List<String> writerErrors = new ArrayList<>();
            try (Closer ch = new Closer(member.channel())) {
                LeaseGrantResponse grant = MemberProcess.lease(ch.channel)
                        .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(LEASE_TTL).build());
                leaseId = grant.getID();
                assertEquals(LEASE_TTL, grant.getTTL());
                for (int j = 0; j < 5; j++) {
                    String k = PREFIX + "lease/setup-" + j;
                    String v = value("lease", j);
                    long rev = MemberProcess.kv(ch.channel).put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v))
                            .setLease(leaseId).build()).getHeader().getRevision();
                    acks.add(new Ack(k, v, rev, leaseId));
                }

                // ---- load: WRITERS threads, each records what the server acknowledged ----
                ReentrantReadWriteLock pause = new ReentrantReadWriteLock(true);
                AtomicBoolean killed = new AtomicBoolean();
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < WRITERS; t++) {
                    int id = t;
                    Thread th = new Thread(() -> writer(id, ch.channel, leaseId, pause, stop, killed, acks, writerErrors),
                            "writer-" + t);
                    th.setDaemon(true);
                    threads.add(th);
                    th.start();
                }
                awaitAcks(acks, 300, 5000);

                // ---- a pause in the load: HashKV at a fixed revision ----
                pause.writeLock().lock();
                try {
                    hashBefore = MemberProcess.maintenance(ch.channel).hashKV(HashKVRequest.newBuilder().setRevision(0).build());
                    HashKVResponse again = MemberProcess.maintenance(ch.channel)
                            .hashKV(HashKVRequest.newBuilder().setRevision(hashBefore.getHashRevision()).build());
                    assertEquals(hashBefore.getHash(), again.getHash(), "HashKV(0) and HashKV(current) differ");
                    long maxAck = acks.stream().mapToLong(Ack::revision).max().orElseThrow();
                    assertEquals(maxAck, hashBefore.getHashRevision(), "paused: the current revision is the last acknowledged one");
                } finally {
                    pause.writeLock().unlock();
                }

                // ---- more load, then kill -9 while writes are in flight ----
                awaitAcks(acks, acks.size() + 200 + ThreadLocalRandom.current().nextInt(200), 4000);
                synchronized (writerErrors) {
                    assertTrue(writerErrors.isEmpty(), "writes failed before the kill: " + writerErrors);
                }
                int acksAtKill = acks.size();
                killed.set(true);
                member.kill9();
                stop.set(true);
                for (Thread th : threads) {
                    th.join(30_000);
                    assertFalse(th.isAlive(), th.getName() + " still running 30 s after the kill");
                }
                maxAckBeforeKill = acks.stream().mapToLong(Ack::revision).max().orElseThrow();
                System.out.printf("[%s] %d writes acknowledged (%d at the kill), highest revision %d, hash@%d=%d%n",
                        engine, acks.size(), acksAtKill, maxAckBeforeKill, hashBefore.getHashRevision(), hashBefore.getHash());
                assertTrue(acks.size() > 50, "too little load to mean anything: " + acks.size());
            }

            // ---- revisions acknowledged before the crash: distinct per operation, increasing per client ----
            Map<Long, Set<String>> keysByRev = new HashMap<>();
            for (Ack a : acks) {
                keysByRev.computeIfAbsent(a.revision(), r -> new HashSet<>()).add(a.key());
            }
            for (Map.Entry<Long, Set<String>> e : keysByRev.entrySet()) {
                if (e.getValue().size() > 1) {
                    // only the two puts of one txn may share a revision
                    Set<String> stems = new HashSet<>();
                    e.getValue().forEach(k -> stems.add(k.substring(0, k.lastIndexOf('/'))));
                    assertEquals(1, stems.size(), "unrelated writes acknowledged at one revision " + e);
                }
            }

            // ---- restart on the same data dir ----
            member.start();
            try (Closer ch = new Closer(member.channel())) {
                // first a serializable read (served from local state at once): a member that says it is ready
                // must not answer from a state older than what it acknowledged before the crash
                RangeResponse early = MemberProcess.kv(ch.channel).range(RangeRequest.newBuilder()
                        .setKey(bs(PREFIX)).setRangeEnd(bs(prefixEnd(PREFIX))).setSerializable(true).setCountOnly(true)
                        .build());
                RangeResponse all = MemberProcess.kv(ch.channel).range(RangeRequest.newBuilder()
                        .setKey(bs(PREFIX)).setRangeEnd(bs(prefixEnd(PREFIX))).build());
                long current = all.getHeader().getRevision();
                assertTrue(early.getHeader().getRevision() >= maxAckBeforeKill, "serializable read right after the"
                        + " restart is at revision " + early.getHeader().getRevision() + " (" + early.getCount()
                        + " keys), below the acknowledged " + maxAckBeforeKill + " (linearizable read: revision "
                        + current + ", " + all.getCount() + " keys)");
                assertTrue(current >= maxAckBeforeKill,
                        "revision went backwards: " + current + " after restart < acknowledged " + maxAckBeforeKill);
                Map<String, KeyValue> stored = new HashMap<>();
                for (KeyValue kv : all.getKvsList()) {
                    stored.put(kv.getKey().toStringUtf8(), kv);
                }
                int missing = 0;
                List<String> problems = new ArrayList<>();
                for (Ack a : acks) {
                    KeyValue kv = stored.get(a.key());
                    if (kv == null) {
                        missing++;
                        if (problems.size() < 20) {
                            problems.add("missing " + a);
                        }
                        continue;
                    }
                    if (!kv.getValue().toStringUtf8().equals(a.value()) || kv.getModRevision() != a.revision()
                            || kv.getCreateRevision() != a.revision() || kv.getVersion() != 1 || kv.getLease() != a.lease()) {
                        if (problems.size() < 20) {
                            problems.add("changed " + a + " -> value=" + kv.getValue().toStringUtf8() + " mod="
                                    + kv.getModRevision() + " create=" + kv.getCreateRevision() + " version="
                                    + kv.getVersion() + " lease=" + kv.getLease());
                        }
                    }
                }
                assertTrue(problems.isEmpty(), missing + " acknowledged writes missing; first problems: " + problems);

                // every key is written once, so the stored mod revisions must be exactly the revisions 2..current:
                // a gap or a repeat would mean a lost or doubly applied log entry
                TreeSet<Long> revs = new TreeSet<>();
                for (KeyValue kv : all.getKvsList()) {
                    revs.add(kv.getModRevision());
                    assertTrue(kv.getValue().toStringUtf8().startsWith(kv.getKey().toStringUtf8().replace(PREFIX, "")
                            .replaceAll("/.*", "")), "value of " + kv.getKey().toStringUtf8() + " is not one we wrote");
                }
                assertEquals(current, revs.last(), "current revision without a key written at it");
                // revision 1 is the empty store; the lease grant does not take a revision
                assertEquals(2L, revs.first(), "first write revision");
                assertEquals(current - 1, revs.size(), "revisions 2.." + current + " are not dense: " + gaps(revs));

                // the lease: still there, its keys attached, a sensible remaining TTL
                LeaseTimeToLiveResponse ttl = MemberProcess.lease(ch.channel).leaseTimeToLive(
                        LeaseTimeToLiveRequest.newBuilder().setID(leaseId).setKeys(true).build());
                assertEquals(LEASE_TTL, ttl.getGrantedTTL(), "granted TTL");
                assertTrue(ttl.getTTL() > 0 && ttl.getTTL() <= LEASE_TTL, "remaining TTL " + ttl.getTTL());
                Set<String> leaseKeys = new TreeSet<>();
                ttl.getKeysList().forEach(k -> leaseKeys.add(k.toStringUtf8()));
                Set<String> storedWithLease = new TreeSet<>();
                stored.forEach((k, kv) -> {
                    if (kv.getLease() == leaseId) {
                        storedWithLease.add(k);
                    }
                });
                assertEquals(storedWithLease, leaseKeys, "keys attached to the lease vs keys stored with it");
                for (Ack a : acks) {
                    if (a.lease() != 0) {
                        assertTrue(leaseKeys.contains(a.key()), a.key() + " lost its lease");
                    }
                }

                // HashKV at the revision hashed before the crash
                HashKVResponse hashAfter = MemberProcess.maintenance(ch.channel)
                        .hashKV(HashKVRequest.newBuilder().setRevision(hashBefore.getHashRevision()).build());
                assertEquals(hashBefore.getHashRevision(), hashAfter.getHashRevision(), "hash revision");
                assertEquals(hashBefore.getCompactRevision(), hashAfter.getCompactRevision(), "compact revision");
                assertEquals(hashBefore.getHash(), hashAfter.getHash(), "HashKV at " + hashBefore.getHashRevision()
                        + " before the crash and after the restart");

                // the store takes new writes at the next revision
                long next = MemberProcess.kv(ch.channel).put(PutRequest.newBuilder().setKey(bs(PREFIX + "after"))
                        .setValue(bs("after")).build()).getHeader().getRevision();
                assertEquals(current + 1, next, "first write after the restart");
                RangeResponse after = MemberProcess.kv(ch.channel).range(RangeRequest.newBuilder().setKey(bs(PREFIX + "after")).build());
                assertEquals(next, after.getKvs(0).getModRevision());
            }
            assertEquals(List.of(1, 1), readyCounts(member), "'" + MemberProcess.READY_LINE + "' once per start");
        }
    }

    /** Lets the load run until {@code n} writes are acknowledged, or at most {@code maxMillis} (busy machines). */
    static void awaitAcks(ConcurrentLinkedQueue<?> acks, int n, long maxMillis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMillis);
        while (acks.size() < n && System.nanoTime() < end) {
            Thread.sleep(20);
        }
    }

    static List<Integer> readyCounts(MemberProcess member) throws java.io.IOException {
        List<Integer> counts = new ArrayList<>();
        for (var log : member.startLogs()) {
            counts.add(MemberProcess.readyCount(log));
        }
        return counts;
    }

    /** Puts and txns until stopped; each acknowledged change goes to {@code acks}. */
    private static void writer(int id, ManagedChannel ch, long leaseId, ReentrantReadWriteLock pause, AtomicBoolean stop,
                               AtomicBoolean killed, ConcurrentLinkedQueue<Ack> acks, List<String> errors) {
        long lastRev = 0;
        for (int i = 0; !stop.get(); i++) {
            pause.readLock().lock();
            try {
                List<Ack> done = new ArrayList<>(2);
                if (i % 10 == 5) {
                    // a txn whose compare holds: two puts at one revision
                    String a = PREFIX + "w" + id + "/txn-" + i + "/a";
                    String b = PREFIX + "w" + id + "/txn-" + i + "/b";
                    String va = value("w" + id, i);
                    String vb = value("w" + id, i);
                    TxnResponse r = MemberProcess.kv(ch).txn(TxnRequest.newBuilder()
                            .addCompare(Compare.newBuilder().setKey(bs(a)).setTarget(Compare.CompareTarget.MOD)
                                    .setResult(Compare.CompareResult.EQUAL).setModRevision(0))
                            .addSuccess(put(a, va, 0)).addSuccess(put(b, vb, 0))
                            .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(a))))
                            .build());
                    if (!r.getSucceeded()) {
                        throw new AssertionError("txn on a fresh key took the failure branch");
                    }
                    done.add(new Ack(a, va, r.getHeader().getRevision(), 0));
                    done.add(new Ack(b, vb, r.getHeader().getRevision(), 0));
                } else if (i % 10 == 8) {
                    // a txn whose compare fails: the failure branch writes
                    String f = PREFIX + "w" + id + "/txnf-" + i + "/f";
                    String vf = value("w" + id, i);
                    TxnResponse r = MemberProcess.kv(ch).txn(TxnRequest.newBuilder()
                            .addCompare(Compare.newBuilder().setKey(bs(f)).setTarget(Compare.CompareTarget.VALUE)
                                    .setResult(Compare.CompareResult.EQUAL).setValue(bs("never")))
                            .addSuccess(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(f))))
                            .addFailure(put(f, vf, 0))
                            .build());
                    if (r.getSucceeded()) {
                        throw new AssertionError("txn compare against a missing key succeeded");
                    }
                    done.add(new Ack(f, vf, r.getHeader().getRevision(), 0));
                } else {
                    long lease = i % 25 == 3 ? leaseId : 0;
                    String k = PREFIX + (lease != 0 ? "lease/w" + id + "-" + i : "w" + id + "/put-" + i);
                    String v = value(lease != 0 ? "lease" : "w" + id, i);
                    long rev = MemberProcess.kv(ch).put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v))
                            .setLease(lease).build()).getHeader().getRevision();
                    done.add(new Ack(k, v, rev, lease));
                }
                long rev = done.get(0).revision();
                if (rev <= lastRev) {
                    throw new AssertionError("writer " + id + ": revision " + rev + " after " + lastRev);
                }
                lastRev = rev;
                acks.addAll(done);
            } catch (RuntimeException | AssertionError e) {
                if (!killed.get() || e instanceof AssertionError) {
                    synchronized (errors) {
                        errors.add("writer " + id + " op " + i + ": " + e);
                    }
                }
                return;
            } finally {
                pause.readLock().unlock();
            }
        }
    }

    private static RequestOp put(String k, String v, long lease) {
        return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v)).setLease(lease))
                .build();
    }

    /** About 100 bytes, starting with the writer's tag so a stray value is recognisable. */
    static String value(String tag, int i) {
        StringBuilder sb = new StringBuilder(tag).append('-').append(i).append('-');
        ThreadLocalRandom r = ThreadLocalRandom.current();
        while (sb.length() < 100) {
            sb.append((char) ('a' + r.nextInt(26)));
        }
        return sb.toString();
    }

    static ByteString bs(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    static String prefixEnd(String prefix) {
        char[] c = prefix.toCharArray();
        c[c.length - 1]++;
        return new String(c);
    }

    private static String gaps(TreeSet<Long> revs) {
        List<String> out = new ArrayList<>();
        long prev = revs.first() - 1;
        for (long r : revs) {
            if (r != prev + 1 && out.size() < 10) {
                out.add((prev + 1) + ".." + (r - 1));
            }
            prev = r;
        }
        return out.toString();
    }

    /** A channel closed (hard) at the end of a try block. */
    static final class Closer implements AutoCloseable {
        final ManagedChannel channel;

        Closer(ManagedChannel channel) {
            this.channel = channel;
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
