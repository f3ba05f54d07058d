package io.metastore.server.grpc;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.server.EtcdServer;

/**
 * The grpc.health.v1 status of the whole server (service ""): SERVING while this member sees a leader and no
 * NOSPACE or CORRUPT alarm is active, NOT_SERVING otherwise, as etcd's health notifier (v3rpc/health.go) does.
 * {@link #refresh} is called on every leader change and alarm change; it reads the current state, so calls from
 * different threads in any order end in the right status.
 */
public final class HealthServingStatus {
    private final HealthStatusManager health;
    private final EtcdServer server;

    public HealthServingStatus(HealthStatusManager health, EtcdServer server) {
        this.health = health;
        this.server = server;
    }

    public synchronized void refresh() {
        boolean serving = server.leaderName() != null && server.activeAlarms().stream()
                .noneMatch(a -> a.getAlarm() == AlarmType.NOSPACE || a.getAlarm() == AlarmType.CORRUPT);
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES,
                serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }
}
