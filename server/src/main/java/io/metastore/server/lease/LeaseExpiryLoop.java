package io.metastore.server.lease;

import io.metastore.proto.etcdserverpb.LeaseCheckpoint;
import io.metastore.proto.etcdserverpb.LeaseCheckpointRequest;
import io.metastore.proto.etcdserverpb.LeaseRevokeRequest;
import io.metastore.proto.raftcmd.RaftCommand;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.metastore.server.fault.FailureContainment;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The leader's lease duties: propose revokes for expired leases (at most 1000 per second, etcd's rate) and
 * checkpoint remaining TTLs so a restart or failover resumes them instead of granting full TTLs again. A
 * tick that arrives far too late means this process stalled (GC, SIGSTOP): deadlines are pushed out by the
 * stall instead of mass-revoking leases whose owners could not have renewed.
 */
public final class LeaseExpiryLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseExpiryLoop.class);
    private static final long TICK_MS = 500;
    private static final int REVOKES_PER_TICK = 500;
    private static final long CHECKPOINT_EVERY_MS = 5_000;

    private final LeaseManager leases;
    private final BooleanSupplier isLeader;
    private final Function<RaftCommand, CompletableFuture<?>> proposer;
    private final ScheduledExecutorService timer;
    private long lastTickNanos = System.nanoTime();
    private long lastCheckpointNanos = System.nanoTime();

    public LeaseExpiryLoop(LeaseManager leases, BooleanSupplier isLeader,
                           Function<RaftCommand, CompletableFuture<?>> proposer) {
        this.leases = leases;
        this.isLeader = isLeader;
        this.proposer = proposer;
        this.timer = Executors.newSingleThreadScheduledExecutor(FailureContainment.daemonThreads("lease-expiry"));
        timer.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            long now = System.nanoTime();
            long stall = now - lastTickNanos - TimeUnit.MILLISECONDS.toNanos(TICK_MS);
            lastTickNanos = now;
            if (!isLeader.getAsBoolean() || !leases.isPrimary()) {
                return;
            }
            if (stall > TimeUnit.SECONDS.toNanos(1)) {
                LOG.warn("lease timer stalled for {} ms; extending every lease by that much", stall / 1_000_000);
                leases.extendAll(stall);
                return;
            }
            for (long id : leases.takeExpired(REVOKES_PER_TICK)) {
                RaftCommand cmd = RaftCommand.newBuilder()
                        .setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id)).build();
                proposer.apply(cmd).whenComplete((v, e) -> {
                    if (e != null) {
                        leases.revokeFailed(id);
                    }
                });
            }
            if (now - lastCheckpointNanos > TimeUnit.MILLISECONDS.toNanos(CHECKPOINT_EVERY_MS)) {
                lastCheckpointNanos = now;
                checkpoint();
            }
        } catch (RuntimeException e) {
            FailureContainment.contained("lease-expiry", e);
        }
    }

    private void checkpoint() {
        List<LeaseCheckpoint> due = leases.checkpointsDue(TimeUnit.MILLISECONDS.toSeconds(CHECKPOINT_EVERY_MS), 1000);
        if (!due.isEmpty()) {
            proposer.apply(RaftCommand.newBuilder()
                    .setLeaseCheckpoint(LeaseCheckpointRequest.newBuilder().addAllCheckpoints(due)).build());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
