package io.metastore.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Points Logback where etcd's --log-level, --log-outputs and --log-format say, once the flags are parsed. Until then
 * logback.xml's default (JSON on stderr) applies. Only the root logger's level and appenders change, so the levels
 * logback.xml sets for chatty libraries (Ratis) stay. A JVM started with {@code -Dlogback.configurationFile} keeps
 * that file's outputs and format: whoever passed it asked for exactly that logging.
 */
public final class LogOutputs {
    private LogOutputs() {}

    /**
     * @param level   etcd's level name: debug, info, warn, error, panic, fatal
     * @param outputs "stderr", "stdout", "default" (stderr, as in etcd) or file paths (appended to)
     * @param format  "json" or "console"
     * @throws IllegalArgumentException one line, when a log file cannot be opened
     */
    public static void apply(String level, List<String> outputs, String format) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return; // not Logback (an embedding application's choice): leave its logging alone
        }
        apply(ctx, level, outputs, format, System.getProperty("logback.configurationFile") == null);
    }

    /** @param replaceAppenders false keeps the root logger's appenders (an operator's own Logback file) */
    static void apply(LoggerContext ctx, String level, List<String> outputs, String format, boolean replaceAppenders) {
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(level(level));
        if (!replaceAppenders) {
            return;
        }
        List<OutputStreamAppender<ILoggingEvent>> appenders = new ArrayList<>();
        for (String output : outputs) {
            appenders.add(appender(ctx, output, format));
        }
        root.detachAndStopAllAppenders();
        appenders.forEach(root::addAppender);
    }

    static Level level(String etcdLevel) {
        return switch (etcdLevel) {
            case "debug" -> Level.DEBUG;
            case "warn" -> Level.WARN;
            case "error", "panic", "fatal" -> Level.ERROR; // SLF4J has nothing above error
            default -> Level.INFO;
        };
    }

    private static OutputStreamAppender<ILoggingEvent> appender(LoggerContext ctx, String output, String format) {
        OutputStreamAppender<ILoggingEvent> appender;
        switch (output) {
            case "stderr", "default" -> {
                ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
                console.setTarget("System.err");
                appender = console;
            }
            case "stdout" -> {
                ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
                console.setTarget("System.out");
                appender = console;
            }
            default -> {
                FileAppender<ILoggingEvent> file = new FileAppender<>();
                file.setFile(output);
                file.setAppend(true);
                appender = file;
            }
        }
        Encoder<ILoggingEvent> encoder = format.equals("console") ? new ConsoleLineEncoder() : new ZapJsonEncoder();
        encoder.setContext(ctx);
        encoder.start();
        appender.setContext(ctx);
        appender.setName("log-output " + output);
        appender.setEncoder(encoder);
        appender.start();
        if (!appender.isStarted()) {
            throw new IllegalArgumentException("cannot open log output " + output);
        }
        return appender;
    }
}
