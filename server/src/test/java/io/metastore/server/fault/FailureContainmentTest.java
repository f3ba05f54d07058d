package io.metastore.server.fault;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FailureContainmentTest {

    @Test
    void aPeriodicTaskThatThrowsKeepsBeingScheduledAndEachFailureIsCounted() throws Exception {
        String site = "test-periodic-" + System.nanoTime();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                FailureContainment.daemonThreads(site));
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch fiveRuns = new CountDownLatch(5);
        try {
            timer.scheduleWithFixedDelay(FailureContainment.guard(site, () -> {
                fiveRuns.countDown();
                if (runs.incrementAndGet() % 2 == 1) {
                    throw new IllegalStateException("bug in run " + runs.get());
                }
            }), 0, 10, TimeUnit.MILLISECONDS);
            // unguarded, the schedule would have ended silently after the first run
            assertTrue(fiveRuns.await(10, TimeUnit.SECONDS));
        } finally {
            timer.shutdownNow();
            timer.awaitTermination(5, TimeUnit.SECONDS);
        }
        long failures = FailureContainment.countsBySite().get(site);
        assertEquals((runs.get() + 1) / 2, failures);
    }

    @Test
    void anUncaughtExceptionOnAContainedThreadIsCounted() throws Exception {
        String site = "test-thread-" + System.nanoTime();
        Thread t = FailureContainment.daemonThreads(site).newThread(() -> {
            throw new IllegalStateException("escaped");
        });
        long before = FailureContainment.total();
        t.start();
        t.join(5_000);
        assertEquals(1L, FailureContainment.countsBySite().get(site));
        assertTrue(FailureContainment.total() >= before + 1);
    }
}
