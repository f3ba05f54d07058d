package io.metastore.server.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import org.slf4j.event.KeyValuePair;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * {@code --log-format=console}: zap's console shape, one readable line per event, tab-separated
 * ({@code ts  LEVEL  caller  msg  {"field":value,...}}); a stack trace follows on its own lines.
 */
public final class ConsoleLineEncoder extends EncoderBase<ILoggingEvent> {

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
        StringBuilder sb = new StringBuilder(200);
        sb.append(ZapJsonEncoder.TS.format(Instant.ofEpochMilli(event.getTimeStamp()))).append('\t')
                .append(ZapJsonEncoder.level(event.getLevel()).toUpperCase(Locale.ROOT)).append('\t')
                .append(ZapJsonEncoder.caller(event.getLoggerName())).append('\t')
                .append(event.getFormattedMessage());
        List<KeyValuePair> pairs = event.getKeyValuePairs();
        IThrowableProxy thrown = event.getThrowableProxy();
        if ((pairs != null && !pairs.isEmpty()) || thrown != null) {
            sb.append("\t{");
            boolean first = true;
            if (pairs != null) {
                for (KeyValuePair kv : pairs) {
                    if (!first) {
                        sb.append(", ");
                    }
                    first = false;
                    ZapJsonEncoder.string(sb, kv.key);
                    sb.append(": ");
                    ZapJsonEncoder.value(sb, kv.value);
                }
            }
            if (thrown != null) {
                sb.append(first ? "" : ", ").append("\"error\": ");
                ZapJsonEncoder.string(sb, ZapJsonEncoder.errorText(thrown));
            }
            sb.append('}');
        }
        sb.append('\n');
        if (thrown != null) {
            sb.append(ThrowableProxyUtil.asString(thrown).stripTrailing()).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
