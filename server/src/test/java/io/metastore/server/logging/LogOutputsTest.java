package io.metastore.server.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.classic.spi.ILoggingEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** --log-level/--log-outputs/--log-format on a Logback context of the test's own (the JVM's stays untouched). */
class LogOutputsTest {

    @TempDir
    Path dir;

    private static LoggerContext context() {
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter()); // SLF4J's binding sets it normally
        ctx.start();
        return ctx;
    }

    @Test
    void fileOutputsGetJsonLinesAndLibraryLevelsStay() throws Exception {
        LoggerContext ctx = context();
        ctx.getLogger("org.apache.ratis").setLevel(Level.WARN); // as logback.xml sets it
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> before = new ListAppender<>();
        before.setContext(ctx);
        before.start();
        root.addAppender(before);
        Path a = dir.resolve("a.log");
        Path b = dir.resolve("sub/b.log"); // parent directories are created

        LogOutputs.apply(ctx, "debug", List.of(a.toString(), b.toString()), "json", true);
        ctx.getLogger("io.metastore.server.MetaStore").atDebug().addKeyValue("k", 1).log("hello");
        ctx.getLogger("org.apache.ratis.server.RaftServer").info("ratis chatter");

        assertEquals(Level.DEBUG, root.getLevel());
        assertEquals(Level.WARN, ctx.getLogger("org.apache.ratis").getLevel());
        assertTrue(before.list.isEmpty(), "the pre-parse appender was replaced");
        for (Path p : List.of(a, b)) {
            List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
            assertEquals(1, lines.size(), lines.toString());
            assertTrue(lines.get(0).matches("\\{\"level\":\"debug\",\"ts\":\"[-0-9T:.]+Z\",\"caller\":"
                    + "\"server/MetaStore\",\"msg\":\"hello\",\"k\":1}"), lines.get(0));
        }
        ctx.stop();
    }

    @Test
    void consoleFormatAndLevels() throws Exception {
        LoggerContext ctx = context();
        Path a = dir.resolve("c.log");
        LogOutputs.apply(ctx, "fatal", List.of(a.toString()), "console", true);
        assertEquals(Level.ERROR, ctx.getLogger(Logger.ROOT_LOGGER_NAME).getLevel());
        ctx.getLogger("x.y.Z").warn("dropped below error");
        ctx.getLogger("x.y.Z").error("kept");
        String text = Files.readString(a, StandardCharsets.UTF_8);
        assertTrue(text.matches("[-0-9T:.]+Z\tERROR\ty/Z\tkept\n"), text);
        ctx.stop();
    }

    @Test
    void anOperatorsLogbackFileKeepsItsAppendersAndAnUnwritableOutputIsOneLine() {
        LoggerContext ctx = context();
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> own = new ListAppender<>();
        own.setContext(ctx);
        own.start();
        root.addAppender(own);
        LogOutputs.apply(ctx, "warn", List.of("stdout"), "json", false);
        assertEquals(Level.WARN, root.getLevel());
        assertTrue(root.isAttached(own));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LogOutputs.apply(ctx, "info", List.of("/proc/no-such-dir/x.log"), "json", true));
        assertEquals("cannot open log output /proc/no-such-dir/x.log", e.getMessage());
        assertTrue(root.isAttached(own), "a failed setup leaves the previous outputs in place");
        assertFalse(e.getMessage().contains("\n"));
        assertNull(root.getAppender("log-output /proc/no-such-dir/x.log"));
        ctx.stop();
    }
}
