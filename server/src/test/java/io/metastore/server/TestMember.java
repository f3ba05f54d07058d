package io.metastore.server;

import io.etcd.jetcd.Client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A real single-member MetaStore on loopback ports chosen at run time, with its own temp data dir, for
 * integration tests. {@link #restart()} keeps the data dir.
 */
public final class TestMember implements AutoCloseable {
    private final Path dataDir;
    private final ServerConfig config;
    private MetaStore member;
    private Client client;

    private TestMember(ServerConfig config, Path dataDir) throws IOException {
        this.config = config;
        this.dataDir = dataDir;
        this.member = MetaStore.start(config);
    }

    public static TestMember start(ServerConfig.StorageEngine engine) {
        return start(engine, b -> { });
    }

    public static TestMember start(ServerConfig.StorageEngine engine, Consumer<ServerConfig.Builder> tweak) {
        try {
            Path dir = Files.createTempDirectory("metastore-test");
            ServerConfig.Builder b = ServerConfig.builder("m1").dataDir(dir).storageEngine(engine)
                    .singleMemberUrls("http://127.0.0.1:" + freePort(), "http://127.0.0.1:" + freePort());
            tweak.accept(b);
            return new TestMember(b.build(), dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A member on an existing data dir (e.g. one a snapshot was restored into); the dir is deleted on close. */
    public static TestMember startOn(Path dir, ServerConfig.StorageEngine engine) {
        try {
            ServerConfig c = ServerConfig.builder("m1").dataDir(dir).storageEngine(engine)
                    .singleMemberUrls("http://127.0.0.1:" + freePort(), "http://127.0.0.1:" + freePort()).build();
            return new TestMember(c, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public String endpoint() {
        return "127.0.0.1:" + member.clientPort();
    }

    public String url() {
        return "http://" + endpoint();
    }

    /** Waits (up to 10 s) until the member knows a leader: clients sending hasleader=true (jetcd's Lock and
     *  Election) are refused with "etcdserver: no leader" until then. */
    public TestMember awaitLeader() throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (member.server().leaderName() == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return this;
    }

    public MetaStore member() {
        return member;
    }

    public ServerConfig config() {
        return config;
    }

    /** A jetcd client for this member (closed with the member). */
    public synchronized Client client() {
        if (client == null) {
            client = Client.builder().endpoints(url()).connectTimeout(Duration.ofSeconds(5)).build();
        }
        return client;
    }

    public void restart() throws IOException {
        closeClient();
        member.close();
        member = MetaStore.start(config);
    }

    private synchronized void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    @Override
    public void close() {
        closeClient();
        member.close();
        deleteRecursively(dataDir);
    }

    /** Removes a test's temp directory tree. */
    public static void deleteRecursively(Path dir) {
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
