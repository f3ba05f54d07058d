package io.metastore.server.fault;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keeps one failing request, watcher or background pass from taking anything else down. A periodic task that
 * throws is silently never run again by a ScheduledExecutorService, and an exception on the apply thread would
 * stop the member: every such place runs its work through here instead. Each failure is logged once, with its
 * stack, and counted by site (exported as a metric), so a contained bug is still visible.
 *
 * <p>Process-wide on purpose: a member is one process, and a bug in shared code is the same bug whichever
 * member of an in-process test cluster hit it.
 */
public final class FailureContainment {
    private static final Logger LOG = LoggerFactory.getLogger(FailureContainment.class);
    private static final Map<String, LongAdder> BY_SITE = new ConcurrentHashMap<>();

    private FailureContainment() {}

    /** Records a failure that was caught at {@code site} and did not propagate. */
    public static void contained(String site, Throwable failure) {
        BY_SITE.computeIfAbsent(site, s -> new LongAdder()).increment();
        LOG.atError().addKeyValue("site", site).setCause(failure)
                .log("contained an unexpected failure in {}; it affected only that work", site);
    }

    /** {@code task} with every exception it throws contained, so the executor keeps running it. */
    public static Runnable guard(String site, Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError) {
                    throw e; // out of memory and the like: nothing sensible is left to contain
                }
                contained(site, e);
            }
        };
    }

    /** Daemon threads named {@code name-N} whose uncaught exceptions are counted and logged, not lost. */
    public static ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setUncaughtExceptionHandler((thread, e) -> contained(name, e));
            return t;
        };
    }

    /** Failures contained so far, by site (sorted, for stable metric output). */
    public static Map<String, Long> countsBySite() {
        Map<String, Long> out = new TreeMap<>();
        BY_SITE.forEach((site, n) -> out.put(site, n.sum()));
        return out;
    }

    public static long total() {
        return BY_SITE.values().stream().mapToLong(LongAdder::sum).sum();
    }
}
