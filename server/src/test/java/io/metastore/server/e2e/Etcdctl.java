package io.metastore.server.e2e;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs Debian's {@code /usr/bin/etcdctl} (3.4, API v3) against one endpoint:
 * {@code etcdctl --endpoints=HOST:PORT <args>} with ETCDCTL_API=3, an optional stdin and a 20 s timeout.
 * Output goes to temp files (no pipe can fill up and block the child).
 */
public final class Etcdctl {
    public static final Path ETCDCTL = Path.of(System.getProperty("metastore.etcdctl.bin", "/usr/bin/etcdctl"));
    public static final Duration TIMEOUT = Duration.ofSeconds(20);

    /** One finished invocation; {@code exitCode} is -1 if it had to be killed after the timeout. */
    public record Result(List<String> args, int exitCode, String stdout, String stderr, boolean timedOut) {
        public boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "etcdctl " + String.join(" ", args) + " -> " + (timedOut ? "TIMED OUT" : "exit " + exitCode)
                    + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private final String endpoint;

    /** @param endpoint "host:port", as etcdctl's --endpoints takes it */
    public Etcdctl(String endpoint) {
        this.endpoint = endpoint;
    }

    public String endpoint() {
        return endpoint;
    }

    public Result run(String... args) {
        return run(TIMEOUT, null, List.of(args));
    }

    public Result runWithStdin(String stdin, String... args) {
        return run(TIMEOUT, stdin, List.of(args));
    }

    /** @param stdin text fed to the process and then closed; null = /dev/null */
    public Result run(Duration timeout, String stdin, List<String> args) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("etcdctl", ".out");
            err = Files.createTempFile("etcdctl", ".err");
            Process p = builder(args, out, err, stdin != null).start();
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // etcdctl may exit before reading all of it (e.g. on a parse error); its output says why
                }
            }
            boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            return new Result(List.copyOf(args), done ? p.exitValue() : -1, read(out), read(err), !done);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            delete(out);
            delete(err);
        }
    }

    /** Starts a long-running command (watch, keep-alive) whose output can be polled and which is stopped later. */
    public Background background(String... args) {
        try {
            Path out = Files.createTempFile("etcdctl-bg", ".out");
            Path err = Files.createTempFile("etcdctl-bg", ".err");
            return new Background(List.of(args), builder(List.of(args), out, err, false).start(), out, err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ProcessBuilder builder(List<String> args, Path out, Path err, boolean stdin) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ETCDCTL.toString());
        cmd.add("--endpoints=" + endpoint);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        if (!stdin) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL"));
        pb.environment().put("ETCDCTL_API", "3");
        return pb;
    }

    /** A running etcdctl; {@link #stop()} (or close) terminates it by PID and returns what it printed. */
    public static final class Background implements AutoCloseable {
        private final List<String> args;
        private final Process process;
        private final Path out;
        private final Path err;
        private Result result;

        private Background(List<String> args, Process process, Path out, Path err) {
            this.args = args;
            this.process = process;
            this.out = out;
            this.err = err;
        }

        public String stdout() {
            return read(out);
        }

        public String stderr() {
            return read(err);
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        /** Polls stdout until it satisfies {@code condition} or the process exits; true if it did in time. */
        public boolean awaitStdout(Predicate<String> condition, Duration timeout) {
            return await(() -> condition.test(stdout()), timeout);
        }

        public boolean awaitStderr(Predicate<String> condition, Duration timeout) {
            return await(() -> condition.test(stderr()), timeout);
        }

        private boolean await(java.util.function.BooleanSupplier check, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                if (check.getAsBoolean()) {
                    return true;
                }
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    return check.getAsBoolean();
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }

        /** SIGTERM, wait, SIGKILL; exit code is the process's (143 after SIGTERM), or its own if it had exited. */
        public synchronized Result stop() {
            if (result != null) {
                return result;
            }
            try {
                if (process.isAlive()) {
                    process.destroy();
                    if (!process.waitFor(5, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                        process.waitFor(5, TimeUnit.SECONDS);
                    }
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            result = new Result(args, process.isAlive() ? -1 : process.exitValue(), stdout(), stderr(), false);
            delete(out);
            delete(err);
            return result;
        }

        @Override
        public void close() {
            stop();
        }
    }

    private static String read(Path p) {
        try {
            // lenient decoding: a value that is not UTF-8 must show up in the diff, not throw
            return p != null && Files.exists(p) ? new String(Files.readAllBytes(p), StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // temp file; the OS cleans up
            }
        }
    }
}
