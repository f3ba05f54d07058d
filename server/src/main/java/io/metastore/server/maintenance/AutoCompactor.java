package io.metastore.server.maintenance;

import io.metastore.proto.etcdserverpb.CompactionRequest;
import io.metastore.proto.etcdserverpb.CompactionResponse;
import io.metastore.server.ServerConfig;
import io.metastore.server.launcher.GoDuration;
import io.metastore.storage.MvccStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.metastore.server.fault.FailureContainment;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * etcd's --auto-compaction-mode/--auto-compaction-retention, run by the leader and proposed through Raft
 * like any Compact. periodic: keep {@code retention} of history (samples the revision every retention/10);
 * revision: every 5 minutes compact to current − retention.
 */
public final class AutoCompactor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AutoCompactor.class);

    private final ScheduledExecutorService timer;

    private AutoCompactor(ScheduledExecutorService timer) {
        this.timer = timer;
    }

    public static AutoCompactor start(ServerConfig config, MvccStore store, BooleanSupplier isLeader,
                                      Function<CompactionRequest, CompletableFuture<CompactionResponse>> compact) {
        String retention = config.autoCompactionRetention() == null ? "0" : config.autoCompactionRetention().trim();
        if (retention.isEmpty() || retention.equals("0")) {
            return new AutoCompactor(null);
        }
        ScheduledExecutorService timer =
                Executors.newSingleThreadScheduledExecutor(FailureContainment.daemonThreads("auto-compactor"));
        if ("revision".equals(config.autoCompactionMode())) {
            long keep = Long.parseLong(retention);
            timer.scheduleWithFixedDelay(FailureContainment.guard("auto-compactor", () -> {
                long target = store.currentRevision() - keep;
                if (isLeader.getAsBoolean() && target > store.compactRevision()) {
                    propose(compact, target);
                }
            }), 5, 5, TimeUnit.MINUTES);
        } else {
            Duration keep = retention.chars().allMatch(Character::isDigit)
                    ? Duration.ofHours(Long.parseLong(retention)) : GoDuration.parse(retention);
            long sampleMs = Math.max(100, keep.toMillis() / 10);
            ArrayDeque<long[]> samples = new ArrayDeque<>();
            timer.scheduleWithFixedDelay(FailureContainment.guard("auto-compactor", () -> {
                long now = System.nanoTime();
                samples.addLast(new long[] {now, store.currentRevision()});
                long target = 0;
                while (!samples.isEmpty() && now - samples.peekFirst()[0] >= keep.toNanos()) {
                    target = samples.pollFirst()[1];
                }
                if (target > store.compactRevision() && isLeader.getAsBoolean()) {
                    propose(compact, target);
                }
            }), sampleMs, sampleMs, TimeUnit.MILLISECONDS);
        }
        return new AutoCompactor(timer);
    }

    private static void propose(Function<CompactionRequest, CompletableFuture<CompactionResponse>> compact, long rev) {
        try {
            compact.apply(CompactionRequest.newBuilder().setRevision(rev).build()).whenComplete((r, e) -> {
                if (e == null) {
                    LOG.info("auto-compacted to revision {}", rev);
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("auto-compaction to {} not proposed: {}", rev, e.getMessage());
        }
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
