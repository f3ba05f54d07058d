package io.metastore.server.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/** The zap shape of each log line, and Go's duration text for duration fields. */
class ZapJsonEncoderTest {
    private final LoggerContext ctx = new LoggerContext();
    private final Logger logger = ctx.getLogger("io.metastore.server.MetaStore");

    private LoggingEvent event(Level level, String msg, Throwable t, KeyValuePair... pairs) {
        LoggingEvent e = new LoggingEvent("test", logger, level, msg, t, null);
        e.setTimeStamp(1_795_000_000_123L);
        for (KeyValuePair kv : pairs) {
            e.addKeyValuePair(kv);
        }
        return e;
    }

    private static String json(LoggingEvent e) {
        return new String(new ZapJsonEncoder().encode(e), StandardCharsets.UTF_8);
    }

    @Test
    void fieldsFollowTheMessageInZapsShape() {
        String line = json(event(Level.INFO, "ready to serve client requests", null,
                new KeyValuePair("name", "m1"), new KeyValuePair("term", 7L), new KeyValuePair("leader", true),
                new KeyValuePair("urls", List.of("http://127.0.0.1:2379")), new KeyValuePair("took",
                        Duration.ofNanos(2_607_429)), new KeyValuePair("none", null)));
        assertEquals("{\"level\":\"info\",\"ts\":\"2026-11-18T11:06:40.123Z\",\"caller\":\"server/MetaStore\","
                + "\"msg\":\"ready to serve client requests\",\"name\":\"m1\",\"term\":7,\"leader\":true,"
                + "\"urls\":[\"http://127.0.0.1:2379\"],\"took\":\"2.607429ms\",\"none\":null}\n", line);
    }

    @Test
    void levelsAreZapsAndTextIsEscaped() {
        assertTrue(json(event(Level.WARN, "a \"quoted\"\tand\nnew line \\ \u0001", null)).contains(
                "\"level\":\"warn\"") );
        assertTrue(json(event(Level.WARN, "a \"quoted\"\tand\nnew line \\ \u0001", null)).contains(
                "\"msg\":\"a \\\"quoted\\\"\\tand\\nnew line \\\\ \\u0001\""));
        assertTrue(json(event(Level.TRACE, "t", null)).startsWith("{\"level\":\"debug\""));
        assertTrue(json(event(Level.ERROR, "e", null)).startsWith("{\"level\":\"error\""));
    }

    @Test
    void anExceptionBecomesErrorAndStacktraceFields() {
        String line = json(event(Level.ERROR, "failed to start", new IllegalStateException("port in use")));
        assertTrue(line.contains("\"error\":\"java.lang.IllegalStateException: port in use\""), line);
        assertTrue(line.contains("\"stacktrace\":\"java.lang.IllegalStateException: port in use\\n\\tat "), line);
        assertEquals(1, line.split("\n", -1).length - 1, "one line per event: " + line);
    }

    @Test
    void consoleFormatIsOneReadableLine() {
        String line = new String(new ConsoleLineEncoder().encode(event(Level.INFO, "leader changed", null,
                new KeyValuePair("term", 2L))), StandardCharsets.UTF_8);
        assertEquals("2026-11-18T11:06:40.123Z\tINFO\tserver/MetaStore\tleader changed\t{\"term\": 2}\n", line);
    }

    @Test
    void durationsReadAsGoPrintsThem() {
        assertEquals("0s", LogValueText.goDuration(Duration.ZERO));
        assertEquals("1ns", LogValueText.goDuration(Duration.ofNanos(1)));
        assertEquals("1.5\u00b5s", LogValueText.goDuration(Duration.ofNanos(1_500)));
        assertEquals("100ms", LogValueText.goDuration(Duration.ofMillis(100)));
        assertEquals("2.607429ms", LogValueText.goDuration(Duration.ofNanos(2_607_429)));
        assertEquals("1s", LogValueText.goDuration(Duration.ofSeconds(1)));
        assertEquals("1m30s", LogValueText.goDuration(Duration.ofSeconds(90)));
        assertEquals("1h0m0.001s", LogValueText.goDuration(Duration.ofHours(1).plusMillis(1)));
        assertEquals("-2s", LogValueText.goDuration(Duration.ofSeconds(-2)));
    }
}
