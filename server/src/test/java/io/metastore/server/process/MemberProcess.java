package io.metastore.server.process;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.MaintenanceGrpc;

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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One MetaStore member as a real OS process, started the way {@code scripts/metastore} starts it
 * ({@code java -cp server/target/metastore-server.jar:server/target/lib/* io.metastore.server.launcher.Main}
 * with etcd's flags), on loopback ports chosen at run time. Each start writes the process's stdout and
 * stderr to its own log file under {@code server/target/process-logs/<test>/} (kept for diagnostics). The
 * member can be killed (SIGKILL), stopped (SIGTERM), frozen (SIGSTOP/SIGCONT) and restarted on the same data
 * dir and ports. {@link #close()} always kills what this object started, by PID.
 *
 * <p>Diagnostics: the system property {@code metastore.member.jvmArgs} adds JVM options to every member (e.g. a
 * logback configuration with Ratis at INFO), and {@code metastore.keepDataDirs=true} keeps the data dirs.
 */
public final class MemberProcess implements AutoCloseable {
    public static final String READY_LINE = "ready to serve client requests";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(45);

    private final Path root;
    private static final String LOOPBACK = "127.0.0.1";

    private final String label;
    private final String name;
    private final String host;
    private final String netns;
    private final String token;
    private final String initialCluster;
    private final Path dataDir;
    private final Path logDir;
    private final String engine;
    private final List<String> extraFlags;
    private final int clientPort;
    private final int peerPort;
    private final List<Path> startLogs = new ArrayList<>();
    private final Thread reaper;
    private Process process;

    /**
     * A single-member cluster named m1 on loopback ports chosen now.
     *
     * @param label      names the log directory (e.g. the test and engine)
     * @param engine     "rocksdb" or "memory", or null for the launcher's default
     * @param extraFlags more etcd flags, e.g. "--snapshot-count=1000"
     */
    public MemberProcess(String label, String engine, String... extraFlags) throws IOException {
        this(label, "m1", LOOPBACK, freePort(), -1, null, null, null, engine, List.of(extraFlags));
    }

    /**
     * One member of a cluster whose members are all given in {@code initialCluster} (etcd's
     * {@code --initial-cluster} value, {@code name=http://host:peerPort,...}).
     *
     * @param host   the address both the client and the peer URL bind to (127.0.0.1, or a namespace's address)
     * @param netns  a network namespace to run in ({@code ip netns exec NETNS java ...}), or null
     * @param token  {@code --initial-cluster-token}, or null for the launcher's default
     */
    public static MemberProcess clusterMember(String label, String name, String host, int clientPort, int peerPort,
                                              String initialCluster, String token, String netns, String engine,
                                              List<String> extraFlags) throws IOException {
        return new MemberProcess(label, name, host, clientPort, peerPort, initialCluster, token, netns, engine,
                extraFlags);
    }

    private MemberProcess(String label, String name, String host, int clientPort, int peerPort,
                          String initialCluster, String token, String netns, String engine, List<String> extraFlags)
            throws IOException {
        this.root = repoRoot();
        this.label = label;
        this.name = name;
        this.host = host;
        this.netns = netns;
        this.token = token;
        this.engine = engine;
        this.extraFlags = List.copyOf(extraFlags);
        Path jar = root.resolve("server/target/metastore-server.jar");
        Path lib = root.resolve("server/target/lib");
        if (!Files.isRegularFile(jar) || !Files.isDirectory(lib)) {
            throw new IllegalStateException(jar + " or " + lib + " missing: run `mvn package` (or verify) first");
        }
        this.dataDir = Files.createTempDirectory("metastore-proc-");
        this.logDir = root.resolve("server/target/process-logs").resolve(label);
        Files.createDirectories(logDir);
        try (Stream<Path> old = Files.list(logDir)) {
            for (Path p : (Iterable<Path>) old::iterator) {
                if (Files.isRegularFile(p)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        this.clientPort = clientPort;
        int p = peerPort;
        while (p <= 0 || p == clientPort) {
            p = freePort();
        }
        this.peerPort = p;
        this.initialCluster = initialCluster != null ? initialCluster : name + "=" + peerUrl();
        // a test JVM that dies without close() must not leave a member running
        this.reaper = new Thread(this::killNow, "member-process-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    /** The repository root: the first directory at or above the working directory with scripts/metastore. */
    public static Path repoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("scripts/metastore")) && Files.isRegularFile(d.resolve("server/pom.xml"))) {
                return d;
            }
        }
        throw new IllegalStateException("repository root not found above " + dir);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public int clientPort() {
        return clientPort;
    }

    public int peerPort() {
        return peerPort;
    }

    public String name() {
        return name;
    }

    public String host() {
        return host;
    }

    public String clientUrl() {
        return "http://" + host + ":" + clientPort;
    }

    public String peerUrl() {
        return "http://" + host + ":" + peerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The log file of each start so far, oldest first. */
    public List<Path> startLogs() {
        return List.copyOf(startLogs);
    }

    public Path currentLog() {
        return startLogs.get(startLogs.size() - 1);
    }

    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("not started");
        }
        return process.pid();
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Starts the member (again, on the same data dir and ports) and waits, bounded, until it serves clients. */
    public MemberProcess start() throws IOException, InterruptedException {
        launch();
        return awaitReady();
    }

    /**
     * Starts the process (again, on the same data dir and ports) without waiting for it: members of a new
     * cluster are launched together, then {@link #awaitReady()} is called on each.
     */
    public synchronized MemberProcess launch() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("already running, pid " + process.pid());
        }
        String peer = peerUrl();
        String client = clientUrl();
        List<String> cmd = new ArrayList<>();
        if (netns != null) {
            // ip netns exec execs the command: the PID of the Process is the member's JVM
            cmd.addAll(List.of("ip", "netns", "exec", netns));
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // scripts/metastore's default options, plus a modest heap: several members may run at once
        cmd.addAll(List.of("-XX:+UseG1GC", "-Xss1m", "-XX:+ExitOnOutOfMemoryError",
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:TieredStopAtLevel=1"));
        // diagnostics: e.g. -Dmetastore.member.jvmArgs=-Dlogback.configurationFile=/path/to/logback.xml
        String more = System.getProperty("metastore.member.jvmArgs", "").trim();
        if (!more.isEmpty()) {
            cmd.addAll(List.of(more.split("\\s+")));
        }
        cmd.add("-cp");
        cmd.add(root.resolve("server/target/metastore-server.jar") + ":" + root.resolve("server/target/lib") + "/*");
        cmd.add("io.metastore.server.launcher.Main");
        cmd.addAll(List.of("--name", name, "--data-dir", dataDir.toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initialCluster, "--initial-cluster-state", "new"));
        if (token != null) {
            cmd.add("--initial-cluster-token=" + token);
        }
        if (engine != null) {
            cmd.add("--storage-engine=" + engine);
        }
        cmd.add("--log-format=console"); // readable test logs; a test's own --log-format comes later and wins
        cmd.addAll(extraFlags);
        Path log = logDir.resolve("start-" + (startLogs.size() + 1) + ".log");
        Files.writeString(log, "# " + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCD_") || k.equals("JAVA_TOOL_OPTIONS"));
        startLogs.add(log);
        process = pb.start();
        return this;
    }

    /** Waits, bounded, until the last {@link #launch()} logs that it serves clients. */
    public MemberProcess awaitReady() throws IOException, InterruptedException {
        Process p;
        Path log;
        synchronized (this) {
            p = current();
            log = currentLog();
        }
        awaitReady(p, log);
        return this;
    }

    private void awaitReady(Process p, Path log) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (readyCount(log) > 0) {
                return;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("member exited with " + p.exitValue() + " before it was ready; log "
                        + log + ":\n" + tail(log, 60));
            }
            Thread.sleep(50);
        }
        killNow();
        throw new IllegalStateException("member not ready within " + READY_TIMEOUT + "; log " + log + ":\n"
                + tail(log, 60));
    }

    /** How often {@link #READY_LINE} occurs in a log file. */
    public static int readyCount(Path log) throws IOException {
        return count(log, Pattern.quote(READY_LINE));
    }

    public static int count(Path log, String regex) throws IOException {
        Matcher m = Pattern.compile(regex).matcher(Files.readString(log, StandardCharsets.ISO_8859_1));
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    public static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    public void kill9() throws InterruptedException {
        Process p = current();
        p.destroyForcibly(); // SIGKILL on Unix
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("pid " + p.pid() + " survived SIGKILL for 20 s");
        }
    }

    public void sigterm() throws IOException, InterruptedException {
        signal("TERM");
    }

    public void sigstop() throws IOException, InterruptedException {
        signal("STOP");
    }

    public void sigcont() throws IOException, InterruptedException {
        signal("CONT");
    }

    /** kill -SIG PID, for this member's PID only. */
    public void signal(String sig) throws IOException, InterruptedException {
        Process p = current();
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            kill.destroyForcibly();
            throw new IllegalStateException("kill -" + sig + " " + p.pid() + " failed: "
                    + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** Waits for the process to end; its exit code, or null if it is still running after {@code timeout}. */
    public Integer awaitExit(Duration timeout) throws InterruptedException {
        Process p = current();
        return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? p.exitValue() : null;
    }

    private synchronized Process current() {
        if (process == null) {
            throw new IllegalStateException("not started");
        }
        return process;
    }

    private synchronized void killNow() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly(); // SIGKILL also ends a SIGSTOPped process
            try {
                p.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A plaintext channel to the client port. */
    public ManagedChannel channel() {
        return NettyChannelBuilder.forAddress(host, clientPort).usePlaintext()
                .maxInboundMessageSize(256 * 1024 * 1024).build();
    }

    // Stubs with a fresh deadline per call (a stub's deadline is fixed when the stub is made).
    public static KVGrpc.KVBlockingStub kv(ManagedChannel ch) {
        return KVGrpc.newBlockingStub(ch).withDeadlineAfter(15, TimeUnit.SECONDS);
    }

    public static LeaseGrpc.LeaseBlockingStub lease(ManagedChannel ch) {
        return LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(15, TimeUnit.SECONDS);
    }

    public static MaintenanceGrpc.MaintenanceBlockingStub maintenance(ManagedChannel ch) {
        return MaintenanceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** Kills the process if it still runs and deletes the data dir (the logs stay under target/). */
    @Override
    public void close() {
        killNow();
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
        if (Boolean.getBoolean("metastore.keepDataDirs")) {
            System.out.println("[" + label + "] data dir kept (metastore.keepDataDirs): " + dataDir);
        } else {
            io.metastore.server.TestMember.deleteRecursively(dataDir);
        }
    }


    @Override
    public String toString() {
        return "member " + name + " (" + label + ")" + (process == null ? "" : " pid " + process.pid()) + " on "
                + host + ":" + clientPort + (netns == null ? "" : " in netns " + netns);
    }
}
