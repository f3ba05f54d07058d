package io.metastore.server.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.etcd.jetcd.ByteSequence;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * etcd's "apply request took too long": with a threshold of 1ns every applied entry is slow, so a put over the
 * network must log the warning with etcd's fields and move the counter the metrics export.
 */
class SlowApplyWarningTest {

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void everyEntrySlowerThanTheThresholdIsLoggedAndCounted() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(EtcdApplier.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        logger.addAppender(captured);
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY,
                b -> b.warningApplyDuration = Duration.ofNanos(1))) {
            long before = m.member().slowApplies().count();
            m.client().getKVClient().put(bytes("slow-key"), bytes("12345")).get(15, TimeUnit.SECONDS);
            assertTrue(m.member().slowApplies().count() > before, "the put moved the slow-apply counter");

            List<ILoggingEvent> warnings = List.copyOf(captured.list).stream()
                    .filter(e -> e.getFormattedMessage().equals("apply request took too long")).toList();
            ILoggingEvent put = warnings.stream()
                    .filter(e -> String.valueOf(fields(e).get("request")).contains("slow-key"))
                    .findFirst().orElseThrow(() -> new AssertionError("no warning for the put: " + warnings));
            assertEquals(Level.WARN, put.getLevel());
            Map<String, Object> f = fields(put);
            assertEquals(List.of("took", "expected-duration", "prefix", "request"), List.copyOf(f.keySet()));
            assertEquals(Duration.ofNanos(1), f.get("expected-duration"));
            assertTrue(((Duration) f.get("took")).compareTo(Duration.ofNanos(1)) > 0);
            assertEquals("", f.get("prefix"));
            assertEquals("put:<key:\"slow-key\" value_size:5 >", f.get("request")); // the value is never logged
            assertEquals(warnings.size(), m.member().slowApplies().count(), "one count per warning");
        } finally {
            logger.detachAppender(captured);
        }
    }

    @Test
    void entriesWithinTheDefaultThresholdAreNotCounted() throws Exception {
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY,
                b -> b.warningApplyDuration = Duration.ofMinutes(1))) {
            for (int i = 0; i < 5; i++) {
                m.client().getKVClient().put(bytes("k" + i), bytes("v")).get(15, TimeUnit.SECONDS);
            }
            assertEquals(0, m.member().slowApplies().count());
        }
    }

    private static Map<String, Object> fields(ILoggingEvent e) {
        List<KeyValuePair> pairs = e.getKeyValuePairs() == null ? List.of() : e.getKeyValuePairs();
        return pairs.stream().collect(Collectors.toMap(kv -> kv.key, kv -> kv.value, (a, b) -> b,
                java.util.LinkedHashMap::new));
    }
}
