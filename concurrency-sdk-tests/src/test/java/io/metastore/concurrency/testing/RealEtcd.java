package io.metastore.concurrency.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's real {@code etcd} as a child process on loopback ports (a trimmed copy of the server module's test
 * helper, whose test classes are not published). Required, never skipped: install it with
 * {@code apt-get install etcd-server} or point {@code -Dmetastore.etcd.bin} at a binary.
 */
final class RealEtcd implements AutoCloseable {
    static final Path ETCD = Path.of(System.getProperty("metastore.etcd.bin", "/usr/bin/etcd"));
    private static final String READY_LINE = "ready to serve client requests";

    private final Path baseDir;
    private final Path logFile;
    private final int clientPort;
    private final Process process;

    private RealEtcd(Path baseDir, int clientPort, int peerPort) throws IOException {
        this.baseDir = baseDir;
        this.logFile = baseDir.resolve("etcd.log");
        this.clientPort = clientPort;
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        ProcessBuilder pb = new ProcessBuilder(List.of(ETCD.toString(), "--name", "m1",
                "--data-dir", baseDir.resolve("data").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "m1=" + peer, "--initial-cluster-state", "new"))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
        this.process = pb.start();
    }

    static RealEtcd start() {
        if (!Files.isExecutable(ETCD)) {
            throw new IllegalStateException("the etcd-compatibility tests need the real etcd: " + ETCD
                    + " is missing. Install Debian's etcd (apt-get install etcd-server) or set -Dmetastore.etcd.bin");
        }
        for (int attempt = 1; ; attempt++) {
            RealEtcd e;
            try {
                e = new RealEtcd(Files.createTempDirectory("sdk-real-etcd"), Backends.freePort(), Backends.freePort());
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            try {
                return e.awaitReady();
            } catch (RuntimeException t) {
                boolean portRace = e.log().contains("address already in use");
                e.close();
                if (!portRace || attempt == 3) {
                    throw t;
                }
            }
        }
    }

    private RealEtcd awaitReady() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (log().contains(READY_LINE)) {
                return this;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd exited with " + process.exitValue() + ":\n" + log());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(ie);
            }
        }
        throw new IllegalStateException("etcd not ready after 20 s:\n" + log());
    }

    String endpoint() {
        return "127.0.0.1:" + clientPort;
    }

    /** The version etcd logged at start ("3.4.23"), for test names. */
    String version() {
        Matcher m = Pattern.compile("etcd Version: ([0-9.]+)").matcher(log());
        return m.find() ? m.group(1) : "unknown";
    }

    String log() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "<log unreadable: " + e + ">";
        }
    }

    @Override
    public void close() {
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
            Backends.deleteRecursively(baseDir);
        }
    }
}
