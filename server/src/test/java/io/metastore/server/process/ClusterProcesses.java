package io.metastore.server.process;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.etcdserverpb.HashKVRequest;
import io.metastore.proto.etcdserverpb.HashKVResponse;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.MaintenanceGrpc;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.StatusRequest;
import io.metastore.proto.etcdserverpb.StatusResponse;
import io.metastore.proto.mvccpb.KeyValue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.metastore.server.process.CrashRecoveryIT.bs;
import static io.metastore.server.process.CrashRecoveryIT.prefixEnd;

/**
 * N MetaStore members as OS processes ({@link MemberProcess}) forming one cluster through a shared
 * {@code --initial-cluster}: on loopback ports chosen at run time, or on given addresses inside network namespaces.
 * Members run with etcd-like timings ({@code --heartbeat-interval=100 --election-timeout=1000}) unless the extra
 * flags say otherwise. Members are addressed by index (0-based; member i is named m(i+1)). {@link #close()} kills
 * every process this object started, by PID, and deletes their data dirs (logs stay under
 * {@code server/target/process-logs/<label>/}).
 */
final class ClusterProcesses implements AutoCloseable {
    static final Duration ELECTION_TIMEOUT = Duration.ofMillis(1000);
    static final List<String> TIMING_FLAGS = List.of("--heartbeat-interval=100",
            "--election-timeout=" + ELECTION_TIMEOUT.toMillis());
    /** etcd's request timeout for these timings: 5 s + 2 x election timeout (RaftConfig.requestTimeout). */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5).plus(ELECTION_TIMEOUT.multipliedBy(2));

    private final List<MemberProcess> members = new ArrayList<>();
    private final ManagedChannel[] channels;
    private final long[] ids;

    private ClusterProcesses(String label, List<String> hosts, List<String> netns, int[] clientPorts, int[] peerPorts,
                             String engine, List<String> extraFlags) throws IOException {
        int n = hosts.size();
        List<String> initial = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            initial.add(name(i) + "=http://" + hosts.get(i) + ":" + peerPorts[i]);
        }
        List<String> flags = new ArrayList<>(TIMING_FLAGS);
        flags.addAll(extraFlags);
        try {
            for (int i = 0; i < n; i++) {
                members.add(MemberProcess.clusterMember(label + "/" + name(i), name(i), hosts.get(i), clientPorts[i],
                        peerPorts[i], String.join(",", initial), null, netns == null ? null : netns.get(i), engine,
                        flags));
            }
        } catch (IOException | RuntimeException e) {
            members.forEach(MemberProcess::close);
            throw e;
        }
        this.channels = new ManagedChannel[n];
        this.ids = new long[n];
    }

    /** {@code n} members on loopback ports chosen now. */
    static ClusterProcesses onLoopback(String label, int n, String engine, String... extraFlags) throws IOException {
        int[] client = new int[n];
        int[] peer = new int[n];
        List<Integer> taken = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            client[i] = distinctFreePort(taken);
            peer[i] = distinctFreePort(taken);
        }
        return new ClusterProcesses(label, java.util.Collections.nCopies(n, "127.0.0.1"), null, client, peer, engine,
                List.of(extraFlags));
    }

    /** One member per namespace, member i on {@code ips.get(i)} ports 2379 (client) and 2380 (peer). */
    static ClusterProcesses inNamespaces(String label, List<String> netns, List<String> ips, String engine,
                                         String... extraFlags) throws IOException {
        int n = ips.size();
        int[] client = new int[n];
        int[] peer = new int[n];
        java.util.Arrays.fill(client, 2379);
        java.util.Arrays.fill(peer, 2380);
        return new ClusterProcesses(label, ips, netns, client, peer, engine, List.of(extraFlags));
    }

    private static int distinctFreePort(List<Integer> taken) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int p = MemberProcess.freePort();
            if (!taken.contains(p)) {
                taken.add(p);
                return p;
            }
        }
        throw new IOException("no distinct free port after 50 attempts");
    }

    static String name(int i) {
        return "m" + (i + 1);
    }

    int size() {
        return members.size();
    }

    MemberProcess member(int i) {
        return members.get(i);
    }

    List<Integer> all() {
        return IntStream.range(0, size()).boxed().toList();
    }

    List<Integer> allBut(int... excluded) {
        return IntStream.range(0, size()).filter(i -> IntStream.of(excluded).noneMatch(e -> e == i)).boxed().toList();
    }

    /** Launches every member together (as a new etcd cluster starts), then waits until each serves clients. */
    ClusterProcesses startAll() throws IOException, InterruptedException {
        for (MemberProcess m : members) {
            m.launch();
        }
        for (MemberProcess m : members) {
            m.awaitReady();
        }
        for (int i = 0; i < size(); i++) {
            ids[i] = awaitStatus(i, Duration.ofSeconds(20)).getHeader().getMemberId();
        }
        return this;
    }

    /** Restarts member i on its data dir and ports; its shared channel is replaced (no reconnect backoff). */
    void restart(int i) throws IOException, InterruptedException {
        members.get(i).start();
        resetChannel(i);
    }

    /** The member's etcd id (as in Status.leader and response headers). */
    long id(int i) {
        return ids[i];
    }

    int indexOf(long memberId) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == memberId) {
                return i;
            }
        }
        return -1;
    }

    /** A channel to member i shared by the test's threads. */
    synchronized ManagedChannel channel(int i) {
        if (channels[i] == null) {
            channels[i] = members.get(i).channel();
        }
        return channels[i];
    }

    synchronized void resetChannel(int i) {
        if (channels[i] != null) {
            channels[i].shutdownNow();
        }
        channels[i] = members.get(i).channel();
    }

    KVGrpc.KVBlockingStub kv(int i, Duration deadline) {
        return KVGrpc.newBlockingStub(channel(i)).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    MaintenanceGrpc.MaintenanceBlockingStub maintenance(int i, Duration deadline) {
        return MaintenanceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    StatusResponse status(int i) {
        return maintenance(i, Duration.ofSeconds(2)).status(StatusRequest.getDefaultInstance());
    }

    private StatusResponse awaitStatus(int i, Duration bound) throws InterruptedException {
        long end = System.nanoTime() + bound.toNanos();
        while (true) {
            try {
                return status(i);
            } catch (StatusRuntimeException e) {
                if (System.nanoTime() > end) {
                    throw new AssertionError(members.get(i) + " answers no Status within " + bound + ": " + e);
                }
                Thread.sleep(100);
            }
        }
    }

    /** Status of each of {@code among} that answers within 2 s (the others are left out). */
    Map<Integer, StatusResponse> statuses(Collection<Integer> among) {
        Map<Integer, StatusResponse> out = new LinkedHashMap<>();
        for (int i : among) {
            try {
                out.put(i, status(i));
            } catch (StatusRuntimeException e) {
                // down, frozen or unreachable
            }
        }
        return out;
    }

    /**
     * Polls until a member among {@code among} that satisfies {@code accept} reports itself leader and every other
     * answering member of {@code among} names it leader too; fails after {@code bound}.
     */
    int awaitLeader(Collection<Integer> among, IntPredicate accept, Duration bound) throws InterruptedException {
        long end = System.nanoTime() + bound.toNanos();
        Map<Integer, StatusResponse> last = Map.of();
        while (true) {
            last = statuses(among);
            for (Map.Entry<Integer, StatusResponse> e : last.entrySet()) {
                int i = e.getKey();
                if (e.getValue().getLeader() == ids[i] && accept.test(i)) {
                    boolean agreed = last.values().stream().allMatch(s -> s.getLeader() == ids[i]);
                    if (agreed) {
                        return i;
                    }
                }
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("no agreed leader among " + names(among) + " within " + bound + ": "
                        + describe(last));
            }
            Thread.sleep(20);
        }
    }

    int awaitLeader(Duration bound) throws InterruptedException {
        return awaitLeader(all(), i -> true, bound);
    }

    /** Member names and what their Status says (leader, term, revision, applied index), for messages. */
    String describe(Map<Integer, StatusResponse> statuses) {
        return statuses.entrySet().stream().map(e -> name(e.getKey()) + "{leader=" + nameOf(e.getValue().getLeader())
                + ", term=" + e.getValue().getRaftTerm() + ", rev=" + e.getValue().getHeader().getRevision()
                + ", applied=" + e.getValue().getRaftAppliedIndex() + ", errors=" + e.getValue().getErrorsList() + "}")
                .collect(Collectors.joining(", ", "[", "]"));
    }

    String nameOf(long memberId) {
        int i = indexOf(memberId);
        return i < 0 ? (memberId == 0 ? "none" : Long.toUnsignedString(memberId)) : name(i);
    }

    static String names(Collection<Integer> among) {
        return among.stream().map(ClusterProcesses::name).collect(Collectors.joining(",", "[", "]"));
    }

    /**
     * Polls until every member of {@code among} reports the same store revision and Raft applied index twice in
     * a row (no write in between); returns that revision. Fails after {@code bound}.
     */
    long awaitConverged(Collection<Integer> among, Duration bound) throws InterruptedException {
        long end = System.nanoTime() + bound.toNanos();
        String previous = null;
        Map<Integer, StatusResponse> last = Map.of();
        while (true) {
            last = statuses(among);
            if (last.size() == among.size()) {
                long rev = last.values().iterator().next().getHeader().getRevision();
                long applied = last.values().iterator().next().getRaftAppliedIndex();
                boolean same = last.values().stream().allMatch(s -> s.getHeader().getRevision() == rev
                        && s.getRaftAppliedIndex() == applied);
                String now = rev + "/" + applied;
                if (same && now.equals(previous)) {
                    return rev;
                }
                previous = same ? now : null;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError(names(among) + " did not converge within " + bound + ": " + describe(last));
            }
            Thread.sleep(100);
        }
    }

    HashKVResponse hashKv(int i, long revision) {
        return maintenance(i, Duration.ofSeconds(30)).hashKV(HashKVRequest.newBuilder().setRevision(revision).build());
    }

    /** HashKV at {@code revision} on each member of {@code among}, by member index. */
    Map<Integer, HashKVResponse> hashes(Collection<Integer> among, long revision) {
        Map<Integer, HashKVResponse> out = new LinkedHashMap<>();
        for (int i : among) {
            out.put(i, hashKv(i, revision));
        }
        return out;
    }

    /** Every key under {@code prefix} as member i has it locally (a serializable read). */
    Map<String, KeyValue> localKeys(int i, String prefix) {
        RangeResponse r = kv(i, Duration.ofSeconds(30)).range(RangeRequest.newBuilder().setKey(bs(prefix))
                .setRangeEnd(bs(prefixEnd(prefix))).setSerializable(true).build());
        Map<String, KeyValue> out = new HashMap<>();
        for (KeyValue kv : r.getKvsList()) {
            out.put(kv.getKey().toStringUtf8(), kv);
        }
        return out;
    }

    @Override
    public void close() {
        synchronized (this) {
            for (ManagedChannel ch : channels) {
                if (ch != null) {
                    ch.shutdownNow();
                }
            }
        }
        for (MemberProcess m : members) {
            m.close();
        }
    }
}
