package io.metastore.server.ops;

import io.metastore.server.MetaStore;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One /metrics scrape, parsed: the TYPE of each family and the value of each sample line. */
final class Scrape {
    final String text;
    final Map<String, String> types = new HashMap<>();
    /** Sample name with its label set exactly as exposed, e.g. {@code etcd_server_id{server_id="…"}}. */
    final Map<String, Double> samples = new HashMap<>();

    private Scrape(String text) {
        this.text = text;
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                types.put(p[2], p[3]);
            } else if (!line.isEmpty() && !line.startsWith("#")) {
                int sp = line.lastIndexOf(' ');
                samples.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
            }
        }
    }

    static Scrape of(MetaStore member) {
        RouteCall.Answer a = RouteCall.get(member, "/metrics");
        assertEquals(200, a.status());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", a.contentType());
        return new Scrape(a.body());
    }

    void assertType(String family, String type) {
        assertEquals(type, types.get(family), "TYPE of " + family);
    }

    /** The value of a sample without labels, or with exactly this label text. */
    double value(String sample) {
        Double v = samples.get(sample);
        assertTrue(v != null, "no sample " + sample);
        return v;
    }

    /** The sum over every sample of {@code name} whose labels contain all of {@code labelParts}. */
    double sum(String name, String... labelParts) {
        double total = 0;
        boolean found = false;
        for (var e : samples.entrySet()) {
            String k = e.getKey();
            if (!(k.equals(name) || k.startsWith(name + "{"))) {
                continue;
            }
            boolean all = true;
            for (String part : labelParts) {
                all &= k.contains(part);
            }
            if (all) {
                total += e.getValue();
                found = true;
            }
        }
        assertTrue(found, "no sample " + name + " with " + String.join(",", labelParts));
        return total;
    }
}
