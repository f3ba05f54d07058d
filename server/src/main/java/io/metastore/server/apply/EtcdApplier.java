package io.metastore.server.apply;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.metastore.proto.etcdserverpb.AlarmRequest;
import io.metastore.proto.etcdserverpb.AlarmResponse;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.proto.etcdserverpb.CompactionResponse;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.raftcmd.RaftCommand;
import io.metastore.proto.raftcmd.RaftResult;
import io.metastore.raft.CommandApplier;
import io.metastore.auth.AuthException;
import io.metastore.auth.AuthInfo;
import io.metastore.auth.AuthStore;
import io.metastore.proto.etcdserverpb.AuthenticateResponse;
import io.metastore.server.auth.MemberAuth;
import io.metastore.server.cluster.MemberRegistry;
import io.metastore.server.etcd.EtcdError;
import io.metastore.server.etcd.EtcdException;
import io.metastore.server.kv.KvApplier;
import io.metastore.server.kv.KvOpCounters;
import io.metastore.server.lease.LeaseManager;
import io.metastore.server.maintenance.AlarmStore;
import io.metastore.server.watch.WatchHub;
import io.metastore.storage.AppliedIndex;
import io.metastore.storage.Event;
import io.metastore.storage.MvccException;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The one state machine every member runs: each committed RaftCommand becomes one store write transaction
 * (committed with its Raft index), then lease attachments and watchers are told what changed. The reply
 * goes back to the proposer as a RaftResult.
 */
public final class EtcdApplier implements CommandApplier {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdApplier.class);

    private final MvccStore store;
    private final KvApplier kv;
    private final LeaseManager leases;
    private final AlarmStore alarms;
    private final WatchHub watchHub;
    private final MemberRegistry members;
    private final MemberAuth auth;
    private final KvOpCounters kvCounters = new KvOpCounters();
    private final ApplyStats stats = new ApplyStats();
    /** The last Raft index this state machine applied (or a snapshot brought it to); see {@link #awaitApplied}. */
    private volatile long appliedIndex;
    private final java.util.concurrent.ConcurrentSkipListMap<Long, CompletableFuture<Void>> appliedWaiters =
            new java.util.concurrent.ConcurrentSkipListMap<>();
    /** Physical completion of compactions by revision, for Compact(physical=true) callers. */
    private final ConcurrentMap<Long, CompletableFuture<Void>> compactions = new ConcurrentHashMap<>();

    public EtcdApplier(MvccStore store, LeaseManager leases, AlarmStore alarms, WatchHub watchHub,
                       MemberRegistry members, MemberAuth auth) {
        this.store = store;
        this.auth = auth;
        this.appliedIndex = store.appliedIndex() == null ? 0 : store.appliedIndex().index();
        this.members = members;
        this.leases = leases;
        this.alarms = alarms;
        this.watchHub = watchHub;
        this.kv = new KvApplier(store, leases::exists, kvCounters);
    }

    @Override
    public byte[] apply(AppliedIndex at, byte[] bytes) {
        try {
            return applyEntry(at, bytes);
        } finally {
            advanceApplied(at.index());
        }
    }

    private byte[] applyEntry(AppliedIndex at, byte[] bytes) {
        RaftCommand cmd;
        try {
            cmd = RaftCommand.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            LOG.error("unreadable Raft entry at index {} skipped", at.index(), e);
            recordApplied(at);
            return RaftResult.newBuilder().setError(EtcdError.NOT_CAPABLE.name()).build().toByteArray();
        }
        if (cmd.hasCompaction()) {
            return compact(at, cmd.getCompaction().getRevision()).toByteArray();
        }
        if (cmd.hasAuthenticate()) {
            return authenticate(at, cmd.getAuthenticate()).toByteArray();
        }
        List<Event> events = List.of();
        MessageLite response = null;
        EtcdError error = null;
        try (MvccWriteTxn txn = store.beginWrite()) {
            if (cmd.hasHeader() && auth.enabled()) {
                authorize(MemberAuth.caller(cmd.getHeader()), cmd);
            }
            response = dispatch(txn, cmd);
            events = txn.changes();
            long started = System.nanoTime();
            txn.commit(at);
            stats.committed(System.nanoTime() - started);
        } catch (EtcdException e) {
            error = e.error();
        } catch (AuthException e) {
            error = EtcdError.valueOf(e.reason().name());
        } catch (MvccException.Compacted e) {
            error = EtcdError.COMPACTED;
        } catch (MvccException.FutureRevision e) {
            error = EtcdError.FUTURE_REV;
        }
        if (error != null) {
            recordApplied(at);
            return RaftResult.newBuilder().setError(error.name()).build().toByteArray();
        }
        if (!events.isEmpty()) {
            leases.onCommitted(events);
            watchHub.notify(events, events.get(0).revision());
        }
        return RaftResult.newBuilder().setResponse(response.toByteString()).build().toByteArray();
    }

    private MessageLite dispatch(MvccWriteTxn txn, RaftCommand cmd) {
        return switch (cmd.getCommandCase()) {
            case PUT -> {
                refuseWritesWithoutSpace();
                yield kv.put(txn, cmd.getPut());
            }
            case DELETE_RANGE -> kv.deleteRange(txn, cmd.getDeleteRange());
            case TXN -> {
                if (hasPut(cmd.getTxn())) {
                    refuseWritesWithoutSpace();
                }
                yield kv.txn(txn, cmd.getTxn());
            }
            case LEASE_GRANT -> {
                refuseWritesWithoutSpace();
                yield leases.grant(txn, cmd.getLeaseGrant());
            }
            case LEASE_REVOKE -> leases.revoke(txn, cmd.getLeaseRevoke());
            case LEASE_CHECKPOINT -> leases.checkpoint(txn, cmd.getLeaseCheckpoint());
            case ALARM -> alarm(txn, cmd.getAlarm());
            case MEMBER_ATTRIBUTES -> members.applyPublish(txn, cmd.getMemberAttributes());
            case MEMBER_ADD -> members.applyAdd(txn, cmd.getMemberAdd());
            case MEMBER_REMOVE -> {
                members.applyRemove(txn, cmd.getMemberRemove());
                yield cmd.getMemberRemove();
            }
            case MEMBER_UPDATE -> members.applyUpdate(txn, cmd.getMemberUpdate());
            case MEMBER_PROMOTE -> members.applyPromote(txn, cmd.getMemberPromote());
            case AUTH_ENABLE -> withHeader(authStore().applyAuthEnable(txn, cmd.getAuthEnable()));
            case AUTH_DISABLE -> withHeader(authStore().applyAuthDisable(txn, cmd.getAuthDisable()));
            case AUTH_USER_ADD -> withHeader(authStore().applyUserAdd(txn, cmd.getAuthUserAdd()));
            case AUTH_USER_DELETE -> withHeader(authStore().applyUserDelete(txn, cmd.getAuthUserDelete()));
            case AUTH_USER_CHANGE_PASSWORD ->
                    withHeader(authStore().applyUserChangePassword(txn, cmd.getAuthUserChangePassword()));
            case AUTH_USER_GRANT_ROLE -> withHeader(authStore().applyUserGrantRole(txn, cmd.getAuthUserGrantRole()));
            case AUTH_USER_REVOKE_ROLE -> withHeader(authStore().applyUserRevokeRole(txn, cmd.getAuthUserRevokeRole()));
            case AUTH_ROLE_ADD -> withHeader(authStore().applyRoleAdd(txn, cmd.getAuthRoleAdd()));
            case AUTH_ROLE_DELETE -> withHeader(authStore().applyRoleDelete(txn, cmd.getAuthRoleDelete()));
            case AUTH_ROLE_GRANT_PERMISSION ->
                    withHeader(authStore().applyRoleGrantPermission(txn, cmd.getAuthRoleGrantPermission()));
            case AUTH_ROLE_REVOKE_PERMISSION ->
                    withHeader(authStore().applyRoleRevokePermission(txn, cmd.getAuthRoleRevokePermission()));
            default -> throw EtcdError.NOT_CAPABLE.toException();
        };
    }

    private AuthStore authStore() {
        return auth.store();
    }

    /**
     * etcd's authApplierV3: the permission checks again, with the user and auth revision the proposer put in
     * the command, so a permission revoked (or a token voided) between proposal and apply is honoured. Auth
     * mutations need an admin (etcd's needAdminPermission); KV writes and LeaseRevoke their keys' permissions.
     */
    private void authorize(AuthInfo caller, RaftCommand cmd) {
        switch (cmd.getCommandCase()) {
            case PUT -> auth.authorizer().checkPut(caller, cmd.getPut());
            case DELETE_RANGE -> auth.authorizer().checkDeleteRange(caller, cmd.getDeleteRange());
            case TXN -> auth.authorizer().checkTxn(caller, cmd.getTxn());
            case LEASE_REVOKE -> auth.authorizer().checkLeaseRevoke(caller, cmd.getLeaseRevoke().getID());
            case AUTH_ENABLE, AUTH_DISABLE, AUTH_USER_ADD, AUTH_USER_DELETE, AUTH_USER_CHANGE_PASSWORD,
                 AUTH_USER_GRANT_ROLE, AUTH_USER_REVOKE_ROLE, AUTH_ROLE_ADD, AUTH_ROLE_DELETE,
                 AUTH_ROLE_GRANT_PERMISSION, AUTH_ROLE_REVOKE_PERMISSION -> auth.checker().checkAdmin(caller);
            default -> { } // etcd checks the rest (lease grant, compaction, alarms) before proposing only
        }
    }

    /** Auth responses carry etcd's header with the store revision; the proposer completes the rest. */
    private <M extends com.google.protobuf.Message> M withHeader(M resp) {
        @SuppressWarnings("unchecked")
        M out = (M) resp.toBuilder().setField(resp.getDescriptorForType().findFieldByName("header"),
                ResponseHeader.newBuilder().setRevision(store.currentRevision()).build()).build();
        return out;
    }

    /**
     * etcd's Authenticate apply: issues the token on every member (a simple token names this entry's index),
     * writing nothing to the store.
     */
    private RaftResult authenticate(AppliedIndex at, io.metastore.proto.raftcmd.Authenticate a) {
        recordApplied(at);
        try {
            AuthenticateResponse resp = auth.authenticator().applyAuthenticate(a.getName(), a.getSimpleToken(), at.index());
            return RaftResult.newBuilder().setResponse(withHeader(resp).toByteString()).build();
        } catch (AuthException e) {
            return RaftResult.newBuilder().setError(e.reason().name()).build();
        }
    }

    /**
     * Completes once this member applied {@code index} (etcd's applyWait, used before looking up a simple token
     * issued at that index on another member).
     */
    public CompletableFuture<Void> awaitApplied(long index) {
        if (appliedIndex >= index) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = appliedWaiters.computeIfAbsent(index, i -> new CompletableFuture<>());
        if (appliedIndex >= index) {
            f.complete(null);
            appliedWaiters.remove(index, f);
        }
        return f;
    }

    private void advanceApplied(long index) {
        if (index > appliedIndex) {
            appliedIndex = index;
        }
        if (!appliedWaiters.isEmpty()) {
            var done = appliedWaiters.headMap(appliedIndex, true);
            done.values().forEach(f -> f.complete(null));
            done.clear();
        }
    }

    /** etcd's capped applier: with NOSPACE raised, only writes that free space get through. */
    private void refuseWritesWithoutSpace() {
        if (alarms.isActive(AlarmType.NOSPACE)) {
            throw EtcdError.NO_SPACE.toException();
        }
    }

    private static boolean hasPut(TxnRequest r) {
        for (List<RequestOp> ops : List.of(r.getSuccessList(), r.getFailureList())) {
            for (RequestOp op : ops) {
                if (op.hasRequestPut() || (op.hasRequestTxn() && hasPut(op.getRequestTxn()))) {
                    return true;
                }
            }
        }
        return false;
    }

    private AlarmResponse alarm(MvccWriteTxn txn, AlarmRequest r) {
        AlarmResponse.Builder resp = AlarmResponse.newBuilder()
                .setHeader(ResponseHeader.newBuilder().setRevision(store.currentRevision()));
        var changed = switch (r.getAction()) {
            case ACTIVATE -> alarms.activate(txn, r.getMemberID(), r.getAlarm());
            case DEACTIVATE -> alarms.deactivate(txn, r.getMemberID(), r.getAlarm());
            default -> null;
        };
        if (changed != null) {
            resp.addAlarms(changed);
        }
        return resp.build();
    }

    private RaftResult compact(AppliedIndex at, long revision) {
        try {
            CompletableFuture<Void> physical = store.compact(revision, at);
            compactions.put(revision, physical);
            physical.whenComplete((v, e) -> compactions.remove(revision, physical));
            CompactionResponse resp = CompactionResponse.newBuilder()
                    .setHeader(ResponseHeader.newBuilder().setRevision(store.currentRevision())).build();
            return RaftResult.newBuilder().setResponse(resp.toByteString()).build();
        } catch (MvccException.Compacted e) {
            recordApplied(at);
            return RaftResult.newBuilder().setError(EtcdError.COMPACTED.name()).build();
        } catch (MvccException.FutureRevision e) {
            recordApplied(at);
            return RaftResult.newBuilder().setError(EtcdError.FUTURE_REV.name()).build();
        }
    }

    /** Range/put/delete/txn counts of this member's store (the serving side adds the reads it answers). */
    public KvOpCounters kvCounters() {
        return kvCounters;
    }

    /** Commit durations and slow applies, for metrics. */
    public ApplyStats stats() {
        return stats;
    }

    /** Completes when the compaction to {@code revision} has physically removed old versions on this member. */
    public CompletableFuture<Void> physicalCompaction(long revision) {
        CompletableFuture<Void> f = compactions.get(revision);
        return f == null ? CompletableFuture.completedFuture(null) : f;
    }

    /** Entries that changed nothing still advance the applied index, so restarts do not replay them. */
    private void recordApplied(AppliedIndex at) {
        try (MvccWriteTxn txn = store.beginWrite()) {
            txn.commit(at);
        }
    }

    @Override
    public void onStoreReset() {
        leases.reload();
        alarms.reload();
        members.reload();
        auth.store().reload();
        watchHub.reset();
        AppliedIndex restored = store.appliedIndex();
        if (restored != null) {
            advanceApplied(restored.index());
        }
    }
}
