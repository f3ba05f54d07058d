package io.metastore.server.grpc;

import io.metastore.server.fault.FailureContainment;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.server.EtcdServer;
import io.metastore.server.etcd.EtcdError;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * etcd's checks in front of every etcd RPC (v3rpc/interceptor.go): with metadata {@code hasleader=true}, a
 * member without a leader refuses the call with "etcdserver: no leader", and such watch streams are ended
 * when the member has had no leader for three election timeouts; a learner serves only serializable Range,
 * Status and Snapshot ("etcdserver: rpc not supported for learner"), checked first as etcd does.
 */
public final class RequestGuard implements ServerInterceptor, AutoCloseable {
    static final Context.Key<Boolean> REQUIRE_LEADER = Context.key("metastore.require-leader");
    private static final Metadata.Key<String> HAS_LEADER = Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);
    /** What a learner serves besides serializable Range: Status, and (etcd 3.6) the Snapshot stream. */
    private static final java.util.Set<String> LEARNER_RPCS =
            java.util.Set.of("etcdserverpb.Maintenance/Status", "etcdserverpb.Maintenance/Snapshot");
    /** etcd's maxNoLeaderCnt. */
    private static final int NO_LEADER_CHECKS = 3;

    private final EtcdServer server;
    private final ScheduledExecutorService monitor;
    private int checksWithoutLeader;

    public RequestGuard(EtcdServer server, WatchService watches, long electionTimeoutMs) {
        this.server = server;
        this.monitor = Executors.newSingleThreadScheduledExecutor(FailureContainment.daemonThreads("leader-monitor"));
        monitor.scheduleWithFixedDelay(FailureContainment.guard("leader-monitor", () -> {
            if (server.leaderName() != null) {
                checksWithoutLeader = 0;
            } else if (++checksWithoutLeader >= NO_LEADER_CHECKS) {
                watches.endStreamsRequiringLeader();
            }
        }), electionTimeoutMs, electionTimeoutMs, TimeUnit.MILLISECONDS);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (!isEtcdRpc(method)) {
            return next.startCall(call, headers);
        }
        // etcd's order: the learner check first, then hasleader
        boolean learnerRange = false;
        if (server.isLearner() && !LEARNER_RPCS.contains(method)) {
            if (!method.equals("etcdserverpb.KV/Range")) {
                return refuse(call, EtcdError.NOT_SUPPORTED_FOR_LEARNER);
            }
            learnerRange = true;
        }
        boolean requireLeader = "true".equals(headers.get(HAS_LEADER));
        if (requireLeader && server.leaderName() == null) {
            return refuse(call, EtcdError.NO_LEADER);
        }
        Context ctx = Context.current().withValue(REQUIRE_LEADER, requireLeader);
        ServerCall.Listener<Q> listener = Contexts.interceptCall(ctx, call, headers, next);
        return learnerRange ? new SerializableOnly<>(listener, call) : listener;
    }

    private static boolean isEtcdRpc(String method) {
        return method.startsWith("etcdserverpb.") || method.startsWith("v3lockpb.")
                || method.startsWith("v3electionpb.");
    }

    private static <Q, A> ServerCall.Listener<Q> refuse(ServerCall<Q, A> call, EtcdError error) {
        call.close(GrpcErrors.toStatus(error).getStatus(), new Metadata());
        return new ServerCall.Listener<>() { };
    }

    /** A learner's Range: only serializable ones get through. */
    private static final class SerializableOnly<Q, A> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
        private final ServerCall<Q, A> call;
        private boolean refused;

        SerializableOnly(ServerCall.Listener<Q> delegate, ServerCall<Q, A> call) {
            super(delegate);
            this.call = call;
        }

        @Override
        public void onMessage(Q message) {
            if (message instanceof RangeRequest r && r.getSerializable()) {
                super.onMessage(message);
            } else if (!refused) {
                refused = true;
                call.close(GrpcErrors.toStatus(EtcdError.NOT_SUPPORTED_FOR_LEARNER).getStatus(), new Metadata());
            }
        }

        @Override
        public void onHalfClose() {
            if (!refused) {
                super.onHalfClose();
            }
        }
    }

    @Override
    public void close() {
        monitor.shutdownNow();
    }
}
