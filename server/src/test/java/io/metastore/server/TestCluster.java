package io.metastore.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Several in-process members on loopback forming one cluster, for fast functional cluster tests. */
public final class TestCluster implements AutoCloseable {
    private final Path dir;
    private final List<ServerConfig> configs = new ArrayList<>();
    private final List<ServerConfig.InitialMember> initialCluster;
    private final ServerConfig.StorageEngine engine;
    private MetaStore[] members;

    private TestCluster(int n, ServerConfig.StorageEngine engine,
                        java.util.function.ObjIntConsumer<ServerConfig.Builder> tweak) throws IOException {
        dir = Files.createTempDirectory("metastore-cluster");
        this.engine = engine;
        List<ServerConfig.InitialMember> initial = new ArrayList<>();
        this.initialCluster = initial;
        int[] client = new int[n];
        int[] peer = new int[n];
        for (int i = 0; i < n; i++) {
            client[i] = TestMember.freePort();
            peer[i] = TestMember.freePort();
            initial.add(new ServerConfig.InitialMember("m" + (i + 1), "http://127.0.0.1:" + peer[i]));
        }
        for (int i = 0; i < n; i++) {
            ServerConfig.Builder b = ServerConfig.builder("m" + (i + 1)).dataDir(dir.resolve("m" + (i + 1)))
                    .storageEngine(engine).singleMemberUrls("http://127.0.0.1:" + client[i], "http://127.0.0.1:" + peer[i]);
            b.initialCluster = initial;
            tweak.accept(b, i);
            configs.add(b.build());
        }
        members = new MetaStore[n];
        // members start together, as a new etcd cluster does: none waits for the others
        List<CompletableFuture<Void>> starts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            starts.add(CompletableFuture.runAsync(() -> members[k] = startMember(configs.get(k))));
        }
        CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).join();
    }

    public static TestCluster start(int n, ServerConfig.StorageEngine engine) {
        return start(n, engine, b -> { });
    }

    /** With {@code tweak} applied to every member's configuration. */
    public static TestCluster start(int n, ServerConfig.StorageEngine engine,
                                    java.util.function.Consumer<ServerConfig.Builder> tweak) {
        return startEach(n, engine, (b, i) -> tweak.accept(b));
    }

    /** With {@code tweak} applied to each member's configuration and its index (0-based). */
    public static TestCluster startEach(int n, ServerConfig.StorageEngine engine,
                                        java.util.function.ObjIntConsumer<ServerConfig.Builder> tweak) {
        try {
            return new TestCluster(n, engine, tweak);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static MetaStore startMember(ServerConfig c) {
        try {
            return MetaStore.start(c);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a member that joins the running cluster (etcd's --initial-cluster-state existing) after a MemberAdd
     * with {@code peerUrl}; returns its index. Blocks until it has been admitted and caught up.
     */
    public synchronized int startJoining(String name, int clientPort, int peerPort) {
        List<ServerConfig.InitialMember> initial = new ArrayList<>(initialCluster);
        initial.add(new ServerConfig.InitialMember(name, "http://127.0.0.1:" + peerPort));
        ServerConfig.Builder b = ServerConfig.builder(name).dataDir(dir.resolve(name)).storageEngine(engine)
                .singleMemberUrls("http://127.0.0.1:" + clientPort, "http://127.0.0.1:" + peerPort);
        b.initialCluster = initial;
        b.initialClusterState = "existing";
        ServerConfig c = b.build();
        configs.add(c);
        members = java.util.Arrays.copyOf(members, members.length + 1);
        members[members.length - 1] = startMember(c);
        return members.length - 1;
    }

    /** Restarts a stopped member listening for peers on another port (after a MemberUpdate of its peer URL). */
    public synchronized void restartWithPeerPort(int i, int peerPort) {
        ServerConfig old = configs.get(i);
        String url = "http://127.0.0.1:" + peerPort;
        ServerConfig.Builder b = old.toBuilder();
        b.listenPeerUrls = List.of(url);
        b.initialAdvertisePeerUrls = List.of(url);
        b.initialCluster = old.initialCluster().stream()
                .map(m -> m.name().equals(old.name()) ? new ServerConfig.InitialMember(m.name(), url) : m).toList();
        configs.set(i, b.build());
        members[i] = startMember(configs.get(i));
    }

    public ServerConfig config(int i) {
        return configs.get(i);
    }

    public int size() {
        return members.length;
    }

    /** Null while stopped. */
    public MetaStore member(int i) {
        return members[i];
    }

    public int port(int i) {
        return members[i].clientPort();
    }

    public void stop(int i) {
        if (members[i] != null) {
            members[i].close();
            members[i] = null;
        }
    }

    public void restart(int i) {
        members[i] = startMember(configs.get(i));
    }

    /** Index of the member that currently leads, or -1. */
    public int leader() {
        for (int i = 0; i < members.length; i++) {
            if (members[i] != null && members[i].server().isLeader()) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        for (int i = 0; i < members.length; i++) {
            if (members[i] != null) {
                members[i].close();
            }
        }
        TestMember.deleteRecursively(dir);
    }
}
