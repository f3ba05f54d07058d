package io.metastore.server.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The reference implementation: Debian's {@code /usr/bin/etcd} (3.4.x) as a child process, one member called
 * "m1" on free loopback ports with a throw-away data dir. Differential tests run the same etcdctl commands against
 * this and against MetaStore.
 *
 * <p>The binary is required, not optional: CI installs it ({@code apt-get install etcd-server etcd-client}), and a
 * missing binary fails the test with {@link #requireBinaries()}'s message instead of silently skipping it. The path
 * can be overridden with {@code -Dmetastore.etcd.bin=...}.
 */
public final class RealEtcd implements AutoCloseable {
    public static final Path ETCD = Path.of(System.getProperty("metastore.etcd.bin", "/usr/bin/etcd"));
    static final Duration READY_TIMEOUT = Duration.ofSeconds(20);
    private static final String READY_LINE = "ready to serve client requests";

    private final Path baseDir;
    private final Path dataDir;
    private final Path logFile;
    private final int clientPort;
    private final int peerPort;
    private final Process process;
    private boolean closed;

    private RealEtcd(Path baseDir, int clientPort, int peerPort) throws IOException {
        this.baseDir = baseDir;
        this.dataDir = baseDir.resolve("data");
        this.logFile = baseDir.resolve("etcd.log");
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        List<String> cmd = new ArrayList<>(List.of(
                ETCD.toString(),
                "--name", "m1",
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", clientUrl(),
                "--advertise-client-urls", clientUrl(),
                "--listen-peer-urls", peerUrl(),
                "--initial-advertise-peer-urls", peerUrl(),
                "--initial-cluster", "m1=" + peerUrl(),
                "--initial-cluster-state", "new"));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // no inherited ETCD_* / ETCDCTL_* settings may change the member's behaviour
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
        this.process = pb.start();
    }

    /** Fails (never skips) with an actionable message when the reference binaries are not installed. */
    public static void requireBinaries() {
        for (Path p : List.of(ETCD, Etcdctl.ETCDCTL)) {
            if (!Files.isExecutable(p)) {
                throw new IllegalStateException("differential etcd tests need the real etcd: " + p
                        + " is missing or not executable. Install Debian's etcd 3.4 "
                        + "(apt-get install etcd-server etcd-client) or point -Dmetastore.etcd.bin / "
                        + "-Dmetastore.etcdctl.bin at the binaries.");
            }
        }
    }

    /**
     * Starts a member and waits (at most 20 s) until it serves clients. Retries with new ports if one of the
     * free ports was taken by someone else in the meantime.
     */
    public static RealEtcd start() {
        for (int attempt = 1; ; attempt++) {
            RealEtcd e = launch();
            try {
                return e.awaitReady();
            } catch (RuntimeException | Error t) {
                boolean portRace = e.log().contains("address already in use");
                e.close();
                if (!portRace || attempt == 3) {
                    throw t;
                }
            }
        }
    }

    /** Spawns the process without waiting; call {@link #awaitReady()} before use. */
    public static RealEtcd launch() {
        requireBinaries();
        try {
            Path dir = Files.createTempDirectory("real-etcd");
            return new RealEtcd(dir, freePort(), freePort());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until etcd logged that it serves client requests (3.4 logs this after it has a leader and published
     * itself), bounded by 20 s; fails with the log tail if it exits or does not get there.
     */
    public RealEtcd awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String log = log();
            if (log.contains(READY_LINE)) {
                return this;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd exited with " + process.exitValue() + " before serving:\n"
                        + tail(log));
            }
            sleep(20);
        }
        throw new IllegalStateException("etcd not ready after " + READY_TIMEOUT.toSeconds() + " s:\n" + tail(log()));
    }

    public String endpoint() {
        return "127.0.0.1:" + clientPort;
    }

    public String clientUrl() {
        return "http://" + endpoint();
    }

    public String peerUrl() {
        return "http://127.0.0.1:" + peerPort;
    }

    public int clientPort() {
        return clientPort;
    }

    public int peerPort() {
        return peerPort;
    }

    public long pid() {
        return process.pid();
    }

    /** Everything etcd printed so far (it logs to stderr). */
    public String log() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "<log unreadable: " + e + ">";
        }
    }

    /** Stops the process by PID (SIGTERM, then SIGKILL after 5 s) and deletes its data dir. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            io.metastore.server.TestMember.deleteRecursively(baseDir);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }


    private static String tail(String log) {
        String[] lines = log.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 30), lines.length));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
