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
import io.metastore.auth.AuthException;
import io.metastore.auth.AuthInfo;
import io.metastore.proto.etcdserverpb.AuthDisableRequest;
import io.metastore.proto.etcdserverpb.AuthDisableResponse;
import io.metastore.proto.etcdserverpb.AuthEnableRequest;
import io.metastore.proto.etcdserverpb.AuthEnableResponse;
import io.metastore.proto.etcdserverpb.AuthRoleAddRequest;
import io.metastore.proto.etcdserverpb.AuthRoleAddResponse;
import io.metastore.proto.etcdserverpb.AuthRoleDeleteRequest;
import io.metastore.proto.etcdserverpb.AuthRoleDeleteResponse;
import io.metastore.proto.etcdserverpb.AuthRoleGetRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGetResponse;
import io.metastore.proto.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGrantPermissionResponse;
import io.metastore.proto.etcdserverpb.AuthRoleListRequest;
import io.metastore.proto.etcdserverpb.AuthRoleListResponse;
import io.metastore.proto.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.metastore.proto.etcdserverpb.AuthRoleRevokePermissionResponse;
import io.metastore.proto.etcdserverpb.AuthStatusRequest;
import io.metastore.proto.etcdserverpb.AuthStatusResponse;
import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserAddResponse;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordRequest;
import io.metastore.proto.etcdserverpb.AuthUserChangePasswordResponse;
import io.metastore.proto.etcdserverpb.AuthUserDeleteRequest;
import io.metastore.proto.etcdserverpb.AuthUserDeleteResponse;
import io.metastore.proto.etcdserverpb.AuthUserGetRequest;
import io.metastore.proto.etcdserverpb.AuthUserGetResponse;
import io.metastore.proto.etcdserverpb.AuthUserGrantRoleRequest;
import io.metastore.proto.etcdserverpb.AuthUserGrantRoleResponse;
import io.metastore.proto.etcdserverpb.AuthUserListRequest;
import io.metastore.proto.etcdserverpb.AuthUserListResponse;
import io.metastore.proto.etcdserverpb.AuthUserRevokeRoleRequest;
import io.metastore.proto.etcdserverpb.AuthUserRevokeRoleResponse;
import io.metastore.proto.etcdserverpb.AuthenticateRequest;
import io.metastore.proto.etcdserverpb.AuthenticateResponse;
import io.metastore.server.apply.EtcdApplier;
import io.metastore.server.auth.MemberAuth;
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
    private final MemberAuth auth;

    public EtcdServer(ServerConfig config, Membership membership, MvccStore store, RaftNode raft,
                      EtcdApplier applier, LeaseManager leases, AlarmStore alarms, WatchHub watchHub,
                      MemberAuth auth) {
        this.auth = auth;
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

    public MemberAuth auth() {
        return auth;
    }

    /**
     * etcd's doSerialize: check the caller's READ permission, read, then refuse the answer if the auth store
     * moved on meanwhile ("revision of auth store is old"; the client re-authenticates and retries).
     */
    public CompletableFuture<RangeResponse> range(AuthInfo caller, RangeRequest r) {
        validator.checkRange(r);
        if (r.getSerializable()) {
            return CompletableFuture.completedFuture(checkedRange(caller, r));
        }
        return linearizable(() -> checkedRange(caller, r));
    }

    private RangeResponse checkedRange(AuthInfo caller, RangeRequest r) {
        if (!auth.enabled()) {
            return rangeLocal(r);
        }
        auth.authorizer().checkRange(caller, r);
        RangeResponse resp = rangeLocal(r);
        auth.checkStillCurrent(caller);
        return resp;
    }

    private RangeResponse rangeLocal(RangeRequest r) {
        applier.kvCounters().servedRange();
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

    public CompletableFuture<PutResponse> put(AuthInfo caller, PutRequest r) {
        validator.checkPut(r);
        checkQuota(QuotaGuard.KV_OVERHEAD + r.getKey().size() + r.getValue().size());
        return propose(RaftCommand.newBuilder().setPut(r).setHeader(MemberAuth.header(caller)).build(), PutResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    public CompletableFuture<DeleteRangeResponse> deleteRange(AuthInfo caller, DeleteRangeRequest r) {
        validator.checkDelete(r);
        return propose(RaftCommand.newBuilder().setDeleteRange(r).setHeader(MemberAuth.header(caller)).build(), DeleteRangeResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    public CompletableFuture<TxnResponse> txn(AuthInfo caller, TxnRequest r) {
        validator.checkTxn(r);
        if (ReadOnlyTxn.isReadOnly(r)) {
            if (ReadOnlyTxn.isSerializable(r)) {
                return CompletableFuture.completedFuture(readOnlyTxn(caller, r));
            }
            return linearizable(() -> readOnlyTxn(caller, r));
        }
        long cost = txnPutCost(r);
        if (cost > 0) {
            checkQuota(cost);
        }
        return propose(RaftCommand.newBuilder().setTxn(r).setHeader(MemberAuth.header(caller)).build(),
                TxnResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    private TxnResponse readOnlyTxn(AuthInfo caller, TxnRequest r) {
        boolean checked = auth.enabled();
        if (checked) {
            auth.authorizer().checkTxn(caller, r);
        }
        applier.kvCounters().servedTxn();
        TxnResponse resp = ReadOnlyTxn.execute(store, r);
        if (checked) {
            auth.checkStillCurrent(caller);
        }
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
        long maxLeases = config.limits().maxLeases();
        if (maxLeases > 0 && leases.count() >= maxLeases) {
            // checked before Raft from this member's view: a cap, not a consensus rule, so a few concurrent
            // grants may overshoot it slightly; every member applies the same log either way
            throw EtcdError.TOO_MANY_LEASES.toException();
        }
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

    public CompletableFuture<LeaseRevokeResponse> leaseRevoke(AuthInfo caller, LeaseRevokeRequest r) {
        return propose(RaftCommand.newBuilder().setLeaseRevoke(r).setHeader(MemberAuth.header(caller)).build(), LeaseRevokeResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(complete(resp.getHeader())).build());
    }

    /** etcd answers an unknown or expired lease with TTL 0, not an error; the header predates the renewal. */
    public LeaseKeepAliveResponse leaseKeepAlive(AuthInfo caller, long id) {
        ResponseHeader h = header(store.currentRevision());
        if (!raft.isLeader()) {
            throw EtcdError.NOT_LEADER.toException();
        }
        checkLeaseRenew(caller, id);
        return LeaseKeepAliveResponse.newBuilder().setHeader(h).setID(id).setTTL(leases.renew(id)).build();
    }

    /**
     * etcd's checkLeaseRenew: with auth enabled, renewing needs a credential and, unless admin, WRITE on every
     * key attached to the lease (whoever could not revoke it must not keep it alive).
     */
    public void checkLeaseRenew(AuthInfo caller, long id) {
        if (!auth.enabled()) {
            return;
        }
        long rev = auth.store().revision();
        auth.requireUser(caller);
        if (auth.checker().isAdmin(caller)) {
            return;
        }
        LeaseManager.TimeToLive ttl = leases.timeToLive(id, true);
        if (ttl != null) {
            for (byte[] k : ttl.keys()) {
                auth.checker().checkPut(caller, k);
            }
        }
        if (rev != auth.store().revision()) {
            throw AuthException.Reason.AUTH_OLD_REVISION.exception();
        }
    }

    /**
     * etcd's checkLeaseTimeToLive: asking for the attached keys needs, unless admin, READ on every one of them,
     * so the answer never shows a key the caller could not read.
     */
    public void checkLeaseTimeToLive(AuthInfo caller, LeaseTimeToLiveRequest r) {
        if (!r.getKeys() || !auth.enabled()) {
            return;
        }
        auth.requireUser(caller);
        if (auth.checker().isAdmin(caller)) {
            return;
        }
        LeaseManager.TimeToLive ttl = leases.timeToLive(r.getID(), true);
        if (ttl != null) {
            for (byte[] k : ttl.keys()) {
                auth.checker().checkRange(caller, k, null);
            }
        }
    }

    public CompletableFuture<LeaseTimeToLiveResponse> leaseTimeToLive(AuthInfo caller, LeaseTimeToLiveRequest r) {
        long rev = auth.store().revision();
        checkLeaseTimeToLive(caller, r);
        return linearizable(() -> {
            if (r.getKeys() && auth.enabled() && rev != auth.store().revision()) {
                throw AuthException.Reason.AUTH_OLD_REVISION.exception();
            }
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

    /** etcd's checkLeaseLeases: unless admin, READ on every key attached to any lease. */
    public CompletableFuture<LeaseLeasesResponse> leaseLeases(AuthInfo caller) {
        return linearizable(() -> {
            if (auth.enabled()) {
                long rev = auth.store().revision();
                auth.requireUser(caller);
                if (!auth.checker().isAdmin(caller)) {
                    for (long id : leases.ids()) {
                        LeaseManager.TimeToLive ttl = leases.timeToLive(id, true);
                        for (byte[] k : ttl == null ? List.<byte[]>of() : ttl.keys()) {
                            auth.checker().checkRange(caller, k, null);
                        }
                    }
                }
                if (rev != auth.store().revision()) {
                    throw AuthException.Reason.AUTH_OLD_REVISION.exception();
                }
            }
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

    /**
     * etcd's isWatchPermitted, at each create request: READ on the watched range. A refusal is not a stream
     * error but a created-and-canceled response whose cancel_reason is the error text (etcd's words).
     *
     * @param caller resolves the stream's token now (etcd re-reads it per create); may throw
     */
    public void watchCreate(WatchStream stream, java.util.function.Supplier<AuthInfo> caller,
                            io.metastore.server.watch.WatchRequestSpec spec) {
        if (auth.enabled() && spec.startRevision() >= 0) {
            try {
                auth.checker().checkRange(caller.get(), spec.key(), spec.rangeEnd());
            } catch (AuthException e) {
                String reason = switch (e.reason()) {
                    case INVALID_AUTH_TOKEN, AUTH_OLD_REVISION, USER_EMPTY -> e.getMessage();
                    default -> AuthException.Reason.PERMISSION_DENIED.message();
                };
                stream.refuse(reason);
                return;
            }
        }
        stream.create(spec);
    }

    // ---- Auth ----
    // Mutations are Raft commands carrying the caller; the state machine checks admin rights with it (etcd's
    // needAdminPermission). Reads are served locally after a ReadIndex barrier (etcd sends them through Raft
    // for the same linearizability) and check the caller here.

    public CompletableFuture<AuthEnableResponse> authEnable(AuthInfo caller, AuthEnableRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthEnable(r), AuthEnableResponse.parser());
    }

    public CompletableFuture<AuthDisableResponse> authDisable(AuthInfo caller, AuthDisableRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthDisable(r), AuthDisableResponse.parser());
    }

    public CompletableFuture<AuthStatusResponse> authStatus(AuthStatusRequest r) {
        return linearizable(() -> auth.store().status(r).toBuilder().setHeader(header(store.currentRevision())).build());
    }

    /**
     * etcd's Authenticate: after a ReadIndex barrier, bcrypt-check the password here (off the event loop), then
     * propose only {name, random token prefix}; every member's state machine issues the token. If the auth
     * revision moved between the check and the apply (say, the password changed), check again.
     */
    public CompletableFuture<AuthenticateResponse> authenticate(AuthenticateRequest r) {
        return raft.linearizableBarrier()
                .exceptionally(e -> {
                    throw translate(e);
                })
                .thenCompose(v -> authenticateOnce(r));
    }

    private CompletableFuture<AuthenticateResponse> authenticateOnce(AuthenticateRequest r) {
        return CompletableFuture.supplyAsync(
                        () -> auth.authenticator().checkPassword(r.getName(), r.getPassword()), auth.bcryptExecutor())
                .thenCompose(checkedRevision -> {
                    RaftCommand cmd = RaftCommand.newBuilder().setAuthenticate(io.metastore.proto.raftcmd.Authenticate
                            .newBuilder().setName(r.getName())
                            .setSimpleToken(auth.authenticator().newTokenPrefix())).build();
                    return propose(cmd, AuthenticateResponse.parser()).thenCompose(resp ->
                            checkedRevision == auth.store().revision()
                                    ? CompletableFuture.completedFuture(fullHeader(resp))
                                    : authenticateOnce(r));
                });
    }

    /** The password is hashed here, before proposing: the Raft log never holds it in plain text. */
    public CompletableFuture<AuthUserAddResponse> userAdd(AuthInfo caller, AuthUserAddRequest r) {
        return CompletableFuture.supplyAsync(() -> auth.authenticator().hasher().prepare(r), auth.bcryptExecutor())
                .thenCompose(hashed -> proposeAuth(caller, RaftCommand.newBuilder().setAuthUserAdd(hashed),
                        AuthUserAddResponse.parser()));
    }

    public CompletableFuture<AuthUserDeleteResponse> userDelete(AuthInfo caller, AuthUserDeleteRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthUserDelete(r), AuthUserDeleteResponse.parser());
    }

    public CompletableFuture<AuthUserChangePasswordResponse> userChangePassword(AuthInfo caller,
                                                                                AuthUserChangePasswordRequest r) {
        return CompletableFuture.supplyAsync(() -> auth.authenticator().hasher().prepare(r), auth.bcryptExecutor())
                .thenCompose(hashed -> proposeAuth(caller, RaftCommand.newBuilder().setAuthUserChangePassword(hashed),
                        AuthUserChangePasswordResponse.parser()));
    }

    public CompletableFuture<AuthUserGrantRoleResponse> userGrantRole(AuthInfo caller, AuthUserGrantRoleRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthUserGrantRole(r), AuthUserGrantRoleResponse.parser());
    }

    public CompletableFuture<AuthUserRevokeRoleResponse> userRevokeRole(AuthInfo caller, AuthUserRevokeRoleRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthUserRevokeRole(r), AuthUserRevokeRoleResponse.parser());
    }

    public CompletableFuture<AuthRoleAddResponse> roleAdd(AuthInfo caller, AuthRoleAddRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthRoleAdd(r), AuthRoleAddResponse.parser());
    }

    public CompletableFuture<AuthRoleDeleteResponse> roleDelete(AuthInfo caller, AuthRoleDeleteRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthRoleDelete(r), AuthRoleDeleteResponse.parser());
    }

    public CompletableFuture<AuthRoleGrantPermissionResponse> roleGrantPermission(AuthInfo caller,
                                                                                  AuthRoleGrantPermissionRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthRoleGrantPermission(r),
                AuthRoleGrantPermissionResponse.parser());
    }

    public CompletableFuture<AuthRoleRevokePermissionResponse> roleRevokePermission(AuthInfo caller,
                                                                                    AuthRoleRevokePermissionRequest r) {
        return proposeAuth(caller, RaftCommand.newBuilder().setAuthRoleRevokePermission(r),
                AuthRoleRevokePermissionResponse.parser());
    }

    /** An admin, or the user asking about themself. */
    public CompletableFuture<AuthUserGetResponse> userGet(AuthInfo caller, AuthUserGetRequest r) {
        return linearizable(() -> {
            auth.checker().checkUserGet(caller, r.getName());
            return fullHeader(auth.store().userGet(r));
        });
    }

    public CompletableFuture<AuthUserListResponse> userList(AuthInfo caller, AuthUserListRequest r) {
        return linearizable(() -> {
            auth.checker().checkAdmin(caller);
            return fullHeader(auth.store().userList(r));
        });
    }

    /** An admin, or a holder of the role. */
    public CompletableFuture<AuthRoleGetResponse> roleGet(AuthInfo caller, AuthRoleGetRequest r) {
        return linearizable(() -> {
            auth.checker().checkRoleGet(caller, r.getRole());
            return fullHeader(auth.store().roleGet(r));
        });
    }

    public CompletableFuture<AuthRoleListResponse> roleList(AuthInfo caller, AuthRoleListRequest r) {
        return linearizable(() -> {
            auth.checker().checkAdmin(caller);
            return fullHeader(auth.store().roleList(r));
        });
    }

    private <T extends com.google.protobuf.Message> CompletableFuture<T> proposeAuth(
            AuthInfo caller, RaftCommand.Builder cmd, Parser<T> parser) {
        return propose(cmd.setHeader(MemberAuth.header(caller)).build(), parser).thenApply(this::fullHeader);
    }

    /** Completes an auth response's header (the applier set its revision; this member adds the rest). */
    @SuppressWarnings("unchecked")
    private <T extends com.google.protobuf.Message> T fullHeader(T resp) {
        var field = resp.getDescriptorForType().findFieldByName("header");
        long revision = resp.hasField(field) ? ((ResponseHeader) resp.getField(field)).getRevision()
                : store.currentRevision();
        return (T) resp.toBuilder().setField(field, header(revision)).build();
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

    /** etcd: listing alarms needs a credential, raising or clearing them an admin. */
    public CompletableFuture<AlarmResponse> alarm(AuthInfo caller, AlarmRequest r) {
        if (r.getAction() == AlarmRequest.AlarmAction.GET) {
            auth.requireUser(caller);
        } else {
            auth.checker().checkAdmin(caller);
        }
        if (r.getAction() == AlarmRequest.AlarmAction.GET) {
            return CompletableFuture.completedFuture(AlarmResponse.newBuilder()
                    .setHeader(header(store.currentRevision()))
                    .addAllAlarms(alarms.list(r.getAlarm())).build());
        }
        if (r.getAction() == AlarmRequest.AlarmAction.DEACTIVATE) {
            quota.resample();
        }
        return propose(RaftCommand.newBuilder().setAlarm(r).build(), AlarmResponse.parser())
                .thenApply(resp -> resp.toBuilder().setHeader(header(store.currentRevision())).build());
    }

    /** Every alarm raised in the cluster, as this member has applied them (health checks). */
    public List<AlarmMember> activeAlarms() {
        return alarms.list(AlarmType.NONE);
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
        quota.resample();
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
