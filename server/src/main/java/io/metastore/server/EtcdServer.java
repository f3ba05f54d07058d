package io.metastore.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import io.metastore.proto.etcdserverpb.AlarmMember;
import io.metastore.proto.etcdserverpb.AlarmRequest;
import io.metastore.proto.etcdserverpb.AlarmResponse;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.CompactionResponse;
import io.metastore.proto.etcdserverpb.DefragmentResponse;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.DeleteRangeResponse;
import io.metastore.proto.etcdserverpb.HashKVRequest;
import io.metastore.proto.etcdserverpb.HashKVResponse;
import io.metastore.proto.etcdserverpb.HashResponse;
import io.metastore.proto.etcdserverpb.LeaseGrantRequest;
import io.metastore.proto.etcdserverpb.LeaseGrantResponse;
import io.metastore.proto.etcdserverpb.LeaseKeepAliveResponse;
import io.metastore.proto.etcdserverpb.LeaseLeasesResponse;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.etcdserverpb.LeaseRevokeResponse;
import io.metastore.proto.etcdserverpb.LeaseStatus;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveRequest;
import io.metastore.proto.etcdserverpb.LeaseTimeToLiveResponse;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.PutResponse;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RangeResponse;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.etcdserverpb.StatusResponse;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.etcdserverpb.TxnResponse;
import io.metastore.proto.raftcmd.MemberAttributes;
import io.metastore.proto.raftcmd.RaftCommand;
import io.metastore.proto.raftcmd.RaftResult;
import io.metastore.raft.RaftException;
import io.metastore.raft.RaftNode;
import io.metastore.server.apply.EtcdApplier;
import io.metastore.server.cluster.MemberManager;
import io.metastore.server.cluster.MemberRegistry;
import io.metastore.server.cluster.Membership;
import io.metastore.server.etcd.EtcdError;
import io.metastore.server.kv.KvProtos;
import io.metastore.server.kv.KvRequestValidator;
import io.metastore.server.kv.RangeResponses;
import io.metastore.server.kv.ReadOnlyTxn;
import io.metastore.server.lease.LeaseManager;
import io.metastore.server.maintenance.AlarmStore;
import io.metastore.server.maintenance.QuotaGuard;
import io.metastore.server.watch.WatchHub;
import io.metastore.server.watch.WatchSink;
import io.metastore.server.watch.WatchStream;
import io.metastore.storage.HashResult;
import io.metastore.storage.MvccException;
import io.metastore.storage.MvccStore;
import io.metastore.storage.RangeResult;
import io.metastore.storage.StoreStats;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * The etcd server in domain terms, as etcd's EtcdServer: validates requests, proposes writes through Raft,
 * serves reads (linearizable via ReadIndex, serializable locally) and fills response headers. The gRPC
 * services are thin adapters over this class.
 */
public final class EtcdServer {
    /** The etcd version we speak; Kubernetes enables watch progress requests for >= 3.5.13. */
    public static final String VERSION = "3.6.0";
    public static final String STORAGE_VERSION = "3.6.0";

    private final ServerConfig config;
    private final Membership membership;
    private final MvccStore store;
    private final RaftNode raft;
    private final EtcdApplier applier;
    private final LeaseManager leases;
    private final AlarmStore alarms;
    private final WatchHub watchHub;
    private final KvRequestValidator validator;
    private final QuotaGuard quota;
    private final MemberRegistry members;

    private final MemberManager memberManager;

    public EtcdServer(ServerConfig config, Membership membership, MvccStore store, RaftNode raft,
                      EtcdApplier applier, LeaseManager leases, AlarmStore alarms, WatchHub watchHub) {
        this.members = membership.registry();
        this.config = config;
        this.membership = membership;
        this.store = store;
        this.raft = raft;
        this.applier = applier;
        this.leases = leases;
        this.alarms = alarms;
        this.watchHub = watchHub;
        this.validator = new KvRequestValidator(config.maxTxnOps());
        this.quota = new QuotaGuard(store, config.effectiveQuotaBytes());
        this.memberManager = new MemberManager(config, membership, raft, this::propose,
                () -> header(0).toBuilder().clearRevision().build());
    }

    /** Membership changes and leader transfer (the Cluster service and Maintenance.MoveLeader). */
    public MemberManager members() {
        return memberManager;
    }

    public ServerConfig config() {
        return config;
    }

    public ResponseHeader header(long revision) {
        return ResponseHeader.newBuilder()
                .setClusterId(membership.clusterId())
                .setMemberId(membership.localId())
                .setRevision(revision)
                .setRaftTerm(raft.currentTerm())
                .build();
    }

    private ResponseHeader complete(ResponseHeader partial) {
        return header(partial.getRevision());
    }

    // ---- KV ----

    public CompletableFuture<RangeResponse> range(RangeRequest r) {
        validator.checkRange(r);
        if (r.getSerializable()) {
            return CompletableFuture.completedFuture(rangeLocal(r));
        }
        return linearizable(() -> rangeLocal(r));
    }

    private RangeResponse rangeLocal(RangeRequest r) {
        RangeResult result;
        try {
            result = store.range(KvProtos.toQuery(r));
        } catch (MvccException.Compacted e) {
            throw EtcdError.COMPACTED.toException();
        } catch (MvccException.FutureRevision e) {
            throw EtcdError.FUTURE_REV.toException();
        }
        RangeResponse resp = RangeResponses.build(result, r.getKeysOnly(), result.revision());
        return resp.toBuilder().setHeader(header(result.revision())).build();
    }

    public CompletableFuture<PutResponse> put(PutRequest r) {
        validator.checkPut(r);
        checkQuota(QuotaGuard.KV_OVERHEAD + r.getKey().size() + r.getValue().size());
        return propose(RaftCommand.newBuilder().setPut(r).build(), PutResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    public CompletableFuture<DeleteRangeResponse> deleteRange(DeleteRangeRequest r) {
        validator.checkDelete(r);
        return propose(RaftCommand.newBuilder().setDeleteRange(r).build(), DeleteRangeResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    public CompletableFuture<TxnResponse> txn(TxnRequest r) {
        validator.checkTxn(r);
        if (ReadOnlyTxn.isReadOnly(r)) {
            if (ReadOnlyTxn.isSerializable(r)) {
                return CompletableFuture.completedFuture(readOnlyTxn(r));
            }
            return linearizable(() -> readOnlyTxn(r));
        }
        long cost = txnPutCost(r);
        if (cost > 0) {
            checkQuota(cost);
        }
        return propose(RaftCommand.newBuilder().setTxn(r).build(), TxnResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    private TxnResponse readOnlyTxn(TxnRequest r) {
        TxnResponse resp = ReadOnlyTxn.execute(store, r);
        return resp.toBuilder().setHeader(complete(resp.getHeader())).build();
    }

    /** etcd charges a txn the larger of its branches' put costs. */
    private static long txnPutCost(TxnRequest r) {
        return Math.max(putCost(r.getSuccessList()), putCost(r.getFailureList()));
    }

    private static long putCost(List<RequestOp> ops) {
        long cost = 0;
        for (RequestOp op : ops) {
            if (op.hasRequestPut()) {
                cost += QuotaGuard.KV_OVERHEAD + op.getRequestPut().getKey().size() + op.getRequestPut().getValue().size();
            } else if (op.hasRequestTxn()) {
                cost += txnPutCost(op.getRequestTxn());
            }
        }
        return cost;
    }

    public CompletableFuture<CompactionResponse> compact(CompactionRequest r) {
        return propose(RaftCommand.newBuilder().setCompaction(r).build(), CompactionResponse.parser())
                .thenCompose(resp -> {
                    CompactionResponse done = resp.toBuilder().setHeader(complete(resp.getHeader())).build();
                    if (!r.getPhysical()) {
                        return CompletableFuture.completedFuture(done);
                    }
                    return applier.physicalCompaction(r.getRevision()).thenApply(v -> done);
                });
    }

    // ---- Lease ----

    public CompletableFuture<LeaseGrantResponse> leaseGrant(LeaseGrantRequest r) {
        if (r.getTTL() > LeaseManager.MAX_TTL_SECONDS) {
            throw EtcdError.LEASE_TTL_TOO_LARGE.toException();
        }
        checkQuota(QuotaGuard.LEASE_GRANT_COST);
        LeaseGrantRequest fixed = r;
        if (r.getID() == 0) {
            // the ID is chosen once, before Raft, so every member applies the same one
            fixed = r.toBuilder().setID(newLeaseId()).build();
        }
        return propose(RaftCommand.newBuilder().setLeaseGrant(fixed).build(), LeaseGrantResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(header(store.currentRevision())).build());
    }

    private long newLeaseId() {
        while (true) {
            long id = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
            if (id != 0 && !leases.exists(id)) {
                return id;
            }
        }
    }

    public CompletableFuture<LeaseRevokeResponse> leaseRevoke(LeaseRevokeRequest r) {
        return propose(RaftCommand.newBuilder().setLeaseRevoke(r).build(), LeaseRevokeResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    /** etcd answers an unknown or expired lease with TTL 0, not an error; the header predates the renewal. */
    public LeaseKeepAliveResponse leaseKeepAlive(long id) {
        ResponseHeader h = header(store.currentRevision());
        if (!raft.isLeader()) {
            throw EtcdError.NOT_LEADER.toException();
        }
        return LeaseKeepAliveResponse.newBuilder().setHeader(h).setID(id).setTTL(leases.renew(id)).build();
    }

    public CompletableFuture<LeaseTimeToLiveResponse> leaseTimeToLive(LeaseTimeToLiveRequest r) {
        return linearizable(() -> {
            LeaseManager.TimeToLive ttl = leases.timeToLive(r.getID(), r.getKeys());
            LeaseTimeToLiveResponse.Builder b = LeaseTimeToLiveResponse.newBuilder()
                    .setHeader(header(store.currentRevision())).setID(r.getID());
            if (ttl == null) {
                return b.setTTL(-1).build();
            }
            b.setTTL(ttl.remainingSeconds()).setGrantedTTL(ttl.grantedSeconds());
            for (byte[] k : ttl.keys()) {
                b.addKeys(KvProtos.wrap(k));
            }
            return b.build();
        });
    }

    public CompletableFuture<LeaseLeasesResponse> leaseLeases() {
        return linearizable(() -> {
            LeaseLeasesResponse.Builder b = LeaseLeasesResponse.newBuilder().setHeader(header(store.currentRevision()));
            for (long id : leases.ids()) {
                b.addLeases(LeaseStatus.newBuilder().setID(id));
            }
            return b.build();
        });
    }

    // ---- Watch ----

    public WatchStream openWatchStream(WatchSink sink) {
        return watchHub.openStream(sink);
    }

    // ---- Maintenance and Cluster ----

    public StatusResponse status() {
        StoreStats stats = store.stats();
        Membership.Member leader = membership.byRaftName(raft.leaderName());
        StatusResponse.Builder b = StatusResponse.newBuilder()
                .setHeader(header(store.currentRevision()))
                .setVersion(VERSION)
                .setDbSize(stats.sizeBytes())
                .setDbSizeInUse(stats.sizeInUseBytes())
                .setLeader(leader == null ? 0 : leader.id())
                .setRaftIndex(raft.commitIndex())
                .setRaftTerm(raft.currentTerm())
                .setRaftAppliedIndex(raft.lastAppliedIndex())
                .setIsLearner(raft.isListener())
                .setStorageVersion(STORAGE_VERSION)
                .setDbSizeQuota(quota.quotaBytes());
        if (leader == null) {
            b.addErrors(EtcdError.NO_LEADER.message());
        }
        for (AlarmMember m : alarms.list(AlarmType.NONE)) {
            b.addErrors("memberID:" + Long.toUnsignedString(m.getMemberID()) + " alarm:" + m.getAlarm() + " ");
        }
        return b.build();
    }

    public CompletableFuture<AlarmResponse> alarm(AlarmRequest r) {
        if (r.getAction() == AlarmRequest.AlarmAction.GET) {
            return CompletableFuture.completedFuture(AlarmResponse.newBuilder()
                    .setHeader(header(store.currentRevision()))
                    .addAllAlarms(alarms.list(r.getAlarm())).build());
        }
        return propose(RaftCommand.newBuilder().setAlarm(r).build(), AlarmResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(header(store.currentRevision())).build());
    }

    public HashKVResponse hashKv(HashKVRequest r) {
        HashResult h;
        try {
            h = store.hashKv(r.getRevision());
        } catch (MvccException.Compacted e) {
            throw EtcdError.COMPACTED.toException();
        } catch (MvccException.FutureRevision e) {
            throw EtcdError.FUTURE_REV.toException();
        }
        // etcd's compact revision starts at -1 ("never compacted") and HashKV reports it as such
        long compacted = h.compactRevision() == 0 ? -1 : h.compactRevision();
        return HashKVResponse.newBuilder().setHeader(header(store.currentRevision()))
                .setHash(h.hash()).setCompactRevision(compacted).setHashRevision(h.hashRevision()).build();
    }

    public HashResponse hash() {
        return HashResponse.newBuilder().setHeader(header(store.currentRevision()))
                .setHash(store.hashKv(0).hash()).build();
    }

    public DefragmentResponse defragment() {
        store.defragment();
        return DefragmentResponse.newBuilder().setHeader(header(store.currentRevision())).build();
    }

    /** Writes a consistent image of the store (see {@link MvccStore#writeSnapshot}). */
    public void writeSnapshot(OutputStream out) throws IOException {
        store.writeSnapshot(out);
    }

    public CompletableFuture<io.metastore.proto.etcdserverpb.MemberListResponse> memberList(boolean linearizable) {
        return linearizable ? linearizable(memberManager::list) : CompletableFuture.completedFuture(memberManager.list());
    }

    /** Another member's advertised client URL when it leads and has published it; null otherwise (never our own). */
    public String leaderClientUrl() {
        String name = raft.leaderName();
        Membership.Member leader = name == null || name.equals(raft.localName()) ? null : membership.byRaftName(name);
        return leader == null || leader.clientUrls().isEmpty() ? null : leader.clientUrls().get(0);
    }

    /**
     * What this member publishes through Raft on start (etcd's publish). A joining member does not know its ID
     * yet and sends 0: the state machine finds it by its peer URLs.
     */
    public RaftCommand publishCommand() {
        return RaftCommand.newBuilder().setMemberAttributes(MemberAttributes.newBuilder()
                .setId(membership.localId()).setName(config.name())
                .addAllClientUrls(config.advertiseClientUrls())
                .addAllPeerUrls(config.localPeerUrls())
                .setClusterId(membership.clusterId())).build();
    }

    /** True when the replicated registry already holds exactly what this member would publish. */
    public boolean published() {
        var r = members.byId(membership.localId());
        return r != null && r.getName().equals(config.name())
                && r.getClientUrlsList().equals(config.advertiseClientUrls());
    }

    public Membership membership() {
        return membership;
    }

    // ---- plumbing ----

    private void checkQuota(long cost) {
        if (alarms.isActive(AlarmType.NOSPACE)) {
            throw EtcdError.NO_SPACE.toException();
        }
        if (!quota.available(cost)) {
            AlarmRequest raise = AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.ACTIVATE)
                    .setMemberID(membership.localId()).setAlarm(AlarmType.NOSPACE).build();
            propose(RaftCommand.newBuilder().setAlarm(raise).build(), AlarmResponse.parser());
            throw EtcdError.NO_SPACE.toException();
        }
    }

    private <T> CompletableFuture<T> linearizable(java.util.function.Supplier<T> read) {
        return raft.linearizableBarrier()
                .exceptionally(e -> {
                    throw translate(e);
                })
                .thenApply(v -> read.get());
    }

    /** Proposes a command and decodes the applying member's answer into {@code parser}'s type. */
    public <T> CompletableFuture<T> propose(RaftCommand cmd, Parser<T> parser) {
        byte[] bytes = cmd.toByteArray();
        if (bytes.length > config.maxRequestBytes()) {
            throw EtcdError.REQUEST_TOO_LARGE.toException();
        }
        return raft.propose(bytes).handle((reply, err) -> {
            if (err != null) {
                throw translate(err);
            }
            return decode(reply, parser);
        });
    }

    private static <T> T decode(byte[] reply, Parser<T> parser) {
        try {
            RaftResult result = RaftResult.parseFrom(reply);
            if (!result.getError().isEmpty()) {
                throw EtcdError.valueOf(result.getError()).toException();
            }
            return parser.parseFrom(result.getResponse());
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("unreadable apply result", e);
        }
    }

    private static RuntimeException translate(Throwable err) {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (cause instanceof RaftException re) {
            EtcdError mapped = switch (re.kind()) {
                case NO_LEADER -> EtcdError.NO_LEADER;
                case NOT_LEADER -> EtcdError.NOT_LEADER;
                case TIMEOUT -> EtcdError.TIMEOUT;
                case STOPPED -> EtcdError.STOPPED;
                case TOO_LARGE -> EtcdError.REQUEST_TOO_LARGE;
                case LEADER_CHANGED -> EtcdError.LEADER_CHANGED;
                default -> null;
            };
            if (mapped != null) {
                return mapped.toException();
            }
        }
        if (cause instanceof RuntimeException rt) {
            return rt;
        }
        return new CompletionException(cause);
    }

    /** For the leader's duty loops, which only need to know whether a command went through. */
    public Function<RaftCommand, CompletableFuture<?>> proposer() {
        return cmd -> propose(cmd, ResponseHeader.parser());
    }

    public boolean isLeader() {
        return raft.isLeader();
    }

    public long memberId() {
        return membership.localId();
    }

    /** etcd: a learner serves serializable Range and Status only. */
    public boolean isLearner() {
        return raft.isListener();
    }

    /** The leader's Raft name as this member knows it; null while there is none. */
    public String leaderName() {
        return raft.leaderName();
    }
}
