package io.metastore.server.maintenance;

import io.metastore.auth.AuthException;
import io.metastore.auth.AuthInfo;
import io.metastore.proto.etcdserverpb.AlarmMember;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.server.EtcdServer;
import io.metastore.server.etcd.EtcdError;
import io.metastore.server.etcd.EtcdException;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The checks behind etcd's /health, /livez and /readyz (server/etcdserver/api/etcdhttp/health.go), in domain
 * terms: alarms, the leader, a real read through the normal Range path, learner status. Never blocks: reads
 * complete later, bounded by the request timeout.
 */
public final class MemberHealth {
    /** etcd's Health JSON fields: health "true"/"false" and the reason when false. */
    public record Verdict(boolean healthy, String reason) {
        static final Verdict OK = new Verdict(true, "");
    }

    private final EtcdServer server;
    private final long timeoutMs;

    public MemberHealth(EtcdServer server) {
        this.server = server;
        this.timeoutMs = server.config().requestTimeout().toMillis();
    }

    /**
     * etcd's checkHealth: the first active alarm not excluded (by its name, "NOSPACE", "CORRUPT"), then, unless
     * serializable, the leader, then a Range (keys only, limit 1; linearizable unless serializable).
     */
    public CompletableFuture<Verdict> health(Set<String> excludedAlarms, boolean serializable) {
        for (AlarmMember a : server.activeAlarms()) {
            if (excludedAlarms.contains(a.getAlarm().name())) {
                continue;
            }
            String reason = switch (a.getAlarm()) {
                case NOSPACE -> "ALARM NOSPACE";
                case CORRUPT -> "ALARM CORRUPT";
                default -> "ALARM UNKNOWN";
            };
            return CompletableFuture.completedFuture(new Verdict(false, reason));
        }
        if (!serializable && server.leaderName() == null) {
            return CompletableFuture.completedFuture(new Verdict(false, "RAFT NO LEADER"));
        }
        return read(serializable).thenApply(error -> error == null ? Verdict.OK
                : new Verdict(false, "RANGE ERROR:" + error));
    }

    /**
     * A Range of one key, keys only, as etcd's probes send it; completes with null when it worked, else the error
     * text. A refusal by auth (no user, no permission) still proves the read path works, so it counts as success,
     * as etcd's /health does (its /readyz reads as root to the same effect).
     */
    public CompletableFuture<String> read(boolean serializable) {
        RangeRequest r = RangeRequest.newBuilder().setKey(com.google.protobuf.ByteString.copyFromUtf8("health"))
                .setKeysOnly(true).setLimit(1).setSerializable(serializable).build();
        CompletableFuture<?> read;
        try {
            read = server.range(AuthInfo.NONE, r);
        } catch (RuntimeException e) {
            read = CompletableFuture.failedFuture(e);
        }
        return read.orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((v, e) -> e == null ? null : failure(e));
    }

    private static String failure(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof AuthException ae && (ae.reason() == AuthException.Reason.USER_EMPTY
                || ae.reason() == AuthException.Reason.PERMISSION_DENIED)) {
            return null;
        }
        if (e instanceof EtcdException ee) {
            if (ee.error() == EtcdError.USER_EMPTY || ee.error() == EtcdError.PERMISSION_DENIED) {
                return null;
            }
            return ee.error().message();
        }
        if (e instanceof TimeoutException) {
            return EtcdError.TIMEOUT.message();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /** etcd's activeAlarmCheck: an error text while an alarm of {@code type} is active, else null. */
    public String alarmCheck(AlarmType type) {
        for (AlarmMember a : server.activeAlarms()) {
            if (a.getAlarm() == type) {
                return "alarm activated: " + type.name();
            }
        }
        return null;
    }

    /** etcd's learner check for /readyz. */
    public String nonLearnerCheck() {
        return server.isLearner() ? "not supported for learner" : null;
    }
}
