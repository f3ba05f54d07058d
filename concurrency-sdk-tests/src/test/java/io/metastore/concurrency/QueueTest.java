package io.metastore.concurrency;

import io.metastore.concurrency.testing.Backends;
import io.metastore.concurrency.testing.Kv;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DistributedQueue and PriorityQueue against MetaStore. */
class QueueTest {
    @Test
    void fifoOrderAndBlockingDequeue() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            DistributedQueue q = new DistributedQueue(conn, Kv.uniquePrefix("queue"));
            assertEquals(Optional.empty(), q.poll());
            assertEquals(Optional.empty(), q.dequeue(Duration.ofMillis(200)));
            for (int i = 0; i < 5; i++) {
                q.enqueue("item" + i);
            }
            for (int i = 0; i < 5; i++) {
                assertEquals("item" + i, q.dequeue());
            }
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return q.dequeue();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Thread.sleep(200);
            assertFalse(waiting.isDone());
            q.enqueue("late");
            assertEquals("late", waiting.get(5, TimeUnit.SECONDS));
        }
    }

    /** Competing consumers: every item is delivered exactly once. */
    @Test
    void eachItemGoesToExactlyOneConsumer() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            DistributedQueue q = new DistributedQueue(conn, Kv.uniquePrefix("queue"));
            int items = 30;
            List<String> got = Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Void>> consumers = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                consumers.add(CompletableFuture.runAsync(() -> {
                    try {
                        Optional<String> v;
                        while ((v = q.dequeue(Duration.ofSeconds(2))).isPresent()) {
                            got.add(v.get());
                        }
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, MutexTest.newThreadPerTask()));
            }
            for (int i = 0; i < items; i++) {
                q.enqueue("v" + i);
            }
            CompletableFuture.allOf(consumers.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            assertEquals(items, got.size(), "no duplicates: " + got);
            Set<String> distinct = new HashSet<>(got);
            assertEquals(items, distinct.size());
        }
    }

    @Test
    void priorityQueueServesLowestNumberFirstThenFifo() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            PriorityQueue q = new PriorityQueue(conn, Kv.uniquePrefix("pq"));
            q.enqueue("low-1", 10);
            q.enqueue("urgent-1", 1);
            q.enqueue("low-2", 10);
            q.enqueue("urgent-2", 1);
            q.enqueue("top", 0);
            List<String> out = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                out.add(q.dequeue());
            }
            assertEquals(List.of("top", "urgent-1", "urgent-2", "low-1", "low-2"), out);
            assertEquals(Optional.empty(), q.poll());
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return q.dequeue();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, MutexTest.newThreadPerTask());
            Thread.sleep(200);
            q.enqueue("late", 65535);
            assertEquals("late", waiting.get(5, TimeUnit.SECONDS));
        }
    }

    /** Concurrent producers at one priority never get the same sequence number. */
    @Test
    void concurrentPriorityProducersLoseNothing() throws Exception {
        try (EtcdConnection conn = Backends.metastore().connect()) {
            PriorityQueue q = new PriorityQueue(conn, Kv.uniquePrefix("pq"));
            List<CompletableFuture<Void>> producers = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                int id = p;
                producers.add(CompletableFuture.runAsync(() -> {
                    for (int i = 0; i < 5; i++) {
                        q.enqueue("p" + id + "-" + i, 7);
                    }
                }, MutexTest.newThreadPerTask()));
            }
            CompletableFuture.allOf(producers.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            Set<String> got = new HashSet<>();
            Optional<String> v;
            while ((v = q.poll()).isPresent()) {
                got.add(v.get());
            }
            assertEquals(15, got.size());
            assertTrue(got.contains("p2-4"));
        }
    }
}
