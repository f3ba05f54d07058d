package io.metastore.raft;

import io.metastore.storage.MvccStore;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.LeaderSteppingDownException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.apache.ratis.protocol.exceptions.ReadException;
import org.apache.ratis.protocol.exceptions.ReadIndexException;
import org.apache.ratis.protocol.exceptions.ResourceUnavailableException;
import org.apache.ratis.protocol.exceptions.ServerNotReadyException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.protocol.exceptions.TimeoutIOException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.client.retry.ClientRetryEvent;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslProvider;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One member of the MetaStore Raft group: an Apache Ratis server (gRPC transport) whose state machine applies
 * committed commands to an {@link MvccStore} through a {@link CommandApplier}.
 *
 * <p>All futures returned here complete on the node's callback threads, never on Ratis's threads, so callers may
 * chain work onto them. All waits are bounded by {@link RaftConfig#requestTimeout()}.
 */
public final class RaftNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
    private static final long MiB = 1024L * 1024;

    private final RaftConfig config;
    private final RaftGroup group;
    private final RaftPeerId localId;
    private final RaftProperties properties;
    /** TLS for the server and for every client this node builds; null without TLS. */
    private final Parameters parameters;
    private final StoreStateMachine stateMachine;
    private final RaftServer server;
    private final RaftServer.Division division;
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();
    private final long requestTimeoutMs;
    private final long retryDelayMs;

    private final ScheduledThreadPoolExecutor timer;
    private final ThreadPoolExecutor callbackPool;
    private final ThreadPoolExecutor eventPool;
    private final ThreadPoolExecutor adminPool;
    private final Executor callbacks;

    /** Every future handed out and not yet completed; failed with STOPPED on close. */
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();

    // Proposals waiting for a (ready) leader, in submission order.
    private final Object routeLock = new Object();
    private final java.util.ArrayDeque<Proposal> waiting = new java.util.ArrayDeque<>();
    private boolean drainScheduled;

    private final Object clientLock = new Object();
    private RaftClient client;
    private RaftPeerId clientLeader;

    // ReadIndex coalescing: at most one round in flight plus one queued batch.
    private final Object readLock = new Object();
    private boolean readInFlight;
    private CompletableFuture<Void> readNext;
    private final AtomicLong readRoundsStarted = new AtomicLong();
    private final RaftStats stats = new RaftStats();
    /** Orders leader events from Ratis and from {@link #checkLeaderLost}; guards {@link #dispatchedLeader}. */
    private final Object leaderEventLock = new Object();
    /** The leader last handed to the listener (null: none, or none reported yet). */
    private String dispatchedLeader;
    /** Forwards Ratis's log-sync and follower-latency timings to the configured listener; null without one. */
    private final RatisLatencyTap latencyTap;

    private volatile boolean closed;
    /** Completes (with the reason) when this member can no longer take part safely; its owner must stop it. */
    private final CompletableFuture<String> failure = new CompletableFuture<>();
    /** The commit index this member's own log recorded when it started (Ratis recovers it from the log). */
    private long committedAtStart;

    private RaftNode(RaftConfig config, MvccStore store, CommandApplier applier) throws IOException {
        this.config = config;
        this.localId = RaftPeerId.valueOf(config.localName());
        this.requestTimeoutMs = config.requestTimeout().toMillis();
        this.retryDelayMs = Math.max(10, Math.min(100, config.electionTimeout().toMillis() / 10));

        UUID groupUuid = groupUuid(config.clusterToken());
        RaftStorage.StartupOption option = startupOption(config.storageDir(), groupUuid);
        // A joining member starts as a listener of the running group: it does not campaign, it waits for the
        // leader to add it (the leader's configuration then replaces this one), and it reaches the group through
        // the other peers. Starting outside the configuration instead leaves a member added as a listener stuck
        // in Ratis's STARTING state: the leader only marks voters as caught up after staging.
        boolean joiningNow = config.joining() && option == RaftStorage.StartupOption.FORMAT;
        List<RaftPeer> peers = new ArrayList<>();
        List<RaftPeer> serverPeers = new ArrayList<>();
        for (RaftPeerSpec p : config.peers()) {
            if (!(joiningNow && p.name().equals(config.localName()))) {
                peers.add(toRatis(p));
                serverPeers.add(toRatis(p));
            } else {
                serverPeers.add(RaftPeer.newBuilder(toRatis(p)).setStartupRole(RaftPeerRole.LISTENER).build());
            }
        }
        this.group = RaftGroup.valueOf(RaftGroupId.valueOf(groupUuid), peers);
        RaftGroup serverGroup = joiningNow ? RaftGroup.valueOf(group.getGroupId(), serverPeers) : group;
        this.properties = ratisProperties(config);
        this.parameters = ratisParameters(config.tls());

        String name = config.localName();
        this.timer = new ScheduledThreadPoolExecutor(1, daemonThreads("raft-timer-" + name));
        this.timer.setRemoveOnCancelPolicy(true);
        this.callbackPool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                daemonThreads("raft-callback-" + name));
        this.callbackPool.allowCoreThreadTimeOut(true);
        this.eventPool = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                daemonThreads("raft-events-" + name));
        this.eventPool.allowCoreThreadTimeOut(true);
        this.adminPool = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                daemonThreads("raft-admin-" + name));
        this.adminPool.allowCoreThreadTimeOut(true);
        this.callbacks = r -> {
            try {
                callbackPool.execute(r);
            } catch (RejectedExecutionException e) {
                r.run(); // closing: complete on the caller's thread rather than never
            }
        };

        this.stateMachine = new StoreStateMachine(store, applier, new StoreStateMachine.Events() {
            @Override
            public void leaderChanged(RaftPeerId leader, long term) {
                dispatchLeaderChange(leader == null ? null : leader.toString(), term, localId.equals(leader));
            }

            @Override
            public void localLeadershipLost(long term) {
                dispatchLeaderChange(null, term, false);
            }

            @Override
            public void diverged(String detail) {
                failure.complete(detail);
            }
        });

        List<String> others = new ArrayList<>();
        for (RaftPeerSpec p : config.peers()) {
            if (!p.name().equals(config.localName())) {
                others.add(p.name());
            }
        }
        this.latencyTap = RatisLatencyTap.install(
                org.apache.ratis.protocol.RaftGroupMemberId.valueOf(localId, group.getGroupId()).toString(),
                List.copyOf(others), config.latencyListener());
        RaftServer s = null;
        try {
            s = RaftServer.newBuilder()
                    .setServerId(localId)
                    .setGroup(serverGroup)
                    .setStateMachine(stateMachine)
                    .setProperties(properties)
                    .setParameters(parameters)
                    .setOption(option)
                    .build();
            s.start();
            this.server = s;
            this.division = s.getDivision(group.getGroupId());
            this.committedAtStart = replayTarget();
            long period = Math.max(25, config.electionTimeout().toMillis() / 4);
            timer.scheduleWithFixedDelay(this::checkLeaderLost, period, period, TimeUnit.MILLISECONDS);
        } catch (IOException | RuntimeException e) {
            closed = true;
            if (s != null) {
                try {
                    s.close();
                } catch (IOException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            shutdownExecutors();
            if (latencyTap != null) {
                latencyTap.close();
            }
            throw e;
        }
        LOG.info("Raft node {} started ({}, group {}, {})", name, option, groupUuid, config);
    }

    /**
     * Starts this member: opens (FORMAT when new, RECOVER otherwise) Ratis's storage under
     * {@link RaftConfig#storageDir()}, brings the store to the latest snapshot if it is not durable, and joins the
     * group. Entries after the store's position are replayed through {@code applier}.
     */
    public static RaftNode start(RaftConfig config, MvccStore store, CommandApplier applier) throws IOException {
        Objects.requireNonNull(config, "config");
        return new RaftNode(config, store, applier);
    }

    /** FORMAT when this group's directory is new, RECOVER when it holds data. */
    private static RaftStorage.StartupOption startupOption(Path storageDir, UUID groupUuid) throws IOException {
        Files.createDirectories(storageDir);
        Path groupDir = storageDir.resolve(groupUuid.toString());
        // Ratis recovers every group directory it finds under the storage dir, with our state machine: refuse
        // a directory that holds another group (another cluster token) instead.
        try (var entries = Files.list(storageDir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                String n = p.getFileName().toString();
                if (Files.isDirectory(p) && !n.equals(groupUuid.toString()) && isUuid(n)) {
                    throw new IOException("storage dir " + storageDir + " holds another Raft group " + n
                            + " (created with a different cluster token?); this node's group is " + groupUuid);
                }
            }
        }
        if (Files.isDirectory(groupDir)) {
            try (var entries = Files.list(groupDir)) {
                if (entries.findAny().isPresent()) {
                    return RaftStorage.StartupOption.RECOVER;
                }
            }
            Files.delete(groupDir); // an empty leftover: format it anew
        }
        return RaftStorage.StartupOption.FORMAT;
    }

    private static boolean isUuid(String s) {
        try {
            return UUID.fromString(s).toString().equals(s);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The Ratis group id every member derives from the cluster token. */
    static UUID groupUuid(String clusterToken) {
        return UUID.nameUUIDFromBytes(clusterToken.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * One TLS configuration for Ratis's server, admin and client services and for the channels this node opens to
     * them (GrpcConfigKeys.TLS is the default the three specific keys fall back to). Ratis requires a client
     * certificate only when mutual; its SslContexts are built once, but the key and trust managers are consulted on
     * every handshake.
     */
    static Parameters ratisParameters(RaftTls tls) {
        if (tls == null) {
            return null;
        }
        GrpcTlsConfig.Builder b = GrpcTlsConfig.newBuilder()
                .setKeyManager(tls.keyManager())
                .setTrustManager(tls.trustManager())
                .setMutualTls(tls.mutual())
                .setSslProvider(SslProvider.JDK); // the same engine as the client port; no native-library surprises
        if (!tls.protocols().isEmpty()) {
            b.setProtocols(tls.protocols());
        }
        if (!tls.cipherSuites().isEmpty()) {
            b.setCipherSuites(tls.cipherSuites());
        }
        Parameters p = new Parameters();
        GrpcConfigKeys.TLS.setConf(p, b.build());
        return p;
    }

    static RaftProperties ratisProperties(RaftConfig c) {
        RaftProperties p = new RaftProperties();
        RaftPeerSpec local = c.localPeer();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        GrpcConfigKeys.Server.setHost(p, local.host());
        GrpcConfigKeys.Server.setPort(p, local.port()); // admin and client services share this port

        RaftServerConfigKeys.setStorageDir(p, List.of(c.storageDir().toFile()));
        RaftServerConfigKeys.setRemovedGroupsDir(p, c.storageDir().resolve("removed-groups").toFile());

        // Elections: etcd-like timeouts; Ratis heartbeats every rpc.timeout.min / 2 of idleness.
        long election = c.electionTimeout().toMillis();
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ms(election));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ms(2 * election));
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, ms(Math.max(3000, 2 * election)));
        RaftServerConfigKeys.LeaderElection.setPreVote(p, true);

        // Linearizable reads by ReadIndex, on any member.
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        RaftServerConfigKeys.Read.setTimeout(p, ms(c.requestTimeout().toMillis()));
        RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, c.leaderLeaseReads());

        // Entry size: an entry of maxRequestBytes must fit the appender buffer, the log write buffer and a gRPC
        // message (Ratis checks write.buffer >= appender.buffer + 8 and grpc.message >= appender.buffer + 1 MiB).
        long appender = Math.max(4 * MiB, c.maxRequestBytes() + MiB);
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(appender));
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(Math.max(8 * MiB, appender + MiB)));
        GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(Math.max(64 * MiB, appender + 2 * MiB)));
        RaftServerConfigKeys.Write.setByteLimit(p, SizeInBytes.valueOf(Math.max(64 * MiB, 8L * c.maxRequestBytes())));

        // Safety: with "append-entries compose" (Ratis 3.3.0's default) a follower checks a heartbeat's previous
        // entry against appends it has queued but not yet written, and then raises its commit index at once, up
        // to its flush index. A healed old leader whose flushed tail still holds an uncommitted entry of its own
        // term (about to be truncated by a queued append) then applies that entry: seen as a put refused with
        // "leader changed" present on that member only (PartitionIT). Off, a heartbeat is checked against the
        // log as written, so the commit index never covers an entry that differs from the leader's.
        RaftServerConfigKeys.Log.setAppendEntriesComposeEnabled(p, false);

        // Log segments and purging up to each snapshot.
        long segment = c.logSegmentBytes();
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(segment));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf(Math.min(4 * MiB, segment)));
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.max(1, Math.min(1024, c.snapshotCount())));

        // Snapshots every snapshotCount applied entries, newest two kept.
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, c.snapshotCount());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, StoreStateMachine.RETAINED_SNAPSHOTS);
        RaftServerConfigKeys.Snapshot.setTriggerWhenStopEnabled(p, c.snapshotOnStop());

        // The retry cache de-duplicates a forwarded write that the client re-sends; an entry (about 1 KiB of heap)
        // is only useful while such a retry can still arrive, i.e. within a request timeout. Ratis's default of
        // 60 s held ~600 MiB at 10k writes/s.
        RaftServerConfigKeys.RetryCache.setExpiryTime(p, ms(c.requestTimeout().toMillis() + 3000));

        // The forwarding client (proposals made on a follower).
        // One attempt may take the whole request timeout (a busy leader is not a dead one); failures that come back
        // fast (not leader, connection refused) are retried by the client's retry policy.
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, ms(c.requestTimeout().toMillis()));
        RaftClientConfigKeys.Async.setOutstandingRequestsMax(p, 4096);
        // The client otherwise opens with a dummy watch request that every later request queues behind.
        RaftClientConfigKeys.Async.Experimental.setSendDummyRequest(p, false);
        return p;
    }

    private static RaftPeer toRatis(RaftPeerSpec p) {
        return RaftPeer.newBuilder().setId(p.name()).setAddress(p.address()).build();
    }

    private static TimeDuration ms(long millis) {
        return TimeDuration.valueOf(millis, TimeUnit.MILLISECONDS);
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ------------------------------------------------------------------------------------------------ writes

    /** Replicates and applies; completes with the applier's result for this command (exceptionally with RaftException). */
    public CompletableFuture<byte[]> propose(byte[] command) {
        Objects.requireNonNull(command, "command");
        if (command.length > config.maxRequestBytes()) {
            return CompletableFuture.failedFuture(new RaftException(RaftException.Kind.TOO_LARGE,
                    "request is too large: " + command.length + " > " + config.maxRequestBytes() + " bytes"));
        }
        if (closed || !division.getInfo().isAlive()) {
            return CompletableFuture.failedFuture(stopped());
        }
        CompletableFuture<byte[]> out = newPending("proposal");
        stats.proposalStarted();
        out.whenComplete((v, e) -> stats.proposalEnded(e != null));
        Proposal p = new Proposal(Message.valueOf(UnsafeByteOperations.unsafeWrap(command)), out);
        synchronized (routeLock) {
            if (waiting.isEmpty() && dispatch(p)) {
                return out;
            }
            waiting.addLast(p); // keep submission order behind proposals that are waiting for a leader
            scheduleDrain();
        }
        return out;
    }

    private record Proposal(Message msg, CompletableFuture<byte[]> out) {}

    /**
     * Sends a proposal where it can go now: in-process when this member is the ready leader, through the client
     * when another member leads. Returns false when it has to wait (this member is a leader not ready yet, or no
     * leader is known). Called under {@link #routeLock}, which keeps proposals in submission order.
     */
    private boolean dispatch(Proposal p) {
        if (p.out.isDone()) {
            return true;
        }
        try {
            DivisionInfo info = division.getInfo();
            RaftPeerId leader = info.getLeaderId();
            if (closed || !info.isAlive()) {
                fail(p.out, stopped());
            } else if (info.isLeader() && info.isLeaderReady()) {
                submitLocal(p);
            } else if (!info.isLeader() && leader != null && !leader.equals(localId)) {
                forward(p);
            } else if (division.getRaftConf().getPeer(localId, RaftPeerRole.FOLLOWER) == null) {
                forward(p); // not a voter (a joining member): may hear of no leader, the client finds it
            } else {
                return false;
            }
        } catch (RuntimeException e) {
            fail(p.out, map(e));
        }
        return true;
    }

    private void scheduleDrain() {
        if (!drainScheduled) {
            drainScheduled = true;
            if (schedule(this::drain, retryDelayMs) == null) {
                drainScheduled = false;
                waiting.forEach(p -> fail(p.out, stopped()));
                waiting.clear();
            }
        }
    }

    /** Retries waiting proposals in order; those that timed out meanwhile are dropped. */
    private void drain() {
        synchronized (routeLock) {
            drainScheduled = false;
            while (!waiting.isEmpty()) {
                if (!dispatch(waiting.peekFirst())) {
                    scheduleDrain();
                    return;
                }
                waiting.pollFirst();
            }
        }
    }

    /** A proposal rejected before it was appended (leader not ready, stepping down): back to the queue head. */
    private void requeue(Proposal p) {
        synchronized (routeLock) {
            waiting.addFirst(p);
            scheduleDrain();
        }
    }

    /** In-process submission on the leader: no client hop. */
    private void submitLocal(Proposal p) {
        CompletableFuture<byte[]> out = p.out;
        RaftClientRequest req = newRequest(p.msg, RaftClientRequest.writeRequestType());
        submit(req).whenComplete((reply, ex) -> {
            if (out.isDone()) {
                return;
            }
            Throwable failure = ex != null ? unwrap(ex) : reply.isSuccess() ? null : reply.getException();
            if (failure == null) {
                deliver(reply.getMessage(), out);
            } else if (failure instanceof LeaderNotReadyException || failure instanceof LeaderSteppingDownException) {
                // rejected before it was appended: safe to send again, after a pause (no busy loop)
                if (schedule(() -> requeue(p), retryDelayMs) == null) {
                    fail(out, stopped());
                }
            } else if (failure instanceof NotLeaderException && !closed) {
                fail(out, new RaftException(RaftException.Kind.LEADER_CHANGED,
                        "etcdserver: leader changed", failure));
            } else {
                fail(out, map(failure));
            }
        });
    }

    /** Through the RaftClient, which finds the leader and retries (same call id: deduplicated by the retry cache). */
    private void forward(Proposal p) {
        CompletableFuture<byte[]> out = p.out;
        RaftClient c = client();
        if (c == null) {
            fail(out, stopped());
            return;
        }
        CompletableFuture<RaftClientReply> f;
        try {
            f = c.async().send(p.msg);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((reply, ex) -> {
            if (out.isDone()) {
                return;
            }
            Throwable failure = ex != null ? unwrap(ex) : reply.isSuccess() ? null : reply.getException();
            if (failure == null) {
                deliver(reply.getMessage(), out);
            } else if (failure instanceof LeaderSteppingDownException) {
                // the leader is handing over (a graceful stop, MoveLeader) and refused it before appending: route
                // it again after a pause, to the new leader once it is known (bounded by the request timeout).
                // Ratis's client answers this one instead of retrying, so without this every write forwarded
                // during a hand-off failed with "leader changed" (GracefulShutdownIT saw it 2 runs in 3)
                if (schedule(() -> requeue(p), retryDelayMs) == null) {
                    fail(out, stopped());
                }
            } else {
                fail(out, map(failure));
            }
        });
    }

    /**
     * Ratis 3.3.0's client marks its stream to a leader closed when that leader answers LeaderNotReadyException
     * (elected a moment ago), and skips the reconnect for that exception; the retry then fails with
     * AlreadyClosedException, on which the client moves on to a random peer. Seen in LeaderFreezeIT: it picked the
     * frozen old leader and waited out the whole request timeout there. Resetting the connection to that leader
     * here lets the retry (same call ID, so deduplicated by the leader's retry cache) reach it on a new stream.
     * Re-sending through a new client instead is not safe: the closed stream fails every request in flight on it
     * with the same exception, including ones that leader had already appended (LeaderKillIT saw a double apply).
     */
    private RetryPolicy forwardingRetryPolicy(int attempts, AtomicReference<RaftClient> owner) {
        RetryPolicy base = RetryPolicies.retryUpToMaximumCountWithFixedSleep(attempts, ms(retryDelayMs));
        return new RetryPolicy() {
            @Override
            public Action handleAttemptFailure(Event event) {
                RaftClient c = owner.get();
                if (event.getCause() instanceof LeaderNotReadyException notReady && event instanceof ClientRetryEvent e
                        && c != null) {
                    c.getClientRpc().handleException(e.getRequest().getServerId(), notReady, true);
                }
                return base.handleAttemptFailure(event);
            }

            @Override
            public String toString() {
                return "forwarding(" + base + ", reconnect after LeaderNotReady)";
            }
        };
    }

    /**
     * The forwarding client, rebuilt whenever this member learns of a new leader. Ratis's client keeps sending to
     * the leader it knew: with that leader frozen or cut off, each attempt waits out the whole request timeout, so
     * a write forwarded after a failover would time out although this member already knows the new leader. The
     * old client is closed once its in-flight requests can no longer be answered.
     */
    private RaftClient client() {
        synchronized (clientLock) {
            if (closed) {
                return null;
            }
            RaftPeerId known = division.getInfo().getLeaderId();
            if (client != null && known != null && !known.equals(clientLeader) && !known.equals(localId)) {
                RaftClient old = client;
                client = null;
                if (schedule(() -> closeQuietly(old), requestTimeoutMs + 1000) == null) {
                    closeQuietly(old);
                }
            }
            if (client == null) {
                clientLeader = known;
                int attempts = (int) Math.max(2, requestTimeoutMs / retryDelayMs + 1);
                RaftGroup peers = currentGroup();
                // a leader that is no longer in the configuration (just removed) would make the client fail
                RaftPeerId leader = known != null && peers.getPeer(known) != null ? known : null;
                AtomicReference<RaftClient> owner = new AtomicReference<>();
                client = RaftClient.newBuilder()
                        .setProperties(properties)
                        .setParameters(parameters)
                        .setRaftGroup(peers)
                        .setClientId(ClientId.randomId())
                        .setLeaderId(leader)
                        .setRetryPolicy(forwardingRetryPolicy(attempts, owner))
                        .build();
                owner.set(client);
            }
            return client;
        }
    }

    /** The group as the current configuration has it (members added since start included); the flags' otherwise. */
    private RaftGroup currentGroup() {
        var conf = division.getRaftConf();
        List<RaftPeer> peers = new ArrayList<>(conf.getAllPeers(RaftPeerRole.FOLLOWER));
        peers.addAll(conf.getAllPeers(RaftPeerRole.LISTENER));
        return peers.isEmpty() ? group : RaftGroup.valueOf(group.getGroupId(), peers);
    }

    private static void closeQuietly(RaftClient c) {
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("Closing a forwarding client failed", e);
        }
    }

    private RaftClientRequest newRequest(Message msg, RaftClientRequest.Type type) {
        return RaftClientRequest.newBuilder()
                .setClientId(clientId)
                .setServerId(localId)
                .setGroupId(group.getGroupId())
                .setCallId(callIds.incrementAndGet())
                .setMessage(msg)
                .setType(type)
                .build();
    }

    private CompletableFuture<RaftClientReply> submit(RaftClientRequest req) {
        try {
            return server.submitClientRequestAsync(req);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void deliver(Message m, CompletableFuture<byte[]> out) {
        ByteString content = m == null ? ByteString.EMPTY : m.getContent();
        if (content.isEmpty()) {
            succeed(out, new byte[0]);
            return;
        }
        byte status = content.byteAt(0);
        byte[] body = content.substring(1).toByteArray();
        if (status == StoreStateMachine.REPLY_OK) {
            succeed(out, body);
        } else {
            fail(out, new RaftException(RaftException.Kind.INTERNAL,
                    "apply failed: " + new String(body, StandardCharsets.UTF_8)));
        }
    }

    // ------------------------------------------------------------------------------------------------ reads

    /**
     * ReadIndex barrier: completes once this member's applied index has reached the leader's commit index as of
     * the call, so a local read afterwards is linearizable. Concurrent callers share one ReadIndex round: a caller
     * arriving while a round is in flight joins the next round (the current one's read index may predate it).
     */
    public CompletableFuture<Void> linearizableBarrier() {
        if (closed || !division.getInfo().isAlive()) {
            return CompletableFuture.failedFuture(stopped());
        }
        CompletableFuture<Void> mine = newPending("linearizable read");
        CompletableFuture<Void> batch;
        boolean startNow = false;
        synchronized (readLock) {
            if (!readInFlight) {
                readInFlight = true;
                batch = new CompletableFuture<>();
                startNow = true;
            } else {
                if (readNext == null) {
                    readNext = new CompletableFuture<>();
                }
                batch = readNext;
            }
        }
        batch.whenComplete((v, ex) -> {
            if (ex == null) {
                succeed(mine, null);
            } else {
                fail(mine, ex instanceof RaftException re ? re : map(ex));
            }
        });
        if (startNow) {
            startReadRound(batch);
        }
        return mine;
    }

    private void startReadRound(CompletableFuture<Void> batch) {
        readRoundsStarted.incrementAndGet();
        CompletableFuture<Void> round = new CompletableFuture<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(requestTimeoutMs);
        ScheduledFuture<?> timeout = schedule(() -> round.completeExceptionally(
                new RaftException(RaftException.Kind.TIMEOUT, "etcdserver: request timed out (read index)")),
                requestTimeoutMs);
        round.whenComplete((v, ex) -> {
            if (timeout != null) {
                timeout.cancel(false);
            }
            CompletableFuture<Void> next;
            synchronized (readLock) {
                next = readNext;
                readNext = null;
                if (next == null) {
                    readInFlight = false;
                }
            }
            if (ex == null) {
                batch.complete(null);
            } else {
                batch.completeExceptionally(ex);
            }
            if (next != null) {
                callbacks.execute(() -> startReadRound(next));
            }
        });
        attemptRead(round, deadline);
    }

    private void attemptRead(CompletableFuture<Void> round, long deadlineNanos) {
        if (round.isDone()) {
            return;
        }
        DivisionInfo info = division.getInfo();
        if (closed || !info.isAlive()) {
            round.completeExceptionally(stopped());
            return;
        }
        if (info.isLeader() && !info.isLeaderReady()) {
            // Ratis answers a single-member group's ReadIndex with its commit index even before the new leader
            // has committed an entry of its term; wait for that entry first.
            retryRead(round, deadlineNanos, null);
            return;
        }
        RaftClientRequest req = newRequest(Message.EMPTY, RaftClientRequest.readRequestType());
        submit(req).whenComplete((reply, ex) -> {
            Throwable failure = ex != null ? unwrap(ex) : reply.isSuccess() ? null : reply.getException();
            if (failure == null) {
                round.complete(null);
            } else {
                retryRead(round, deadlineNanos, failure);
            }
        });
    }

    private void retryRead(CompletableFuture<Void> round, long deadlineNanos, Throwable failure) {
        if (closed || !division.getInfo().isAlive()) {
            round.completeExceptionally(stopped());
            return;
        }
        if (failure instanceof StateMachineException || failure instanceof AlreadyClosedException
                || System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retryDelayMs) >= deadlineNanos) {
            round.completeExceptionally(failure == null
                    ? new RaftException(RaftException.Kind.TIMEOUT, "etcdserver: request timed out (read index)")
                    : map(failure));
            return;
        }
        LOG.debug("ReadIndex round failed, retrying: {}", failure == null ? "leader not ready" : failure.toString());
        if (schedule(() -> attemptRead(round, deadlineNanos), retryDelayMs) == null) {
            round.completeExceptionally(stopped());
        }
    }

    // ------------------------------------------------------------------------------------------------ membership

    /** The configuration this member currently knows (the newest one in its log, committed or not). */
    public RaftMembership membership() {
        var conf = division.getRaftConf();
        return new RaftMembership(specs(conf.getCurrentPeers(RaftPeerRole.FOLLOWER)),
                specs(conf.getCurrentPeers(RaftPeerRole.LISTENER)),
                conf.getPreviousPeers(RaftPeerRole.FOLLOWER).isEmpty()
                        && conf.getPreviousPeers(RaftPeerRole.LISTENER).isEmpty());
    }

    private static List<RaftPeerSpec> specs(java.util.Collection<RaftPeer> peers) {
        List<RaftPeerSpec> out = new ArrayList<>();
        for (RaftPeer p : peers) {
            out.add(RaftPeerSpec.ofAddress(p.getId().toString(), p.getAddress()));
        }
        out.sort(java.util.Comparator.comparing(RaftPeerSpec::name));
        return out;
    }

    /**
     * Replaces the group's configuration (Ratis joint consensus, through the leader). New members must be
     * running: the leader first brings them up to date, and fails the change if one makes no progress.
     */
    public CompletableFuture<Void> changeMembership(List<RaftPeerSpec> voters, List<RaftPeerSpec> listeners) {
        return admin("membership change", c -> c.admin().setConfiguration(
                SetConfigurationRequest.Arguments.newBuilder()
                        .setServersInNewConf(voters.stream().map(RaftNode::toRatis).toList())
                        .setListenersInNewConf(listeners.stream().map(RaftNode::toRatis).toList())
                        .setMode(SetConfigurationRequest.Mode.SET_UNCONDITIONALLY)
                        .build()));
    }

    /** Asks the leader to hand leadership to {@code name} and waits, bounded, until it has. */
    public CompletableFuture<Void> transferLeadership(String name, long timeoutMs) {
        return admin("leader transfer", c -> c.admin().transferLeadership(RaftPeerId.valueOf(name), timeoutMs));
    }

    /** The commit index the leader last heard from {@code name}; -1 when unknown (or this member does not lead). */
    public long peerCommitIndex(String name) {
        for (var info : division.getCommitInfos()) {
            if (info.getServer().getId().toStringUtf8().equals(name)) {
                return info.getCommitIndex();
            }
        }
        return -1;
    }

    /**
     * Milliseconds since this leader last heard from {@code name}; -1 when unknown or this member does not lead.
     * A follower that answered within an election timeout is alive enough to take leadership over.
     */
    public long millisSinceHeardFrom(String name) {
        RaftProtos.RoleInfoProto role = division.getInfo().getRoleInfoProto();
        if (!role.hasLeaderInfo()) {
            return -1;
        }
        for (RaftProtos.ServerRpcProto follower : role.getLeaderInfo().getFollowerInfoList()) {
            if (follower.getId().getId().toStringUtf8().equals(name)) {
                return follower.getLastRpcElapsedTimeMs();
            }
        }
        return -1;
    }

    /** True while this member is a listener (a non-voting member). */
    public boolean isListener() {
        // by the configuration: a member added as a listener after starting outside the group keeps Ratis's
        // FOLLOWER role locally, though it never votes
        return !closed && division.getRaftConf().getPeer(localId, RaftPeerRole.LISTENER) != null;
    }

    private interface AdminCall {
        RaftClientReply call(RaftClient c) throws IOException;
    }

    /** Admin calls are blocking in Ratis's client: run them on the admin thread, one at a time. */
    private CompletableFuture<Void> admin(String what, AdminCall call) {
        CompletableFuture<Void> out = new CompletableFuture<>();
        try {
            adminPool.execute(() -> {
                try {
                    RaftClient c = client();
                    if (c == null) {
                        fail(out, stopped());
                        return;
                    }
                    RaftClientReply reply = call.call(c);
                    if (reply.isSuccess()) {
                        succeed(out, null);
                    } else {
                        fail(out, map(reply.getException()));
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.warn("{} failed: {}", what, e.toString());
                    fail(out, map(e));
                }
            });
        } catch (RejectedExecutionException e) {
            out.completeExceptionally(stopped());
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ state

    public boolean isLeader() {
        return !closed && division.getInfo().isLeader();
    }

    /** The current leader's member name, or null if unknown. */
    public String leaderName() {
        if (closed) {
            return null;
        }
        RaftPeerId id = division.getInfo().getLeaderId();
        return id == null ? null : id.toString();
    }

    public long currentTerm() {
        return division.getInfo().getCurrentTerm();
    }

    public long commitIndex() {
        return division.getRaftLog().getLastCommittedIndex();
    }

    /** Ratis's applied index of this member (log entries of every kind, not only commands). */
    public long lastAppliedIndex() {
        return division.getInfo().getLastAppliedIndex();
    }

    /**
     * Completes with the reason when this member detected that its state diverged from the group's (it applied
     * an entry the leader later replaced). Nothing can repair that in place: stop the member and rebuild it from
     * the others (remove it, wipe its data dir, add it again).
     */
    public CompletableFuture<String> failure() {
        return failure;
    }

    /**
     * Waits until this member has applied everything its own log recorded as committed when it started. etcd
     * replays its WAL before it serves; after a crash the durable store can be behind the log, and without this a
     * serializable read could see less than a write acknowledged before the crash. Needs no other member.
     *
     * @return false if the replay had not finished when {@code timeout} ran out
     */
    /**
     * What must be applied before this member serves. Ratis records the commit index in its log lazily (metadata
     * entries written after the commit), so after kill -9 the recorded value can be below the last write a lone
     * voter acknowledged (CrashRecoveryIT, memory engine, seen twice). A lone voter commits everything its log
     * holds as soon as it leads again and nothing can truncate it, so it waits for its whole log; with other
     * voters only the recorded commit is known to be final (etcd replays to its HardState commit likewise).
     */
    private long replayTarget() {
        long committed = division.getRaftLog().getLastCommittedIndex();
        var conf = division.getRaftConf();
        var voters = conf.getCurrentPeers();
        boolean loneVoter = voters.size() == 1 && voters.iterator().next().getId().equals(localId)
                && conf.getPreviousPeers().isEmpty();
        var last = division.getRaftLog().getLastEntryTermIndex();
        return loneVoter && last != null ? Math.max(committed, last.getIndex()) : committed;
    }

    public boolean awaitStartupReplay(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (lastAppliedIndex() < committedAtStart && !closed) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    public String localName() {
        return config.localName();
    }

    /** The first index still in this member's log (entries before it were purged after a snapshot). */
    public long firstLogIndex() {
        return division.getRaftLog().getStartIndex();
    }

    /** Snapshots this member installed from a leader (catch-up past the leader's purged log) since it started. */
    public long snapshotInstalls() {
        return stateMachine.snapshotInstalls();
    }

    public RaftConfig config() {
        return config;
    }

    /** Proposal and leader-change counts of this member. */
    public RaftStats stats() {
        return stats;
    }

    // package-private for tests
    StoreStateMachine stateMachine() {
        return stateMachine;
    }

    RaftServer.Division division() {
        return division;
    }

    long readRoundsStarted() {
        return readRoundsStarted.get();
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private <T> CompletableFuture<T> newPending(String what) {
        CompletableFuture<T> f = new CompletableFuture<>();
        pending.add(f);
        ScheduledFuture<?> t = schedule(() -> fail(f, new RaftException(RaftException.Kind.TIMEOUT,
                "etcdserver: request timed out (" + what + ", " + requestTimeoutMs + " ms"
                        + (division != null && division.getInfo().getLeaderId() == null ? ", no leader" : "") + ")")),
                requestTimeoutMs);
        f.whenComplete((v, e) -> {
            pending.remove(f);
            if (t != null) {
                t.cancel(false);
            }
        });
        if (closed) {
            f.completeExceptionally(stopped()); // raced with close()
        }
        return f;
    }

    private ScheduledFuture<?> schedule(Runnable r, long delayMs) {
        try {
            return timer.schedule(r, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    private <T> void succeed(CompletableFuture<T> f, T value) {
        if (!f.isDone()) {
            callbacks.execute(() -> f.complete(value));
        }
    }

    private void fail(CompletableFuture<?> f, RaftException e) {
        if (!f.isDone()) {
            callbacks.execute(() -> f.completeExceptionally(e));
        }
    }

    private void dispatchLeaderChange(String leader, long term, boolean local) {
        synchronized (leaderEventLock) {
            dispatchedLeader = leader;
            stats.leaderSeen(leader);
            enqueueLeaderChange(leader, term, local);
        }
    }

    /**
     * Ratis tells the state machine of a new leader, but not of a follower losing its leader (its election timer
     * fired: it campaigns with no leader known). Checked every quarter election timeout, so listeners (and the
     * leader-change count, as etcd counts a lost and regained leader) hear "no leader" then too. Under the same
     * lock as the events from Ratis, re-reading the leader there, so a newer leader is never overwritten.
     */
    private void checkLeaderLost() {
        if (closed) {
            return;
        }
        try {
            synchronized (leaderEventLock) {
                if (dispatchedLeader != null && division.getInfo().getLeaderId() == null) {
                    dispatchedLeader = null;
                    stats.leaderSeen(null);
                    enqueueLeaderChange(null, currentTerm(), false);
                }
            }
        } catch (RuntimeException e) {
            LOG.debug("leader check failed", e); // a periodic task that threw would never run again
        }
    }

    private void enqueueLeaderChange(String leader, long term, boolean local) {
        LeadershipListener l = config.leadershipListener();
        if (l == null) {
            return;
        }
        try {
            eventPool.execute(() -> {
                try {
                    l.onLeaderChanged(leader, term, local);
                } catch (RuntimeException e) {
                    LOG.warn("LeadershipListener failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private RaftException stopped() {
        return new RaftException(RaftException.Kind.STOPPED, "etcdserver: server stopped");
    }

    /** Maps a Ratis failure onto the kinds the server turns into etcd errors. */
    RaftException map(Throwable t) {
        t = unwrap(t);
        if (t instanceof RaftException re) {
            return re;
        }
        if (closed || !division.getInfo().isAlive()) {
            return new RaftException(RaftException.Kind.STOPPED, "etcdserver: server stopped", t);
        }
        if (t instanceof RaftRetryFailureException && t.getCause() != null && t.getCause() != t) {
            RaftException inner = map(t.getCause());
            return inner.kind() == RaftException.Kind.INTERNAL
                    ? new RaftException(RaftException.Kind.TIMEOUT, "etcdserver: request timed out", t) : inner;
        }
        if (t instanceof NotLeaderException nle) {
            return nle.getSuggestedLeader() == null
                    ? new RaftException(RaftException.Kind.NO_LEADER, "etcdserver: no leader", t)
                    : new RaftException(RaftException.Kind.NOT_LEADER, "etcdserver: not leader", t);
        }
        if (t instanceof LeaderNotReadyException || t instanceof ReadIndexException
                || t instanceof ServerNotReadyException) {
            return new RaftException(RaftException.Kind.NO_LEADER, "etcdserver: no leader", t);
        }
        if (t instanceof LeaderSteppingDownException) {
            return new RaftException(RaftException.Kind.LEADER_CHANGED, "etcdserver: leader changed", t);
        }
        if (t instanceof AlreadyClosedException) {
            return new RaftException(RaftException.Kind.STOPPED, "etcdserver: server stopped", t);
        }
        if (t instanceof TimeoutIOException || t instanceof TimeoutException || t instanceof ReadException
                || t instanceof ResourceUnavailableException || t instanceof RaftRetryFailureException) {
            return new RaftException(RaftException.Kind.TIMEOUT, "etcdserver: request timed out", t);
        }
        return new RaftException(RaftException.Kind.INTERNAL, String.valueOf(t), t);
    }

    // ------------------------------------------------------------------------------------------------ close

    /** Graceful: stops the Ratis server (after applying what is committed), leaving the store to its owner. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        long t0 = System.nanoTime();
        RaftClient c;
        synchronized (clientLock) {
            c = client;
            client = null;
        }
        if (c != null) {
            try {
                c.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("Closing the forwarding client failed", e);
            }
        }
        long t1 = System.nanoTime();
        try {
            server.close();
        } catch (IOException | RuntimeException e) {
            LOG.warn("Closing the Ratis server failed", e);
        }
        long t2 = System.nanoTime();
        RaftException stopped = stopped();
        for (CompletableFuture<?> f : List.copyOf(pending)) {
            fail(f, stopped);
        }
        shutdownExecutors();
        if (latencyTap != null) {
            latencyTap.close();
        }
        LOG.info("Raft node {} closed in {} ms (Ratis server {} ms)", config.localName(),
                (System.nanoTime() - t0) / 1_000_000, (t2 - t1) / 1_000_000);
    }

    private void shutdownExecutors() {
        timer.shutdownNow();
        adminPool.shutdownNow();
        eventPool.shutdown();
        callbackPool.shutdown();
        try {
            if (!callbackPool.awaitTermination(5, TimeUnit.SECONDS)) {
                callbackPool.shutdownNow();
            }
            if (!eventPool.awaitTermination(5, TimeUnit.SECONDS)) {
                eventPool.shutdownNow();
            }
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
