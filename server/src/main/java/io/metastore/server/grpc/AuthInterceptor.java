package io.metastore.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.metastore.auth.AuthException;
import io.metastore.auth.AuthInfo;
import io.metastore.auth.SimpleTokenProvider;
import io.metastore.server.auth.MemberAuth;
import io.metastore.server.etcd.EtcdError;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import static java.util.Map.entry;

/**
 * Who may call what, with auth enabled: THE rule table, one entry per RPC, and the token resolution etcd does
 * in {@code AuthInfoFromCtx}. An RPC missing from the table is refused ("etcdserver: permission denied"): new
 * RPCs are closed until someone decides their rule. With auth disabled the only cost is one volatile read.
 *
 * <p>The gate here covers what depends on the caller alone (credential present, admin); rules that depend on the
 * request (key ranges, lease keys, whose user record) are checked by the domain with the caller this interceptor
 * puts into the call's {@link Context}: {@code EtcdServer} before serving, and the state machine again at apply
 * time for proposed writes.
 */
public final class AuthInterceptor implements ServerInterceptor {

    /** What the gate checks before the call starts. */
    enum Rule {
        /** Nothing, the token is not even read (Authenticate; the health service). */
        PUBLIC,
        /** A token, if sent, must be valid (AuthStatus). */
        ANY,
        /** A valid credential is required (etcd's requireAuthInfo: "user name is empty" otherwise). */
        USER,
        /** The caller must hold role root (etcd's IsAdminPermitted: user empty / not found / permission denied). */
        ADMIN,
        /** A token, if sent, must be valid; the domain checks the request itself (keys, leases, ownership). */
        REQUEST
    }

    private static final String KV = "etcdserverpb.KV/";
    private static final String WATCH = "etcdserverpb.Watch/";
    private static final String LEASE = "etcdserverpb.Lease/";
    private static final String MAINT = "etcdserverpb.Maintenance/";
    private static final String CLUSTER = "etcdserverpb.Cluster/";
    private static final String AUTH = "etcdserverpb.Auth/";

    /**
     * The rule table (etcd: v3rpc/key.go, maintenance.go, auth.go, watch.go, v3_server.go, server.go,
     * apply/auth.go). The comment says what the domain checks on top of the gate.
     */
    static final Map<String, Rule> RULES = Map.ofEntries(
            entry(KV + "Range", Rule.REQUEST),              // READ on [key, range_end)
            entry(KV + "Put", Rule.REQUEST),                // WRITE key (+READ with prev_kv, +lease keys); at apply
            entry(KV + "DeleteRange", Rule.REQUEST),        // WRITE range (+READ with prev_kv); at apply
            entry(KV + "Txn", Rule.REQUEST),                // every compare (READ) and op of both branches, nested
            entry(KV + "Compact", Rule.ADMIN),
            entry(WATCH + "Watch", Rule.REQUEST),           // per create: READ on the range, else a cancel response
            entry(LEASE + "LeaseGrant", Rule.USER),
            entry(LEASE + "LeaseRevoke", Rule.USER),        // unless admin, WRITE on every attached key; at apply
            entry(LEASE + "LeaseKeepAlive", Rule.REQUEST),  // per renewal: credential; unless admin, WRITE on keys
            entry(LEASE + "LeaseTimeToLive", Rule.USER),    // with keys=true, unless admin, READ on every key
            entry(LEASE + "LeaseLeases", Rule.REQUEST),     // credential; unless admin, READ on every leased key
            entry(MAINT + "Status", Rule.USER),
            entry(MAINT + "Alarm", Rule.REQUEST),           // GET: credential; ACTIVATE/DEACTIVATE: admin
            entry(MAINT + "Defragment", Rule.ADMIN),
            entry(MAINT + "Hash", Rule.ADMIN),
            entry(MAINT + "HashKV", Rule.ADMIN),
            entry(MAINT + "Snapshot", Rule.ADMIN),
            entry(MAINT + "MoveLeader", Rule.ADMIN),
            entry(MAINT + "Downgrade", Rule.ADMIN),
            entry(CLUSTER + "MemberList", Rule.USER),
            entry(CLUSTER + "MemberAdd", Rule.ADMIN),
            entry(CLUSTER + "MemberRemove", Rule.ADMIN),
            entry(CLUSTER + "MemberUpdate", Rule.ADMIN),
            entry(CLUSTER + "MemberPromote", Rule.ADMIN),
            entry(AUTH + "Authenticate", Rule.PUBLIC),
            entry(AUTH + "AuthStatus", Rule.ANY),
            entry(AUTH + "AuthEnable", Rule.ADMIN),         // mutations: admin again at apply
            entry(AUTH + "AuthDisable", Rule.ADMIN),
            entry(AUTH + "UserAdd", Rule.ADMIN),
            entry(AUTH + "UserDelete", Rule.ADMIN),
            entry(AUTH + "UserChangePassword", Rule.ADMIN),
            entry(AUTH + "UserGrantRole", Rule.ADMIN),
            entry(AUTH + "UserRevokeRole", Rule.ADMIN),
            entry(AUTH + "RoleAdd", Rule.ADMIN),
            entry(AUTH + "RoleDelete", Rule.ADMIN),
            entry(AUTH + "RoleGrantPermission", Rule.ADMIN),
            entry(AUTH + "RoleRevokePermission", Rule.ADMIN),
            entry(AUTH + "UserList", Rule.ADMIN),
            entry(AUTH + "RoleList", Rule.ADMIN),
            entry(AUTH + "UserGet", Rule.REQUEST),          // admin, or the user asking about themself
            entry(AUTH + "RoleGet", Rule.REQUEST),          // admin, or a holder of the role
            // Lock and Election run etcd's recipes as clients of this member's own KV/Lease/Watch handlers with the
            // caller's token (as etcd's v3lock/v3election do), so every key they touch is checked there
            entry("v3lockpb.Lock/Lock", Rule.REQUEST),
            entry("v3lockpb.Lock/Unlock", Rule.REQUEST),
            entry("v3electionpb.Election/Campaign", Rule.REQUEST),
            entry("v3electionpb.Election/Proclaim", Rule.REQUEST),
            entry("v3electionpb.Election/Leader", Rule.REQUEST),
            entry("v3electionpb.Election/Observe", Rule.REQUEST),
            entry("v3electionpb.Election/Resign", Rule.REQUEST),
            entry("grpc.health.v1.Health/Check", Rule.PUBLIC),
            entry("grpc.health.v1.Health/Watch", Rule.PUBLIC));

    /** Bidirectional streams: the token is resolved again for every request on them (etcd does). */
    private static final java.util.Set<String> PER_MESSAGE = java.util.Set.of(WATCH + "Watch", LEASE + "LeaseKeepAlive");

    static final Metadata.Key<String> TOKEN_KEY = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
    /** The gRPC gateway's spelling (etcd strips a "Bearer " prefix). */
    static final Metadata.Key<String> AUTHORIZATION_KEY =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    /** The raw token of the call (forwarded to the leader when a call is relayed there). */
    static final Context.Key<String> TOKEN = Context.key("metastore.auth.token");
    /** The caller, resolved once for unary and server-streaming calls. */
    private static final Context.Key<AuthInfo> CALLER = Context.key("metastore.auth.caller");

    private final MemberAuth auth;
    private final LongFunction<CompletableFuture<Void>> awaitApplied;
    private final long waitMillis;
    /** etcd's --client-cert-auth: a call without a token is its verified client certificate's CN. */
    private final boolean certificateUsers;

    /**
     * @param awaitApplied completes once this member applied a Raft index (a simple token names the index of
     *                     the entry that issued it; a member behind that entry waits rather than reject it)
     */
    public AuthInterceptor(MemberAuth auth, LongFunction<CompletableFuture<Void>> awaitApplied, long waitMillis,
                           boolean certificateUsers) {
        this.auth = auth;
        this.awaitApplied = awaitApplied;
        this.waitMillis = waitMillis;
        this.certificateUsers = certificateUsers;
    }

    /** The caller of the current call; {@link AuthInfo#NONE} with auth disabled or without a credential. */
    static AuthInfo caller() {
        AuthInfo c = CALLER.get();
        return c == null ? AuthInfo.NONE : c;
    }

    /** For streams: resolves the call's token at each use (expiry and revocation show on the next request). */
    static Supplier<AuthInfo> callerResolver(MemberAuth auth) {
        String token = TOKEN.get();
        AuthInfo fixed = CALLER.get();
        return () -> fixed != null ? fixed : auth.resolve(token);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        if (!auth.enabled()) {
            return next.startCall(call, headers);
        }
        String method = call.getMethodDescriptor().getFullMethodName();
        Rule rule = RULES.get(method);
        if (rule == null) {
            return refuse(call, Status.PERMISSION_DENIED.withDescription(EtcdError.PERMISSION_DENIED.message()));
        }
        if (rule == Rule.PUBLIC) {
            return next.startCall(call, headers);
        }
        String token = token(headers);
        long index = token == null ? -1 : SimpleTokenProvider.raftIndexOf(token);
        if (index > 0) {
            CompletableFuture<Void> applied = awaitApplied.apply(index);
            if (!applied.isDone()) {
                // a simple token issued by an entry this member has not applied yet: wait for it (etcd's
                // indexWaiter) without blocking the transport thread
                Deferred<Q> deferred = new Deferred<>();
                Context ctx = Context.current();
                applied.completeOnTimeout(null, waitMillis, TimeUnit.MILLISECONDS)
                        .whenComplete((v, e) -> ctx.run(() -> deferred.start(gate(call, headers, next, method, rule, token))));
                return deferred;
            }
        }
        return gate(call, headers, next, method, rule, token);
    }

    private <Q, A> ServerCall.Listener<Q> gate(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next,
                                               String method, Rule rule, String token) {
        Context ctx = Context.current().withValue(TOKEN, token);
        if (PER_MESSAGE.contains(method) && token == null && certificateUsers) {
            // no token to resolve at each message: the certificate's user, as of the stream's start
            ctx = ctx.withValue(CALLER, ClientCertificates.commonName(call).map(auth::certificateUser)
                    .orElse(AuthInfo.NONE));
        }
        if (!PER_MESSAGE.contains(method)) {
            AuthInfo caller;
            try {
                caller = token == null && certificateUsers
                        ? ClientCertificates.commonName(call).map(auth::certificateUser).orElse(AuthInfo.NONE)
                        : auth.resolve(token);
                switch (rule) {
                    case USER -> auth.requireUser(caller);
                    case ADMIN -> auth.checker().checkAdmin(caller);
                    default -> { }
                }
            } catch (AuthException e) {
                return refuse(call, GrpcErrors.toStatus(e).getStatus());
            }
            ctx = ctx.withValue(CALLER, caller);
        }
        return Contexts.interceptCall(ctx, call, headers, next);
    }

    private static String token(Metadata headers) {
        String t = headers.get(TOKEN_KEY);
        if (t == null) {
            t = headers.get(AUTHORIZATION_KEY);
        }
        return t == null || t.isEmpty() ? null : t;
    }

    private static <Q, A> ServerCall.Listener<Q> refuse(ServerCall<Q, A> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() { };
    }

    /**
     * A listener for a call whose start waits for something: events that arrive meanwhile (only cancellation
     * and readiness, since nothing asked for messages yet) are replayed once the real listener exists.
     */
    private static final class Deferred<Q> extends ServerCall.Listener<Q> {
        private ServerCall.Listener<Q> delegate;
        private final List<Consumer<ServerCall.Listener<Q>>> pending = new ArrayList<>();

        synchronized void start(ServerCall.Listener<Q> listener) {
            for (Consumer<ServerCall.Listener<Q>> p : pending) {
                p.accept(listener);
            }
            pending.clear();
            delegate = listener;
        }

        private synchronized void on(Consumer<ServerCall.Listener<Q>> event) {
            if (delegate != null) {
                event.accept(delegate);
            } else {
                pending.add(event);
            }
        }

        @Override
        public void onMessage(Q message) {
            on(l -> l.onMessage(message));
        }

        @Override
        public void onHalfClose() {
            on(ServerCall.Listener::onHalfClose);
        }

        @Override
        public void onCancel() {
            on(ServerCall.Listener::onCancel);
        }

        @Override
        public void onComplete() {
            on(ServerCall.Listener::onComplete);
        }

        @Override
        public void onReady() {
            on(ServerCall.Listener::onReady);
        }
    }
}
