package io.metastore.server;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.authpb.Permission;
import io.metastore.proto.etcdserverpb.*;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every RPC × every kind of caller, over raw gRPC stubs (our metadata, exact codes and messages), against the
 * rules etcd applies (see docs/security.md): root; alice, READWRITE on "a/"; bob, no permission; no token; a
 * token that never existed; a token that expired (--auth-token-ttl=1).
 */
@Timeout(180)
class AuthPermissionMatrixTest {
    static TestMember member;
    static RawClient raw;
    static String expiredToken;
    static long leaseOnA;
    static final List<String> failures = new ArrayList<>();

    enum Caller { ROOT, ALICE, BOB, NONE, BAD, EXPIRED }

    /** Expected outcome per caller: OK, DENIED, EMPTY (no credential), TOKEN (invalid token), ERR (any non-auth error). */
    static final String ADMIN = "OK DENIED DENIED EMPTY TOKEN TOKEN";
    /** Root gets past auth and meets a domain error (a member or user that does not exist). */
    static final String ADMIN_OR_ERR = "ERR DENIED DENIED EMPTY TOKEN TOKEN";
    static final String USER = "OK OK OK EMPTY TOKEN TOKEN";
    static final String KEYS_A = "OK OK DENIED EMPTY TOKEN TOKEN";

    static ByteString b(String s) {
        return ByteString.copyFromUtf8(s);
    }

    @BeforeAll
    static void setUp() throws Exception {
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY, c -> c.bcryptCost(4).authTokenTtl(Duration.ofSeconds(1)));
        raw = new RawClient(member.member().clientPort());
        AuthGrpc.AuthBlockingStub a = AuthGrpc.newBlockingStub(raw.channel);
        a.userAdd(AuthUserAddRequest.newBuilder().setName("root").setPassword("rootpw").build());
        a.userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
        a.roleAdd(AuthRoleAddRequest.newBuilder().setName("rw-a").build());
        a.roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder().setName("rw-a").setPerm(Permission.newBuilder()
                .setKey(b("a/")).setRangeEnd(b("a0")).setPermType(Permission.Type.READWRITE)).build());
        a.userAdd(AuthUserAddRequest.newBuilder().setName("alice").setPassword("alicepw").build());
        a.userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("alice").setRole("rw-a").build());
        a.userAdd(AuthUserAddRequest.newBuilder().setName("bob").setPassword("bobpw").build());
        a.roleAdd(AuthRoleAddRequest.newBuilder().setName("nothing").build());
        a.userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("bob").setRole("nothing").build());
        // a lease with a key alice may write: keep-alive, time-to-live with keys and lease listing depend on it
        leaseOnA = raw.lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(600).build()).getID();
        raw.kv.put(PutRequest.newBuilder().setKey(b("a/leased")).setLease(leaseOnA).build());
        a.authEnable(AuthEnableRequest.getDefaultInstance());
        expiredToken = token("alice", "alicepw");
        Thread.sleep(1600);
    }

    @AfterAll
    static void tearDown() {
        raw.close();
        member.close();
    }

    static String token(String user, String password) {
        return AuthGrpc.newBlockingStub(raw.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .authenticate(AuthenticateRequest.newBuilder().setName(user).setPassword(password).build()).getToken();
    }

    /** A fresh credential for each call: simple tokens here live one second. */
    static <S extends AbstractStub<S>> S as(Caller c, S stub) {
        String token = switch (c) {
            case ROOT -> token("root", "rootpw");
            case ALICE -> token("alice", "alicepw");
            case BOB -> token("bob", "bobpw");
            case NONE -> null;
            case BAD -> "NoSuchTokenEver";
            case EXPIRED -> expiredToken;
        };
        S s = stub.withDeadlineAfter(20, TimeUnit.SECONDS);
        if (token == null) {
            return s;
        }
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
        return s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    interface Call {
        void run(Caller c) throws Exception;
    }

    static void check(String rpc, String expected, Call call) {
        String[] want = expected.split(" ");
        for (Caller c : Caller.values()) {
            String w = want[c.ordinal()];
            String got;
            try {
                call.run(c);
                got = "OK";
            } catch (StatusRuntimeException e) {
                got = classify(e.getStatus());
            } catch (Exception e) {
                got = "EXCEPTION " + e;
            }
            boolean ok = w.equals(got) || (w.equals("ERR") && (got.equals("OK") || got.startsWith("ERR")));
            if (!ok) {
                failures.add(rpc + " as " + c + ": expected " + w + ", got " + got);
            }
        }
    }

    static String classify(Status s) {
        String m = s.getDescription();
        if (s.getCode() == Status.Code.PERMISSION_DENIED && "etcdserver: permission denied".equals(m)) {
            return "DENIED";
        }
        if (s.getCode() == Status.Code.INVALID_ARGUMENT && "etcdserver: user name is empty".equals(m)) {
            return "EMPTY";
        }
        if (s.getCode() == Status.Code.UNAUTHENTICATED && "etcdserver: invalid auth token".equals(m)) {
            return "TOKEN";
        }
        return "ERR " + s.getCode() + " " + m;
    }

    static KVGrpc.KVBlockingStub kv() {
        return KVGrpc.newBlockingStub(raw.channel);
    }

    static LeaseGrpc.LeaseBlockingStub lease() {
        return LeaseGrpc.newBlockingStub(raw.channel);
    }

    static MaintenanceGrpc.MaintenanceBlockingStub maint() {
        return MaintenanceGrpc.newBlockingStub(raw.channel);
    }

    static ClusterGrpc.ClusterBlockingStub cluster() {
        return ClusterGrpc.newBlockingStub(raw.channel);
    }

    static AuthGrpc.AuthBlockingStub auth() {
        return AuthGrpc.newBlockingStub(raw.channel);
    }

    static long newLease(String attachedKey) {
        var root = as(Caller.ROOT, lease());
        long id = root.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(600).build()).getID();
        if (attachedKey != null) {
            as(Caller.ROOT, kv()).put(PutRequest.newBuilder().setKey(b(attachedKey)).setLease(id).build());
        }
        return id;
    }

    /** The first response of a watch stream opened with {@code create}, or its error. */
    static WatchResponse watchCreate(Caller c, WatchCreateRequest create) throws Exception {
        CompletableFuture<WatchResponse> first = new CompletableFuture<>();
        var stub = as(c, io.metastore.proto.etcdserverpb.WatchGrpc.newStub(raw.channel));
        StreamObserver<WatchRequest> req = stub.watch(new StreamObserver<>() {
            public void onNext(WatchResponse r) { first.complete(r); }
            public void onError(Throwable t) { first.completeExceptionally(t); }
            public void onCompleted() { }
        });
        req.onNext(WatchRequest.newBuilder().setCreateRequest(create).build());
        try {
            return first.get(20, TimeUnit.SECONDS);
        } finally {
            req.onCompleted();
        }
    }

    static LeaseKeepAliveResponse keepAlive(Caller c, long id) throws Exception {
        CompletableFuture<LeaseKeepAliveResponse> first = new CompletableFuture<>();
        var stub = as(c, LeaseGrpc.newStub(raw.channel));
        StreamObserver<LeaseKeepAliveRequest> req = stub.leaseKeepAlive(new StreamObserver<>() {
            public void onNext(LeaseKeepAliveResponse r) { first.complete(r); }
            public void onError(Throwable t) { first.completeExceptionally(t); }
            public void onCompleted() { }
        });
        req.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
        try {
            return first.get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw (Exception) e.getCause();
        } finally {
            req.onCompleted();
        }
    }

    static final AtomicInteger unique = new AtomicInteger();

    @Test
    void everyRpcForEveryCaller() throws Exception {
        // listing leases needs READ on every leased key: only a/ keys are leased so far
        check("LeaseLeases (a/ keys only)", KEYS_A, c -> as(c, lease()).leaseLeases(LeaseLeasesRequest.getDefaultInstance()));
        // KV
        check("Range a/", KEYS_A, c -> as(c, kv()).range(RangeRequest.newBuilder().setKey(b("a/x")).build()));
        check("Range prefix a/", KEYS_A, c -> as(c, kv()).range(RangeRequest.newBuilder().setKey(b("a/")).setRangeEnd(b("a0")).build()));
        check("Range b/", ADMIN, c -> as(c, kv()).range(RangeRequest.newBuilder().setKey(b("b/x")).build()));
        check("Range all", ADMIN, c -> as(c, kv()).range(RangeRequest.newBuilder().setKey(b("\0")).setRangeEnd(b("\0")).build()));
        check("Put a/", KEYS_A, c -> as(c, kv()).put(PutRequest.newBuilder().setKey(b("a/x")).setValue(b("v")).build()));
        check("Put b/", ADMIN, c -> as(c, kv()).put(PutRequest.newBuilder().setKey(b("b/x")).setValue(b("v")).build()));
        check("Put a/ attaching a lease with a b/ key", ADMIN, c -> {
            long l = newLease("b/leased" + unique.incrementAndGet());
            as(c, kv()).put(PutRequest.newBuilder().setKey(b("a/y")).setLease(l).build());
        });
        check("DeleteRange a/", KEYS_A, c -> as(c, kv()).deleteRange(DeleteRangeRequest.newBuilder().setKey(b("a/zz")).build()));
        check("DeleteRange a/..b/", ADMIN, c -> as(c, kv()).deleteRange(DeleteRangeRequest.newBuilder().setKey(b("a/zz")).setRangeEnd(b("b/zz")).build()));
        Compare onA = Compare.newBuilder().setKey(b("a/x")).setTarget(Compare.CompareTarget.VERSION)
                .setResult(Compare.CompareResult.GREATER).setVersion(0).build();
        Compare onB = onA.toBuilder().setKey(b("b/x")).build();
        RequestOp putA = RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(b("a/t"))).build();
        RequestOp putB = RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(b("b/t"))).build();
        RequestOp getB = RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(b("b/t"))).build();
        check("Txn on a/", KEYS_A, c -> as(c, kv()).txn(TxnRequest.newBuilder().addCompare(onA).addSuccess(putA).build()));
        check("Txn compare on b/", ADMIN, c -> as(c, kv()).txn(TxnRequest.newBuilder().addCompare(onB).addSuccess(putA).build()));
        check("Txn failure branch puts b/", ADMIN, c -> as(c, kv()).txn(TxnRequest.newBuilder().addCompare(onA).addSuccess(putA).addFailure(putB).build()));
        check("Txn nested txn reads b/", ADMIN, c -> as(c, kv()).txn(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder()
                .setRequestTxn(TxnRequest.newBuilder().addSuccess(putA).addFailure(getB))).build()));
        check("Txn read-only on b/", ADMIN, c -> as(c, kv()).txn(TxnRequest.newBuilder().addSuccess(getB).build()));
        check("Compact", ADMIN_OR_ERR, c -> as(c, kv()).compact(CompactionRequest.newBuilder().setRevision(1).build()));
        // Watch: a refusal is a created+canceled response carrying etcd's error text
        for (String key : List.of("a/w", "b/w")) {
            check("Watch create " + key, key.startsWith("a") ? KEYS_A : ADMIN, c -> {
                WatchResponse r = watchCreate(c, WatchCreateRequest.newBuilder().setKey(b(key)).build());
                if (r.getCanceled()) {
                    String reason = r.getCancelReason();
                    assertEquals(-1, r.getWatchId());
                    throw Status.fromCode(reason.contains("permission denied") ? Status.Code.PERMISSION_DENIED
                            : reason.contains("invalid auth token") ? Status.Code.UNAUTHENTICATED
                            : Status.Code.INVALID_ARGUMENT).withDescription(reason).asRuntimeException();
                }
                assertTrue(r.getCreated());
            });
        }
        // Lease
        check("LeaseGrant", USER, c -> as(c, lease()).leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build()));
        check("LeaseRevoke (no keys)", USER, c -> as(c, lease()).leaseRevoke(LeaseRevokeRequest.newBuilder().setID(newLease(null)).build()));
        check("LeaseRevoke (a/ key)", KEYS_A, c -> as(c, lease()).leaseRevoke(LeaseRevokeRequest.newBuilder()
                .setID(newLease("a/l" + unique.incrementAndGet())).build()));
        check("LeaseRevoke (b/ key)", ADMIN, c -> as(c, lease()).leaseRevoke(LeaseRevokeRequest.newBuilder()
                .setID(newLease("b/l" + unique.incrementAndGet())).build()));
        check("LeaseTimeToLive", USER, c -> as(c, lease()).leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(leaseOnA).build()));
        check("LeaseTimeToLive keys (a/)", KEYS_A, c -> as(c, lease()).leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(leaseOnA).setKeys(true).build()));
        check("LeaseLeases (b/ keys leased too)", ADMIN, c -> as(c, lease()).leaseLeases(LeaseLeasesRequest.getDefaultInstance()));
        check("LeaseKeepAlive (a/)", KEYS_A, c -> keepAlive(c, leaseOnA));
        // Maintenance
        check("Status", USER, c -> as(c, maint()).status(StatusRequest.getDefaultInstance()));
        check("Alarm GET", USER, c -> as(c, maint()).alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build()));
        check("Alarm DEACTIVATE", ADMIN, c -> as(c, maint()).alarm(AlarmRequest.newBuilder()
                .setAction(AlarmRequest.AlarmAction.DEACTIVATE).setAlarm(AlarmType.NOSPACE).build()));
        check("Defragment", ADMIN, c -> as(c, maint()).defragment(DefragmentRequest.getDefaultInstance()));
        check("Hash", ADMIN, c -> as(c, maint()).hash(HashRequest.getDefaultInstance()));
        check("HashKV", ADMIN, c -> as(c, maint()).hashKV(HashKVRequest.getDefaultInstance()));
        check("Snapshot", ADMIN, c -> as(c, maint()).snapshot(SnapshotRequest.getDefaultInstance()).next());
        check("MoveLeader", ADMIN_OR_ERR, c -> as(c, maint()).moveLeader(MoveLeaderRequest.newBuilder().setTargetID(42).build()));
        // Cluster (root's calls target a member that does not exist: the answer must merely not be an auth error)
        check("MemberList", USER, c -> as(c, cluster()).memberList(MemberListRequest.getDefaultInstance()));
        check("MemberAdd", ADMIN_OR_ERR, c -> as(c, cluster()).memberAdd(MemberAddRequest.newBuilder()
                .addPeerURLs("not a url").setIsLearner(true).build()));
        check("MemberRemove", ADMIN_OR_ERR, c -> as(c, cluster()).memberRemove(MemberRemoveRequest.newBuilder().setID(42).build()));
        check("MemberUpdate", ADMIN_OR_ERR, c -> as(c, cluster()).memberUpdate(MemberUpdateRequest.newBuilder().setID(42).addPeerURLs("http://127.0.0.1:1").build()));
        check("MemberPromote", ADMIN_OR_ERR, c -> as(c, cluster()).memberPromote(MemberPromoteRequest.newBuilder().setID(42).build()));
        // Auth
        check("AuthStatus", "OK OK OK OK TOKEN TOKEN", c -> as(c, auth()).authStatus(AuthStatusRequest.getDefaultInstance()));
        check("UserList", ADMIN, c -> as(c, auth()).userList(AuthUserListRequest.getDefaultInstance()));
        check("RoleList", ADMIN, c -> as(c, auth()).roleList(AuthRoleListRequest.getDefaultInstance()));
        check("UserGet alice", "OK OK DENIED EMPTY TOKEN TOKEN", c -> as(c, auth()).userGet(AuthUserGetRequest.newBuilder().setName("alice").build()));
        check("RoleGet rw-a", "OK OK DENIED EMPTY TOKEN TOKEN", c -> as(c, auth()).roleGet(AuthRoleGetRequest.newBuilder().setRole("rw-a").build()));
        check("UserAdd", ADMIN, c -> as(c, auth()).userAdd(AuthUserAddRequest.newBuilder().setName("u" + unique.incrementAndGet()).setPassword("p").build()));
        check("RoleAdd", ADMIN, c -> as(c, auth()).roleAdd(AuthRoleAddRequest.newBuilder().setName("r" + unique.incrementAndGet()).build()));
        check("UserGrantRole", ADMIN_OR_ERR, c -> as(c, auth()).userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("nobody").setRole("rw-a").build()));
        check("UserRevokeRole", ADMIN_OR_ERR, c -> as(c, auth()).userRevokeRole(AuthUserRevokeRoleRequest.newBuilder().setName("nobody").setRole("rw-a").build()));
        check("UserDelete", ADMIN_OR_ERR, c -> as(c, auth()).userDelete(AuthUserDeleteRequest.newBuilder().setName("nobody").build()));
        check("UserChangePassword", ADMIN_OR_ERR, c -> as(c, auth()).userChangePassword(AuthUserChangePasswordRequest.newBuilder().setName("nobody").setPassword("x").build()));
        check("RoleDelete", ADMIN_OR_ERR, c -> as(c, auth()).roleDelete(AuthRoleDeleteRequest.newBuilder().setRole("nosuch").build()));
        check("RoleGrantPermission", ADMIN_OR_ERR, c -> as(c, auth()).roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder().setName("nosuch")
                .setPerm(Permission.newBuilder().setKey(b("k"))).build()));
        check("RoleRevokePermission", ADMIN_OR_ERR, c -> as(c, auth()).roleRevokePermission(AuthRoleRevokePermissionRequest.newBuilder().setRole("nosuch").setKey(b("k")).build()));
        check("AuthEnable (already enabled)", ADMIN, c -> as(c, auth()).authEnable(AuthEnableRequest.getDefaultInstance()));
        assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
    }

    @Test
    void authenticateErrors() {
        RawClient.assertEtcdError(Status.Code.INVALID_ARGUMENT,
                "etcdserver: authentication failed, invalid user ID or password", () -> token("alice", "wrong"));
        RawClient.assertEtcdError(Status.Code.INVALID_ARGUMENT,
                "etcdserver: authentication failed, invalid user ID or password", () -> token("nobody", "x"));
        // a bad token does not stop anyone from authenticating (etcd does not read it there)
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), "garbage");
        auth().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                .authenticate(AuthenticateRequest.newBuilder().setName("bob").setPassword("bobpw").build());
    }

    @Test
    void unknownMethodsAreRefusedWhileAuthIsOn() {
        RawClient.assertEtcdError(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> as(Caller.ROOT, kv()).rangeStream(RangeRequest.newBuilder().setKey(b("a")).build()).hasNext());
    }
}
