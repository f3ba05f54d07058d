package io.metastore.concurrency.testing;

import io.metastore.concurrency.EtcdConnection;
import io.metastore.server.MetaStore;
import io.metastore.server.ServerConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The servers of this test run, started on first use and shared by all test classes (each test works under its
 * own key prefix), stopped by a shutdown hook: starting a member per test would blow the module's time budget.
 */
public final class Backends {
    private static Backend metastore;
    private static Backend etcd;
    private static Backend cluster;
    private static final List<AutoCloseable> RUNNING = new ArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (Backends.class) {
                for (AutoCloseable c : RUNNING) {
                    try {
                        c.close();
                    } catch (Exception ignored) {
                        // best effort at exit
                    }
                }
            }
        }));
    }

    private Backends() {
    }

    /** The backends the core recipes (Session, Mutex, Election, Stm) are proven against. */
    public static Stream<Backend> core() {
        return Stream.of(metastore(), etcd());
    }

    /** One in-process MetaStore member (memory engine). */
    public static synchronized Backend metastore() {
        if (metastore == null) {
            metastore = startMetaStore(1, "metastore");
        }
        return metastore;
    }

    /** Three in-process MetaStore members forming one cluster. */
    public static synchronized Backend metastoreCluster() {
        if (cluster == null) {
            cluster = startMetaStore(3, "metastore-3");
        }
        return cluster;
    }

    /** Debian's real etcd on loopback. */
    public static synchronized Backend etcd() {
        if (etcd == null) {
            RealEtcd e = RealEtcd.start();
            RUNNING.add(e);
            etcd = new Fixed("etcd-" + e.version(), List.of(e.endpoint()));
        }
        return etcd;
    }

    private record Fixed(String name, List<String> endpoints) implements Backend {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Backend startMetaStore(int n, String name) {
        try {
            Path dir = Files.createTempDirectory("sdk-" + name);
            int[] client = new int[n];
            int[] peer = new int[n];
            List<ServerConfig.InitialMember> initial = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                client[i] = freePort();
                peer[i] = freePort();
                initial.add(new ServerConfig.InitialMember("m" + (i + 1), "http://127.0.0.1:" + peer[i]));
            }
            List<CompletableFuture<MetaStore>> starts = new ArrayList<>();
            List<String> endpoints = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ServerConfig.Builder b = ServerConfig.builder("m" + (i + 1)).dataDir(dir.resolve("m" + (i + 1)))
                        .storageEngine(ServerConfig.StorageEngine.MEMORY)
                        .singleMemberUrls("http://127.0.0.1:" + client[i], "http://127.0.0.1:" + peer[i]);
                b.initialCluster = initial;
                ServerConfig c = b.build();
                endpoints.add("127.0.0.1:" + client[i]);
                // members of a new cluster start together: none waits for the others
                starts.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return MetaStore.start(c);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }));
            }
            for (CompletableFuture<MetaStore> s : starts) {
                MetaStore m = s.join();
                RUNNING.add(m);
            }
            RUNNING.add(() -> deleteRecursively(dir));
            Backend b = new Fixed(name, endpoints);
            awaitServing(b);
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every member answers a linearizable read (so a leader exists), bounded by 30 s. */
    private static void awaitServing(Backend b) {
        for (int i = 0; i < b.endpoints().size(); i++) {
            long deadline = System.nanoTime() + 30_000_000_000L;
            try (EtcdConnection c = b.connect(i)) {
                while (true) {
                    try {
                        new Kv(c).revision();
                        break;
                    } catch (RuntimeException e) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException(b + " member " + i + " not serving", e);
                        }
                        Thread.sleep(100);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
