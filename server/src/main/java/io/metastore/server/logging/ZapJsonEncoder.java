package io.metastore.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import org.slf4j.event.KeyValuePair;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.List;

/**
 * One JSON object per line in the shape of etcd's zap logs, so tools that read etcd's logs read ours:
 * {@code {"level":"info","ts":"2026-11-26T13:17:02.652Z","caller":"server/MetaStore","msg":"...", fields...}}.
 * Fields are SLF4J 2 key-value pairs ({@code LOG.atInfo().addKeyValue("took", d).log(...)}); an exception adds
 * {@code "error"} (its one-line text) and {@code "stacktrace"}, as zap does. {@code caller} is the logger name's
 * last two parts (package/Class): etcd shows file:line, which would need a stack walk per event.
 */
public final class ZapJsonEncoder extends EncoderBase<ILoggingEvent> {

    /** etcd 3.4's timestamps: RFC 3339, UTC, milliseconds. */
    static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"level\":");
        string(sb, level(event.getLevel()));
        sb.append(",\"ts\":");
        string(sb, TS.format(Instant.ofEpochMilli(event.getTimeStamp())));
        sb.append(",\"caller\":");
        string(sb, caller(event.getLoggerName()));
        sb.append(",\"msg\":");
        string(sb, event.getFormattedMessage());
        List<KeyValuePair> pairs = event.getKeyValuePairs();
        if (pairs != null) {
            for (KeyValuePair kv : pairs) {
                sb.append(',');
                string(sb, kv.key);
                sb.append(':');
                value(sb, kv.value);
            }
        }
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            sb.append(",\"error\":");
            string(sb, errorText(thrown));
            sb.append(",\"stacktrace\":");
            string(sb, ThrowableProxyUtil.asString(thrown).stripTrailing());
        }
        return sb.append("}\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** zap's level names; SLF4J has no panic/fatal and zap no trace. */
    static String level(Level level) {
        return switch (level.toInt()) {
            case Level.ERROR_INT -> "error";
            case Level.WARN_INT -> "warn";
            case Level.INFO_INT -> "info";
            default -> "debug";
        };
    }

    /** "io.metastore.server.MetaStore" becomes "server/MetaStore", close to etcd's "etcdserver/server.go". */
    static String caller(String loggerName) {
        int last = loggerName.lastIndexOf('.');
        if (last < 0) {
            return loggerName;
        }
        int before = loggerName.lastIndexOf('.', last - 1);
        return loggerName.substring(before + 1, last) + "/" + loggerName.substring(last + 1);
    }

    /** Like Throwable.toString(): "class: message", or the class alone. */
    static String errorText(IThrowableProxy t) {
        return t.getMessage() == null ? t.getClassName() : t.getClassName() + ": " + t.getMessage();
    }

    static void value(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte || v instanceof BigInteger || v instanceof BigDecimal) {
            sb.append(v);
        } else if ((v instanceof Double || v instanceof Float) && Double.isFinite(((Number) v).doubleValue())) {
            sb.append(v);
        } else if (v instanceof Collection<?> items) {
            sb.append('[');
            boolean first = true;
            for (Object item : items) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                value(sb, item);
            }
            sb.append(']');
        } else if (v.getClass().isArray()) {
            sb.append('[');
            for (int i = 0; i < Array.getLength(v); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                value(sb, Array.get(v, i));
            }
            sb.append(']');
        } else {
            string(sb, LogValueText.of(v));
        }
    }

    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
