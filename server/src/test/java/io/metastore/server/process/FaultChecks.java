package io.metastore.server.process;

import io.metastore.proto.etcdserverpb.HashKVResponse;
import io.metastore.proto.mvccpb.KeyValue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks shared by the multi-member fault ITs. */
final class FaultChecks {
    private FaultChecks() {
    }

    /** What {@link #assertConvergedWithEveryAck} found. */
    record Converged(long revision, long hash, int keys, int retriedAcks, int appliedTwice, int unackedPresent) {}

    /**
     * Waits until {@code among} converge, then: HashKV at the common revision is equal on all of them; each member's
     * local (serializable) view of {@code prefix} is the same, key for key (value, create/mod revision, version);
     * every acknowledged put is there with its value; a put acknowledged at the first attempt is there exactly
     * once (mod revision = acknowledged revision, version 1); a retried one at most once per attempt.
     */
    static Converged assertConvergedWithEveryAck(ClusterProcesses c, Collection<Integer> among, String prefix,
                                                 Collection<ClusterLoad.Ack> acks, Duration bound)
            throws InterruptedException {
        long rev = c.awaitConverged(among, bound);
        Map<Integer, HashKVResponse> hashes = c.hashes(among, rev);
        long hash = hashes.values().iterator().next().getHash();
        for (Map.Entry<Integer, HashKVResponse> e : hashes.entrySet()) {
            assertEquals(rev, e.getValue().getHashRevision(), "hash revision on " + ClusterProcesses.name(e.getKey()));
            assertEquals(hash, e.getValue().getHash(), "HashKV at " + rev + " differs: " + describe(hashes));
        }
        Map<String, KeyValue> reference = null;
        int refMember = -1;
        for (int i : among) {
            Map<String, KeyValue> local = c.localKeys(i, prefix);
            if (reference == null) {
                reference = local;
                refMember = i;
            } else if (!reference.equals(local)) {
                List<String> diff = new ArrayList<>();
                for (String k : reference.keySet()) {
                    if (!reference.get(k).equals(local.get(k)) && diff.size() < 10) {
                        diff.add(k + ": " + brief(reference.get(k)) + " vs " + brief(local.get(k)));
                    }
                }
                for (String k : local.keySet()) {
                    if (!reference.containsKey(k) && diff.size() < 10) {
                        diff.add(k + ": missing vs " + brief(local.get(k)));
                    }
                }
                throw new AssertionError(ClusterProcesses.name(refMember) + " and " + ClusterProcesses.name(i)
                        + " differ under " + prefix + " at revision " + rev + " (" + reference.size() + " vs "
                        + local.size() + " keys): " + diff);
            }
        }
        assertTrue(reference != null, "no member to check");
        List<String> problems = new ArrayList<>();
        int retried = 0;
        int twice = 0;
        java.util.Set<String> ackedKeys = new java.util.HashSet<>();
        for (ClusterLoad.Ack a : acks) {
            ackedKeys.add(a.key());
            KeyValue kv = reference.get(a.key());
            if (a.attempts() > 1) {
                retried++;
            }
            if (kv == null) {
                problems.add("missing acknowledged " + a);
            } else if (!kv.getValue().toStringUtf8().equals(a.value())) {
                problems.add("wrong value for " + a + ": " + brief(kv));
            } else if (a.attempts() == 1 && (kv.getModRevision() != a.revision() || kv.getVersion() != 1)) {
                problems.add("acknowledged once at revision " + a.revision() + " but stored as " + brief(kv));
            } else if (kv.getVersion() > a.attempts()) {
                problems.add("applied more often than sent: " + a + " stored as " + brief(kv));
            } else if (kv.getVersion() > 1) {
                twice++;
            }
            if (problems.size() >= 20) {
                break;
            }
        }
        assertTrue(problems.isEmpty(), problems.size() + "+ problems with acknowledged puts: " + problems);
        int unackedPresent = (int) reference.keySet().stream().filter(k -> !ackedKeys.contains(k)).count();
        return new Converged(rev, hash, reference.size(), retried, twice, unackedPresent);
    }

    static String describe(Map<Integer, HashKVResponse> hashes) {
        StringBuilder sb = new StringBuilder();
        hashes.forEach((i, h) -> sb.append(ClusterProcesses.name(i)).append("=").append(Integer.toUnsignedString(
                h.getHash())).append("@").append(h.getHashRevision()).append(" "));
        return sb.toString().trim();
    }

    static String brief(KeyValue kv) {
        if (kv == null) {
            return "missing";
        }
        String v = kv.getValue().toStringUtf8();
        return "{value=" + (v.length() > 16 ? v.substring(0, 16) + "..." : v) + ", create=" + kv.getCreateRevision()
                + ", mod=" + kv.getModRevision() + ", version=" + kv.getVersion() + ", lease=" + kv.getLease() + "}";
    }

    /**
     * Runs {@code call} on a thread of its own (not the common pool, which has a single thread on a 2-core machine,
     * so blocking calls there would run one after the other).
     */
    static <T> java.util.concurrent.CompletableFuture<T> async(String name, java.util.function.Supplier<T> call) {
        java.util.concurrent.CompletableFuture<T> f = new java.util.concurrent.CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(call.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return f;
    }

    static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }
}
