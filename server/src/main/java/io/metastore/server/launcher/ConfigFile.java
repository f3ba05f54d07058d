package io.metastore.server.launcher;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * etcd's {@code --config-file}: a YAML mapping whose keys are the flag names, read into the same flag texts the
 * command line gives, so one set of value checks ({@link EtcdFlags}) serves flags, ETCD_* variables and the file.
 *
 * <p>The YAML shapes are etcd's (its config struct read through JSON): URL lists are comma-separated strings,
 * {@code log-outputs} and {@code cipher-suites} are YAML lists, TLS settings sit under
 * {@code client-transport-security} and {@code peer-transport-security}, booleans are YAML booleans, counts and
 * milliseconds are numbers, and durations are either a number of nanoseconds (what etcd's time.Duration fields take)
 * or a Go duration string ("10m"). Unlike etcd, which ignores keys it does not know, an unknown key is an error: a
 * misspelt setting that silently falls back to its default is worse than a refused start.
 */
final class ConfigFile {

    /** Keys whose value etcd reads as an integer (Go int/uint/int64 fields). */
    private static final Set<String> NUMBER_KEYS = Set.of("heartbeat-interval", "election-timeout",
            "snapshot-count", "quota-backend-bytes", "max-txn-ops", "max-request-bytes", "auth-token-ttl",
            "bcrypt-cost", "self-signed-cert-validity", "max-snapshots", "max-wals", "max-concurrent-streams",
            "max-watchers", "max-leases");

    /** Keys etcd reads as a time.Duration: a number of nanoseconds, or (for us) a Go duration string as well. */
    private static final Set<String> DURATION_KEYS = Set.of("watch-progress-notify-interval",
            "experimental-watch-progress-notify-interval", "warning-apply-duration",
            "experimental-warning-apply-duration", "grpc-keepalive-min-time", "grpc-keepalive-interval",
            "grpc-keepalive-timeout");

    /** Keys etcd reads as a list of strings; the flag spells the same list comma-separated. */
    private static final Set<String> LIST_KEYS = Set.of("log-outputs", "cipher-suites");

    /** The two TLS sections: YAML key inside the section to flag name. */
    private static final Map<String, Map<String, String>> SECTIONS = Map.of(
            "client-transport-security", Map.of("cert-file", "cert-file", "key-file", "key-file",
                    "client-cert-file", "client-cert-file", "client-key-file", "client-key-file",
                    "client-cert-auth", "client-cert-auth", "trusted-ca-file", "trusted-ca-file",
                    "auto-tls", "auto-tls"),
            "peer-transport-security", Map.of("cert-file", "peer-cert-file", "key-file", "peer-key-file",
                    "client-cert-file", "peer-client-cert-file", "client-key-file", "peer-client-key-file",
                    "client-cert-auth", "peer-client-cert-auth", "trusted-ca-file", "peer-trusted-ca-file",
                    "auto-tls", "peer-auto-tls"));

    private final Path path;
    private final Predicate<String> isFlag;
    private final Predicate<String> isBoolFlag;

    private ConfigFile(Path path, Predicate<String> isFlag, Predicate<String> isBoolFlag) {
        this.path = path;
        this.isFlag = isFlag;
        this.isBoolFlag = isBoolFlag;
    }

    /**
     * @param isFlag     whether a name is a flag the launcher accepts (the file may set exactly those)
     * @param isBoolFlag whether that flag is a boolean
     * @return flag name to the text the same setting would have on the command line, in file order; keys with an
     *         empty (null) value are left out, as etcd leaves such fields at their defaults
     * @throws FlagException one line naming the file and what is wrong with it
     */
    static Map<String, String> read(Path path, Predicate<String> isFlag, Predicate<String> isBoolFlag)
            throws FlagException {
        return new ConfigFile(path, isFlag, isBoolFlag).read();
    }

    private Map<String, String> read() throws FlagException {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new FlagException("cannot read config file " + path + ": no such file");
        } catch (IOException e) {
            throw new FlagException("cannot read config file " + path + ": " + e.getMessage());
        }
        Object root;
        try {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false); // which one would win is not obvious to whoever wrote the file
            root = new Yaml(new SafeConstructor(options)).load(text);
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark();
            String where = mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
            throw new FlagException("config file " + path + " is not valid YAML: " + oneLine(e.getProblem()) + where);
        } catch (YAMLException e) {
            throw new FlagException("config file " + path + " is not valid YAML: " + oneLine(e.getMessage()));
        }
        if (root == null) {
            return Map.of(); // an empty file (or only comments) sets nothing, as in etcd
        }
        if (!(root instanceof Map<?, ?> top)) {
            throw error("expected a mapping of setting names to values, found " + typeName(root));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : top.entrySet()) {
            String key = key(e.getKey(), null);
            Object value = e.getValue();
            if (SECTIONS.containsKey(key)) {
                section(key, value, out);
            } else if (!isFlag.test(key) || key.equals("config-file")) {
                throw error("unknown key \"" + key + "\"");
            } else if (value != null) {
                out.put(key, text(key, key, value));
            }
        }
        return out;
    }

    private void section(String name, Object value, Map<String, String> out) throws FlagException {
        if (value == null) {
            return;
        }
        if (!(value instanceof Map<?, ?> entries)) {
            throw error("\"" + name + "\" must be a mapping (cert-file, key-file, ...), not " + typeName(value));
        }
        Map<String, String> flags = SECTIONS.get(name);
        for (Map.Entry<?, ?> e : entries.entrySet()) {
            String key = key(e.getKey(), name);
            String flag = flags.get(key);
            if (flag == null) {
                throw error("unknown key \"" + key + "\" in " + name);
            }
            if (e.getValue() != null) {
                out.put(flag, text(name + "." + key, flag, e.getValue()));
            }
        }
    }

    /** The flag text for one value, after checking its YAML type is the one etcd reads for that setting. */
    private String text(String shown, String flag, Object value) throws FlagException {
        if (LIST_KEYS.contains(flag)) {
            if (value instanceof List<?> items) {
                List<String> parts = new ArrayList<>();
                for (Object item : items) {
                    if (!(item instanceof String s)) {
                        throw error("\"" + shown + "\" must be a list of strings, found " + typeName(item));
                    }
                    parts.add(s);
                }
                return String.join(",", parts);
            }
            if (value instanceof String s) { // one entry written without brackets
                return s;
            }
            throw error("\"" + shown + "\" must be a list of strings, not " + typeName(value));
        }
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            throw error("\"" + shown + "\" must be a single value, not " + typeName(value));
        }
        if (isBoolFlag.test(flag)) {
            if (!(value instanceof Boolean b)) {
                throw error("\"" + shown + "\" must be true or false, not " + typeName(value) + " " + quoted(value));
            }
            return b.toString();
        }
        if (NUMBER_KEYS.contains(flag)) {
            if (!(value instanceof Integer || value instanceof Long || value instanceof BigInteger)) {
                throw error("\"" + shown + "\" must be an integer, not " + typeName(value) + " " + quoted(value));
            }
            return value.toString();
        }
        if (DURATION_KEYS.contains(flag)) {
            if (value instanceof Integer || value instanceof Long || value instanceof BigInteger) {
                return value.toString().startsWith("-") ? value.toString() : value + "ns"; // etcd: nanoseconds
            }
            if (!(value instanceof String)) {
                throw error("\"" + shown + "\" must be a duration (a number of nanoseconds, or text such as 10m), not "
                        + typeName(value) + " " + quoted(value));
            }
            return (String) value;
        }
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof Integer || value instanceof Long || value instanceof BigInteger) {
            return value.toString(); // e.g. auto-compaction-retention: 24, or a numeric name; the flag checks it
        }
        throw error("\"" + shown + "\" must be a string, not " + typeName(value) + " " + quoted(value));
    }

    private String key(Object key, String section) throws FlagException {
        if (key instanceof String s) {
            return s;
        }
        throw error("keys must be setting names, found " + typeName(key) + " " + quoted(key)
                + (section == null ? "" : " in " + section));
    }

    private FlagException error(String what) {
        return new FlagException("config file " + path + ": " + what);
    }

    private static String typeName(Object value) {
        if (value == null) {
            return "nothing";
        }
        if (value instanceof Map<?, ?>) {
            return "a mapping";
        }
        if (value instanceof List<?>) {
            return "a list";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        if (value instanceof Integer || value instanceof Long || value instanceof BigInteger) {
            return "an integer";
        }
        if (value instanceof Double) {
            return "a number";
        }
        if (value instanceof String) {
            return "a string";
        }
        return "a " + value.getClass().getSimpleName(); // dates, binary: YAML types no etcd setting takes
    }

    private static String quoted(Object value) {
        return "(" + oneLine(String.valueOf(value)) + ")";
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
