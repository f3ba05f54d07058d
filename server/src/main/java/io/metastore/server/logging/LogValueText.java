package io.metastore.server.logging;

import java.time.Duration;

/**
 * How a structured log field's value reads, shared by both log formats. Durations read as Go prints them
 * ("2.607429ms", "1m30s"), because operators compare our logs with etcd's.
 */
final class LogValueText {
    private LogValueText() {}

    static String of(Object value) {
        if (value instanceof Duration d) {
            return goDuration(d);
        }
        return String.valueOf(value);
    }

    /** Go's time.Duration.String(): the largest fitting unit below one second, else h/m/s with a fraction. */
    static String goDuration(Duration d) {
        long n;
        try {
            n = d.toNanos();
        } catch (ArithmeticException beyondGoRange) {
            n = d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE; // Go durations are int64 nanoseconds too
        }
        if (n == 0) {
            return "0s";
        }
        String sign = n < 0 ? "-" : "";
        // unsigned magnitude: Long.MIN_VALUE has no positive counterpart
        java.math.BigInteger u = java.math.BigInteger.valueOf(n).abs();
        if (u.compareTo(java.math.BigInteger.valueOf(1_000_000_000L)) < 0) {
            long v = u.longValue();
            if (v < 1_000) {
                return sign + v + "ns";
            }
            if (v < 1_000_000) {
                return sign + fraction(v, 1_000) + "\u00b5s";
            }
            return sign + fraction(v, 1_000_000) + "ms";
        }
        java.math.BigInteger[] hoursRest = u.divideAndRemainder(java.math.BigInteger.valueOf(3_600_000_000_000L));
        long hours = hoursRest[0].longValue();
        long rest = hoursRest[1].longValue();
        long minutes = rest / 60_000_000_000L;
        long secondsNanos = rest % 60_000_000_000L;
        StringBuilder sb = new StringBuilder(sign);
        if (hours > 0) {
            sb.append(hours).append('h');
        }
        if (hours > 0 || minutes > 0) {
            sb.append(minutes).append('m');
        }
        return sb.append(fraction(secondsNanos, 1_000_000_000L)).append('s').toString();
    }

    /** {@code value / unit} with the remainder as decimal digits, trailing zeros dropped (Go's fmtFrac). */
    private static String fraction(long value, long unit) {
        long whole = value / unit;
        long frac = value % unit;
        if (frac == 0) {
            return Long.toString(whole);
        }
        int digits = Long.toString(unit).length() - 1;
        String f = String.format("%0" + digits + "d", frac).replaceAll("0+$", "");
        return whole + "." + f;
    }
}
