package io.metastore.bench;

import com.google.protobuf.ByteString;
import io.grpc.ConnectivityState;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.AuthGrpc;
import io.metastore.proto.etcdserverpb.AuthenticateRequest;
import io.metastore.proto.etcdserverpb.AuthenticateResponse;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A load generator modelled on etcd's {@code tools/benchmark}. It speaks only etcd's v3 gRPC API (the KV service),
 * so the same command measures real etcd and MetaStore alike.
 *
 * <p>Model, as in etcd's tool: {@code --conns} gRPC channels (one TCP connection each) and {@code --clients}
 * concurrent clients; client {@code i} uses channel {@code i % conns} and keeps exactly one request in flight.
 * The run ends when {@code --total} requests have completed (successfully or not). Every call carries a deadline
 * ({@code --timeout}) and the whole run is abandoned after {@code --max-duration}, so a run always ends by itself.
 *
 * <p>Latency is measured per request from just before the call is started to its completion callback. Percentiles
 * are exact (nearest rank over a sorted {@code long[]} holding one slot per request) rather than bucketed, so no
 * histogram library is needed. As in etcd's report, latency statistics and requests/sec cover successful requests;
 * failures are counted by gRPC status code.
 */
public final class EtcdBench {

    private static final String USAGE = """
            usage: EtcdBench [global options] <command> [command options]

            commands (as in etcd's tools/benchmark):
              put       --key-size 8 --val-size 8 --total 10000 --key-space-size 1 [--sequential-keys] [--key K]
              range     KEY [END] --consistency l|s --total 10000 [--limit 0] [--count-only]
              txn-put   --key-size 8 --val-size 8 --total 10000 --key-space-size 1 --txn-ops 1
              ready     [--wait 60s]   wait until a linearizable Range succeeds (exit 0) or give up (exit 1)

            global options:
              --endpoints host:port[,host:port...]   default 127.0.0.1:2379; channel j connects to endpoint j % n
              --conns C          gRPC channels (TCP connections), default 1
              --clients K        concurrent clients, each with one request in flight, default 1
              --timeout 10s      deadline of every request
              --max-duration 5m  abandon the run after this long (in-flight requests still end by their deadline)
              --warmup N         first run N unmeasured requests with the same settings (default 0)
              --label TEXT       label printed in the SUMMARY line (default: the command)
              --user NAME:PASSWORD  authenticate once (etcd's Authenticate) and send the token on every request

            --key K (put only, MetaStore extension): write the fixed key K instead of generated keys, e.g. to
            create the key a later 'range' reads.
            Durations: 250ms, 10s, 5m or plain seconds. The last line of output is a machine-readable SUMMARY.
            """;

    private EtcdBench() {}

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (UsageException e) {
            System.err.println("EtcdBench: " + e.getMessage());
            System.err.println();
            System.err.print(USAGE);
            code = 2;
        }
        System.out.flush();
        // The shared Netty event loops are non-daemon for a while after shutdown; do not wait for them.
        System.exit(code);
    }

    // ------------------------------------------------------------------------------------------------ options

    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** Options accepted in {@code --name value} or {@code --name=value} form, before or after the command. */
    static final class Options {
        private static final List<String> BOOLEAN = List.of("sequential-keys", "count-only", "help");
        private static final List<String> VALUED = List.of("endpoints", "conns", "clients", "total", "timeout",
                "max-duration", "warmup", "label", "key-size", "val-size", "key-space-size", "key", "consistency",
                "limit", "txn-ops", "wait", "user");

        final Map<String, String> values = new LinkedHashMap<>();
        final List<String> positional = new ArrayList<>();

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (!a.startsWith("-") || a.equals("-")) {
                    o.positional.add(a);
                    continue;
                }
                String body = a.substring(a.startsWith("--") ? 2 : 1);
                String name = body;
                String value = null;
                int eq = body.indexOf('=');
                if (eq >= 0) {
                    name = body.substring(0, eq);
                    value = body.substring(eq + 1);
                }
                if (name.equals("h")) {
                    name = "help";
                }
                if (BOOLEAN.contains(name)) {
                    o.values.put(name, value == null ? "true" : value);
                } else if (VALUED.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException("--" + name + " needs a value");
                        }
                        value = args[++i];
                    }
                    o.values.put(name, value);
                } else {
                    throw new UsageException("unknown option " + a);
                }
            }
            return o;
        }

        String str(String name, String def) {
            return values.getOrDefault(name, def);
        }

        long num(String name, long def, long min) {
            String v = values.get(name);
            if (v == null) {
                return def;
            }
            long n;
            try {
                n = Long.parseLong(v.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + ": not a number: " + v);
            }
            if (n < min) {
                throw new UsageException("--" + name + " must be at least " + min + " (got " + n + ")");
            }
            return n;
        }

        boolean flag(String name) {
            String v = values.get(name);
            if (v == null) {
                return false;
            }
            return switch (v) {
                case "true", "1", "" -> true;
                case "false", "0" -> false;
                default -> throw new UsageException("--" + name + ": expected true or false, got " + v);
            };
        }

        /** A duration in nanoseconds: "250ms", "10s", "5m", "1h" or plain seconds. */
        long nanos(String name, String def) {
            String v = values.getOrDefault(name, def).trim();
            try {
                long n;
                if (v.endsWith("ms")) {
                    n = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(v.substring(0, v.length() - 2)));
                } else if (v.endsWith("s")) {
                    n = TimeUnit.SECONDS.toNanos(Long.parseLong(v.substring(0, v.length() - 1)));
                } else if (v.endsWith("m")) {
                    n = TimeUnit.MINUTES.toNanos(Long.parseLong(v.substring(0, v.length() - 1)));
                } else if (v.endsWith("h")) {
                    n = TimeUnit.HOURS.toNanos(Long.parseLong(v.substring(0, v.length() - 1)));
                } else {
                    n = TimeUnit.SECONDS.toNanos(Long.parseLong(v));
                }
                if (n <= 0) {
                    throw new UsageException("--" + name + " must be positive");
                }
                return n;
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + ": not a duration: " + v);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ workloads

    /** Sends request number {@code i} (0-based) of a run on {@code stub}, completing {@code done}. */
    @FunctionalInterface
    interface Workload {
        void send(KVGrpc.KVStub stub, long i, StreamObserver<Object> done);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T> StreamObserver<T> cast(StreamObserver<Object> o) {
        return (StreamObserver) o;
    }

    /**
     * Writes {@code x} as a Go {@code binary.PutVarint} (zig-zag, little-endian base 128) into a zeroed
     * {@code keySize}-byte key, as etcd's benchmark builds its keys. (etcd reuses one buffer, so a shorter varint
     * can leave bytes of a longer previous one behind; zero-filling removes that quirk. With sequential keys the
     * varints only grow, so the keys are the same.)
     */
    static byte[] varintKey(long x, int keySize) {
        byte[] k = new byte[keySize];
        long ux = x << 1;
        if (x < 0) {
            ux = ~ux;
        }
        int i = 0;
        while ((ux & ~0x7FL) != 0) {
            if (i >= keySize) {
                throw new UsageException("--key-size " + keySize + " is too small for key index " + x);
            }
            k[i++] = (byte) ((ux & 0x7F) | 0x80);
            ux >>>= 7;
        }
        if (i >= keySize) {
            throw new UsageException("--key-size " + keySize + " is too small for key index " + x);
        }
        k[i] = (byte) ux;
        return k;
    }

    /** Random bytes as in etcd's mustRandBytes (fixed seed, so every run sends the same value). */
    static ByteString randomValue(int size) {
        byte[] v = new byte[size];
        new Random(42).nextBytes(v);
        return ByteString.copyFrom(v);
    }

    static Workload putWorkload(Options o, long total) {
        int keySize = (int) o.num("key-size", 8, 1);
        int valSize = (int) o.num("val-size", 8, 0);
        long keySpace = o.num("key-space-size", 1, 1);
        boolean sequential = o.flag("sequential-keys");
        ByteString value = randomValue(valSize);
        String fixed = o.values.get("key");
        if (fixed != null) {
            ByteString key = ByteString.copyFromUtf8(fixed);
            PutRequest req = PutRequest.newBuilder().setKey(key).setValue(value).build();
            return (stub, i, done) -> stub.put(req, cast(done));
        }
        // fail fast if the largest key index does not fit the key size (etcd's tool would panic mid-run)
        varintKey(sequential ? Math.min(keySpace, total) - 1 : keySpace - 1, keySize);
        return (stub, i, done) -> {
            long idx = sequential ? i % keySpace : ThreadLocalRandom.current().nextLong(keySpace);
            PutRequest req = PutRequest.newBuilder()
                    .setKey(ByteString.copyFrom(varintKey(idx, keySize))).setValue(value).build();
            stub.put(req, cast(done));
        };
    }

    static Workload txnPutWorkload(Options o) {
        int keySize = (int) o.num("key-size", 8, 1);
        int valSize = (int) o.num("val-size", 8, 0);
        long keySpace = o.num("key-space-size", 1, 1);
        int ops = (int) o.num("txn-ops", 1, 1);
        ByteString value = randomValue(valSize);
        varintKey(keySpace - 1, keySize);
        return (stub, i, done) -> {
            TxnRequest.Builder txn = TxnRequest.newBuilder();
            for (int j = 0; j < ops; j++) {
                long idx = (i * ops + j) % keySpace;
                txn.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
                        .setKey(ByteString.copyFrom(varintKey(idx, keySize))).setValue(value)));
            }
            stub.txn(txn.build(), cast(done));
        };
    }

    static Workload rangeWorkload(Options o, List<String> args) {
        if (args.isEmpty() || args.size() > 2) {
            throw new UsageException("range needs KEY [END]");
        }
        String consistency = o.str("consistency", "l");
        boolean serializable = switch (consistency) {
            case "l" -> false;
            case "s" -> true;
            default -> throw new UsageException("--consistency must be l or s, got " + consistency);
        };
        RangeRequest.Builder b = RangeRequest.newBuilder()
                .setKey(ByteString.copyFrom(args.get(0), StandardCharsets.UTF_8))
                .setSerializable(serializable)
                .setLimit(o.num("limit", 0, 0))
                .setCountOnly(o.flag("count-only"));
        if (args.size() == 2) {
            b.setRangeEnd(ByteString.copyFrom(args.get(1), StandardCharsets.UTF_8));
        }
        RangeRequest req = b.build();
        return (stub, i, done) -> stub.range(req, cast(done));
    }

    // ------------------------------------------------------------------------------------------------ the run

    /** One measured (or warm-up) run: {@code total} requests over the given stubs. */
    static final class Run {
        final Workload workload;
        final long total;
        final long timeoutNanos;
        final long[] latencies; // one slot per request; -1 = not done or failed
        final AtomicLong tickets = new AtomicLong();
        final LongAdder ok = new LongAdder();
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        final Map<String, String> firstErrorMessage = new ConcurrentHashMap<>();
        final CountDownLatch clientsDone;
        volatile boolean stopped;
        long startNanos;
        volatile long endNanos;
        private final AtomicInteger running;

        Run(Workload workload, long total, int clients, long timeoutNanos) {
            if (total > Integer.MAX_VALUE - 8) {
                throw new UsageException("--total too large");
            }
            this.workload = workload;
            this.total = total;
            this.timeoutNanos = timeoutNanos;
            this.latencies = new long[(int) total];
            Arrays.fill(latencies, -1L);
            this.clientsDone = new CountDownLatch(clients);
            this.running = new AtomicInteger(clients);
        }

        void clientFinished() {
            if (running.decrementAndGet() == 0) {
                endNanos = System.nanoTime();
            }
            clientsDone.countDown();
        }

        void recordError(Throwable t) {
            Status s = Status.fromThrowable(t);
            String code = s.getCode().name();
            errors.computeIfAbsent(code, c -> new LongAdder()).increment();
            firstErrorMessage.putIfAbsent(code, String.valueOf(s.getDescription()));
        }

        long errorCount() {
            return errors.values().stream().mapToLong(LongAdder::sum).sum();
        }
    }

    /**
     * One client: exactly one request in flight. A completion issues the next request. The {@code wip} counter is a
     * trampoline: if a call completes synchronously inside {@code send} (possible with a direct executor, e.g. a
     * deadline that has already passed), the outer loop issues the next request instead of recursing.
     */
    static final class Client implements StreamObserver<Object> {
        private final Run run;
        private final KVGrpc.KVStub stub;
        private final AtomicInteger wip = new AtomicInteger();
        private volatile long ticket;
        private volatile long started;
        private boolean finished;

        Client(Run run, KVGrpc.KVStub stub) {
            this.run = run;
            this.stub = stub;
        }

        void next() {
            if (wip.getAndIncrement() != 0) {
                return;
            }
            do {
                issueOne();
            } while (wip.decrementAndGet() != 0);
        }

        private void issueOne() {
            if (finished) {
                return;
            }
            long t = run.stopped ? run.total : run.tickets.getAndIncrement();
            if (t >= run.total) {
                finished = true;
                run.clientFinished();
                return;
            }
            ticket = t;
            started = System.nanoTime();
            try {
                run.workload.send(stub.withDeadlineAfter(run.timeoutNanos, TimeUnit.NANOSECONDS), t, this);
            } catch (RuntimeException e) { // e.g. a request the stub refuses to build; count it and go on
                run.recordError(e);
                next();
            }
        }

        @Override
        public void onNext(Object response) {
            // The response itself is not inspected: a completed call is a success, as in etcd's benchmark.
        }

        @Override
        public void onError(Throwable t) {
            run.recordError(t);
            next();
        }

        @Override
        public void onCompleted() {
            run.latencies[(int) ticket] = System.nanoTime() - started;
            run.ok.increment();
            next();
        }
    }

    /** Runs to completion or until maxDurationNanos; returns true if every request was issued and completed. */
    static boolean execute(Run run, List<KVGrpc.KVStub> stubs, int clients, long maxDurationNanos)
            throws InterruptedException {
        List<Client> list = new ArrayList<>(clients);
        for (int i = 0; i < clients; i++) {
            list.add(new Client(run, stubs.get(i % stubs.size())));
        }
        run.startNanos = System.nanoTime();
        for (Client c : list) {
            c.next();
        }
        boolean done = run.clientsDone.await(maxDurationNanos, TimeUnit.NANOSECONDS);
        if (!done) {
            run.stopped = true; // clients stop after their current request, which ends by its deadline at the latest
            run.clientsDone.await(run.timeoutNanos + TimeUnit.SECONDS.toNanos(5), TimeUnit.NANOSECONDS);
            if (run.endNanos == 0) {
                run.endNanos = System.nanoTime();
            }
        }
        return done;
    }

    // ------------------------------------------------------------------------------------------------ main

    static int run(String[] args) {
        Options o = Options.parse(args);
        if (o.flag("help") || o.positional.isEmpty()) {
            System.out.print(USAGE);
            return o.flag("help") ? 0 : 2;
        }
        String command = o.positional.get(0);
        List<String> rest = o.positional.subList(1, o.positional.size());
        int conns = (int) o.num("conns", 1, 1);
        int clients = (int) o.num("clients", 1, 1);
        long total = o.num("total", 10_000, 1);
        long warmup = o.num("warmup", 0, 0);
        long timeoutNanos = o.nanos("timeout", "10s");
        long maxDurationNanos = o.nanos("max-duration", "5m");
        List<String> endpoints = endpoints(o.str("endpoints", "127.0.0.1:2379"));

        Workload workload = switch (command) {
            case "put" -> putWorkload(o, total);
            case "range" -> rangeWorkload(o, rest);
            case "txn-put" -> txnPutWorkload(o);
            case "ready" -> null;
            default -> throw new UsageException("unknown command " + command);
        };
        if (!command.equals("range") && !rest.isEmpty()) {
            throw new UsageException(command + " takes no arguments, got " + rest);
        }

        List<ManagedChannel> channels = new ArrayList<>();
        try {
            for (int j = 0; j < (workload == null ? 1 : conns); j++) {
                channels.add(channel(endpoints.get(j % endpoints.size())));
            }
            ClientInterceptor credentials = credentials(channels.get(0), o.str("user", ""), timeoutNanos);
            List<KVGrpc.KVStub> stubs = channels.stream().map(KVGrpc::newStub)
                    .map(st -> credentials == null ? st : st.withInterceptors(credentials)).toList();
            if (workload == null) {
                return ready(stubs.get(0), o.nanos("wait", "60s"));
            }
            // Connect every channel before the clock starts (etcd's tool dials its clients up front too), so the
            // run does not time C TCP + HTTP/2 handshakes of a cold client.
            connect(channels, Math.max(timeoutNanos, TimeUnit.SECONDS.toNanos(10)));
            String label = o.str("label", command);
            if (warmup > 0) {
                Run w = new Run(workload, warmup, clients, timeoutNanos);
                boolean complete = execute(w, stubs, clients, maxDurationNanos);
                double secs = (w.endNanos - w.startNanos) / 1e9;
                System.out.printf(Locale.ROOT, "Warm-up: %d requests in %.2f s (%d errors%s), not measured%n",
                        w.ok.sum() + w.errorCount(), secs, w.errorCount(), complete ? "" : ", ABORTED");
            }
            System.out.printf(Locale.ROOT, "%s: %d requests, %d conns, %d clients, endpoints %s%n",
                    label, total, conns, clients, String.join(",", endpoints));
            Run run = new Run(workload, total, clients, timeoutNanos);
            long cpu0 = processCpuNanos();
            boolean complete = execute(run, stubs, clients, maxDurationNanos);
            long clientCpu = processCpuNanos() - cpu0;
            report(label, command, run, complete, conns, clients, clientCpu);
            return complete ? 0 : 3;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } finally {
            for (ManagedChannel c : channels) {
                c.shutdownNow();
            }
        }
    }

    /**
     * etcd's benchmark --user: one Authenticate, then the token in the {@code token} metadata of every request, as
     * etcd's clients send it (a simple token stays valid while it is used). Null without --user.
     */
    static ClientInterceptor credentials(ManagedChannel channel, String user, long timeoutNanos) {
        if (user.isEmpty()) {
            return null;
        }
        int colon = user.indexOf(':');
        if (colon <= 0) {
            throw new UsageException("--user must be NAME:PASSWORD");
        }
        AuthenticateResponse r = AuthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS)
                .authenticate(AuthenticateRequest.newBuilder().setName(user.substring(0, colon))
                        .setPassword(user.substring(colon + 1)).build());
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), r.getToken());
        return MetadataUtils.newAttachHeadersInterceptor(headers);
    }

    static List<String> endpoints(String spec) {
        List<String> out = new ArrayList<>();
        for (String e : spec.split(",")) {
            e = e.trim();
            if (e.isEmpty()) {
                continue;
            }
            if (e.startsWith("https://")) {
                throw new UsageException("TLS endpoints are not supported: " + e);
            }
            if (e.startsWith("http://")) {
                e = e.substring("http://".length());
            }
            if (e.endsWith("/")) {
                e = e.substring(0, e.length() - 1);
            }
            int colon = e.lastIndexOf(':');
            if (colon <= 0) {
                throw new UsageException("endpoint must be host:port, got " + e);
            }
            out.add(e);
        }
        if (out.isEmpty()) {
            throw new UsageException("--endpoints is empty");
        }
        return out;
    }

    static ManagedChannel channel(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        String host = endpoint.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = Integer.parseInt(endpoint.substring(colon + 1));
        // directExecutor: completion callbacks run on the Netty event loop and only record a number and start the
        // next call, so a hand-off to a thread pool would only add client CPU on this small machine.
        return NettyChannelBuilder.forAddress(host, port)
                .usePlaintext()
                .directExecutor()
                .maxInboundMessageSize(64 << 20)
                .build();
    }

    /** Asks every channel to connect and waits (at most waitNanos) until all are READY; warns if not. */
    static void connect(List<ManagedChannel> channels, long waitNanos) throws InterruptedException {
        long deadline = System.nanoTime() + waitNanos;
        while (true) {
            long notReady = 0;
            for (ManagedChannel c : channels) {
                if (c.getState(true) != ConnectivityState.READY) {
                    notReady++;
                }
            }
            if (notReady == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                System.err.printf("warning: %d of %d channels not connected after %d ms; starting anyway%n",
                        notReady, channels.size(), TimeUnit.NANOSECONDS.toMillis(waitNanos));
                return;
            }
            Thread.sleep(5);
        }
    }

    /** CPU time of this (client) process, to tell whether the client itself was the bottleneck; -1 if unknown. */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    static int ready(KVGrpc.KVStub stub, long waitNanos) throws InterruptedException {
        long deadline = System.nanoTime() + waitNanos;
        RangeRequest req = RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("health")).build();
        KVGrpc.KVBlockingStub blocking = KVGrpc.newBlockingStub(stub.getChannel());
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                blocking.withDeadlineAfter(2, TimeUnit.SECONDS).range(req);
                System.out.println("ready");
                return 0;
            } catch (RuntimeException e) {
                last = Status.fromThrowable(e).toString();
            }
            Thread.sleep(200);
        }
        System.err.println("not ready: " + last);
        return 1;
    }

    // ------------------------------------------------------------------------------------------------ report

    /** Nearest-rank percentile of a sorted array: the smallest value with at least p of the samples at or below it. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
    }

    static void report(String label, String command, Run run, boolean complete, int conns, int clients,
            long clientCpuNanos) {
        long n = run.ok.sum();
        long[] lat = new long[(int) n];
        int k = 0;
        for (long v : run.latencies) {
            if (v >= 0 && k < lat.length) {
                lat[k++] = v;
            }
        }
        lat = Arrays.copyOf(lat, k);
        Arrays.sort(lat);
        double secs = (run.endNanos - run.startNanos) / 1e9;
        double sum = 0;
        for (long v : lat) {
            sum += v;
        }
        double avg = lat.length == 0 ? 0 : sum / lat.length;
        double var = 0;
        for (long v : lat) {
            var += (v - avg) * (v - avg);
        }
        double stddev = lat.length == 0 ? 0 : Math.sqrt(var / lat.length);
        double rps = secs > 0 ? lat.length / secs : 0;
        long errors = run.errorCount();

        System.out.println();
        System.out.println("Summary:");
        System.out.printf(Locale.ROOT, "  Total:\t%.4f secs.%n", secs);
        System.out.printf(Locale.ROOT, "  Slowest:\t%.4f ms.%n", ms(lat.length == 0 ? 0 : lat[lat.length - 1]));
        System.out.printf(Locale.ROOT, "  Fastest:\t%.4f ms.%n", ms(lat.length == 0 ? 0 : lat[0]));
        System.out.printf(Locale.ROOT, "  Average:\t%.4f ms.%n", avg / 1e6);
        System.out.printf(Locale.ROOT, "  Stddev:\t%.4f ms.%n", stddev / 1e6);
        System.out.printf(Locale.ROOT, "  Requests/sec:\t%.2f%n", rps);
        System.out.println();
        System.out.println("Latency distribution:");
        double[] ps = {0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999};
        for (double p : ps) {
            System.out.printf(Locale.ROOT, "  %s%% in %.4f ms.%n", trimPct(p * 100), ms(percentile(lat, p)));
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "Completed: %d ok, %d errors, %d not issued%s%n", lat.length, errors,
                Math.max(0, run.total - lat.length - errors), complete ? "" : " (ABORTED after --max-duration)");
        long done = lat.length + errors;
        double clientCpuUs = clientCpuNanos < 0 || done == 0 ? -1 : clientCpuNanos / 1e3 / done;
        System.out.printf(Locale.ROOT, "Client CPU: %.2f s (%.1f us/request; 1 core = %.2f s of this run)%n",
                clientCpuNanos / 1e9, clientCpuUs, secs);
        StringBuilder errs = new StringBuilder();
        if (errors > 0) {
            System.out.println("Errors by gRPC status:");
            for (Map.Entry<String, LongAdder> e : new TreeMap<>(run.errors).entrySet()) {
                System.out.printf(Locale.ROOT, "  %-20s %d  (first: %s)%n", e.getKey(), e.getValue().sum(),
                        run.firstErrorMessage.get(e.getKey()));
                if (errs.length() > 0) {
                    errs.append(',');
                }
                errs.append(e.getKey()).append(':').append(e.getValue().sum());
            }
        }
        System.out.printf(Locale.ROOT,
                "SUMMARY label=%s cmd=%s conns=%d clients=%d total=%d ok=%d errors=%d aborted=%b secs=%.3f "
                        + "rps=%.1f avg_ms=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
                        + "client_cpu_us=%.1f errs=%s%n",
                label.replace(' ', '_'), command, conns, clients, run.total, lat.length, errors, !complete, secs, rps,
                avg / 1e6, ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99)),
                ms(percentile(lat, 0.999)), ms(lat.length == 0 ? 0 : lat[lat.length - 1]), clientCpuUs,
                errs.length() == 0 ? "-" : errs);
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static String trimPct(double pct) {
        return pct == Math.rint(pct) ? String.valueOf((long) pct) : String.valueOf(pct);
    }
}
