package io.metastore.server.launcher;

import java.math.BigInteger;
import java.time.Duration;
import java.util.Map;

/**
 * Go's {@code time.ParseDuration}, so duration flags accept exactly what etcd accepts ("1h30m", "1.5h", "300ms",
 * "-2s", "0"). Ported from Go's src/time/format.go, including its overflow rules (a Go duration is an int64 of
 * nanoseconds, about 292 years) and its error texts.
 */
public final class GoDuration {

    private static final BigInteger LIMIT = BigInteger.ONE.shiftLeft(63); // Go's 1<<63, done in uint64 there
    private static final Map<String, Long> UNITS = Map.of(
            "ns", 1L, "us", 1_000L, "\u00b5s", 1_000L /* micro sign */, "\u03bcs", 1_000L /* Greek mu */,
            "ms", 1_000_000L, "s", 1_000_000_000L, "m", 60_000_000_000L, "h", 3_600_000_000_000L);

    private GoDuration() {}

    /** @throws IllegalArgumentException with Go's message, e.g. {@code time: missing unit in duration "5"} */
    public static Duration parse(String text) {
        String s = text;
        boolean negative = false;
        if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) {
            return Duration.ZERO; // the only value Go accepts without a unit
        }
        if (s.isEmpty()) {
            throw invalid(text);
        }
        BigInteger total = BigInteger.ZERO;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != '.' && !isDigit(c)) {
                throw invalid(text);
            }
            // Integer part; Go gives up once it exceeds 1<<63.
            int start = i;
            BigInteger whole = BigInteger.ZERO;
            for (; i < s.length() && isDigit(s.charAt(i)); i++) {
                whole = whole.multiply(BigInteger.TEN).add(BigInteger.valueOf(s.charAt(i) - '0'));
                if (whole.compareTo(LIMIT) > 0) {
                    throw invalid(text);
                }
            }
            boolean digitsBefore = i > start;
            // Fraction part; Go silently drops digits beyond what fits, so "1.000…0001s" still parses.
            BigInteger fraction = BigInteger.ZERO;
            double scale = 1;
            boolean digitsAfter = false;
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                boolean full = false;
                for (; i < s.length() && isDigit(s.charAt(i)); i++) {
                    digitsAfter = true;
                    BigInteger next = fraction.multiply(BigInteger.TEN).add(BigInteger.valueOf(s.charAt(i) - '0'));
                    if (full || next.compareTo(LIMIT) > 0) {
                        full = true;
                        continue;
                    }
                    fraction = next;
                    scale *= 10;
                }
            }
            if (!digitsBefore && !digitsAfter) {
                throw invalid(text); // ".s" or "-.s"
            }
            // The unit is everything up to the next digit or dot, so "1 h" fails on the unit " h" as in Go.
            int unitStart = i;
            while (i < s.length() && s.charAt(i) != '.' && !isDigit(s.charAt(i))) {
                i++;
            }
            if (i == unitStart) {
                throw new IllegalArgumentException("time: missing unit in duration " + quote(text));
            }
            String unitName = s.substring(unitStart, i);
            Long unit = UNITS.get(unitName);
            if (unit == null) {
                throw new IllegalArgumentException(
                        "time: unknown unit " + quote(unitName) + " in duration " + quote(text));
            }
            BigInteger value = whole.multiply(BigInteger.valueOf(unit));
            if (value.compareTo(LIMIT) > 0) {
                throw invalid(text);
            }
            if (fraction.signum() > 0) {
                // Go does this step in float64 (Java double is the same IEEE type), so 1.1h rounds the same way.
                value = value.add(BigInteger.valueOf((long) (fraction.doubleValue() * (unit / scale))));
                if (value.compareTo(LIMIT) > 0) {
                    throw invalid(text);
                }
            }
            total = total.add(value);
            if (total.compareTo(LIMIT) > 0) {
                throw invalid(text);
            }
        }
        if (negative) {
            return Duration.ofNanos(total.negate().longValueExact()); // -(1<<63) is still a valid Go duration
        }
        if (total.compareTo(LIMIT) >= 0) {
            throw invalid(text);
        }
        return Duration.ofNanos(total.longValueExact());
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("time: invalid duration " + quote(text));
    }

    private static String quote(String s) {
        return '"' + s + '"';
    }
}
