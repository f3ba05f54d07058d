package io.metastore.server.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Three network namespaces {@code msn1..msn3} on a bridge {@code msbr0}, for partition tests (needs root and
 * iproute2). The bridge has the host address 198.18.0.1/24, so the host reaches the members directly and nothing
 * for 198.18.0.0/24 leaves through the default route; namespace i has 198.18.0.1i/24 on its veth end and lo up.
 * Links between members are cut with blackhole routes inside the namespaces (no iptables/nft on these machines);
 * the host side is never cut. {@link #close()} deletes exactly what {@link #create()} made, by name.
 */
final class NetNamespaces implements AutoCloseable {
    static final String BRIDGE = "msbr0";
    static final String HOST_IP = "198.18.0.1";
    static final int N = 3;

    private final List<String> created = new ArrayList<>();
    private final List<String> cuts = new ArrayList<>();
    private boolean bridge;

    static String ns(int i) {
        return "msn" + (i + 1);
    }

    static String ip(int i) {
        return "198.18.0.1" + (i + 1);
    }

    private static String hostVeth(int i) {
        return "msv" + (i + 1);
    }

    static List<String> namespaces() {
        return List.of(ns(0), ns(1), ns(2));
    }

    static List<String> ips() {
        return List.of(ip(0), ip(1), ip(2));
    }

    /** Null if namespaces can be made here, else why not. */
    static String unavailableReason() {
        try {
            Result id = run(false, "id", "-u");
            if (id.code != 0 || !id.out.trim().equals("0")) {
                return "network namespaces need root (id -u says " + id.out.trim() + ")";
            }
            Result list = run(false, "ip", "netns", "list");
            if (list.code != 0) {
                return "`ip netns list` failed: " + list.out;
            }
            return null;
        } catch (IOException e) {
            return "iproute2 (`ip`) not usable: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Creates the bridge and the namespaces; on failure deletes what it made and throws. */
    static NetNamespaces create() throws IOException, InterruptedException {
        NetNamespaces n = new NetNamespaces();
        try {
            n.setUp();
        } catch (IOException | RuntimeException | InterruptedException e) {
            n.close();
            throw e;
        }
        return n;
    }

    private void setUp() throws IOException, InterruptedException {
        removeLeftovers();
        run(true, "ip", "link", "add", BRIDGE, "type", "bridge");
        bridge = true;
        run(true, "ip", "addr", "add", HOST_IP + "/24", "dev", BRIDGE);
        run(true, "ip", "link", "set", BRIDGE, "up");
        for (int i = 0; i < N; i++) {
            run(true, "ip", "netns", "add", ns(i));
            created.add(ns(i));
            run(true, "ip", "link", "add", hostVeth(i), "type", "veth", "peer", "name", "eth0", "netns", ns(i));
            run(true, "ip", "link", "set", hostVeth(i), "master", BRIDGE, "up");
            run(true, "ip", "-n", ns(i), "addr", "add", ip(i) + "/24", "dev", "eth0");
            run(true, "ip", "-n", ns(i), "link", "set", "eth0", "up");
            run(true, "ip", "-n", ns(i), "link", "set", "lo", "up");
        }
        String route = run(true, "ip", "route", "get", ip(1)).out;
        if (!route.contains("dev " + BRIDGE)) {
            throw new IOException("traffic to " + ip(1) + " would not go through " + BRIDGE + ": " + route);
        }
        // bridged IPv4 frames pass the iptables FORWARD chain when this is 1; no iptables/nft is installed here to
        // look at or change that chain, so the members' first exchange shows whether traffic flows
        Result nf = run(false, "sysctl", "-n", "net.bridge.bridge-nf-call-iptables");
        System.out.println("[netns] created " + BRIDGE + " " + HOST_IP + "/24 and " + created + "; route: "
                + route.trim().replaceAll("\\s+", " ") + "; net.bridge.bridge-nf-call-iptables="
                + nf.out.trim());
    }

    /**
     * Namespaces and the bridge of an earlier run of this class that died before its clean-up, recognised by
     * name and only when no process runs inside them.
     */
    private static void removeLeftovers() throws IOException, InterruptedException {
        String list = run(true, "ip", "netns", "list").out;
        for (int i = 0; i < N; i++) {
            if (List.of(list.split("\\s+")).contains(ns(i))) {
                String pids = run(false, "ip", "netns", "pids", ns(i)).out.trim();
                if (!pids.isEmpty()) {
                    throw new IOException("namespace " + ns(i) + " exists and runs processes " + pids
                            + ": someone else is using it");
                }
                System.out.println("[netns] removing leftover namespace " + ns(i));
                run(false, "ip", "netns", "del", ns(i));
            }
        }
        if (run(false, "ip", "link", "show", BRIDGE).code == 0) {
            System.out.println("[netns] removing leftover bridge " + BRIDGE);
            run(false, "ip", "link", "del", BRIDGE);
        }
        for (int i = 0; i < N; i++) {
            if (run(false, "ip", "link", "show", hostVeth(i)).code == 0) {
                run(false, "ip", "link", "del", hostVeth(i));
            }
        }
    }

    /** Cuts member i off from every other member, both ways; the host still reaches all of them. */
    void isolate(int i) throws IOException, InterruptedException {
        for (int j = 0; j < N; j++) {
            if (j != i) {
                blackhole(i, j);
                blackhole(j, i);
            }
        }
    }

    /** Removes every cut. */
    void healAll() throws IOException, InterruptedException {
        for (String cut : List.copyOf(cuts)) {
            String[] p = cut.split(" ");
            run(true, "ip", "-n", p[0], "route", "del", "blackhole", p[1] + "/32");
            cuts.remove(cut);
        }
    }

    /** Packets from namespace {@code from} to member {@code to} are dropped. */
    void blackhole(int from, int to) throws IOException, InterruptedException {
        run(true, "ip", "-n", ns(from), "route", "add", "blackhole", ip(to) + "/32");
        cuts.add(ns(from) + " " + ip(to));
    }

    @Override
    public void close() {
        List<String> errors = new ArrayList<>();
        for (String n : created) {
            try {
                Result r = run(false, "ip", "netns", "del", n);
                if (r.code != 0) {
                    errors.add("ip netns del " + n + ": " + r.out);
                }
            } catch (IOException | InterruptedException e) {
                errors.add("ip netns del " + n + ": " + e);
            }
        }
        created.clear();
        cuts.clear();
        try {
            // a namespace whose last process is gone takes its veth pair with it; check the host ends anyway
            for (int i = 0; i < N; i++) {
                if (run(false, "ip", "link", "show", hostVeth(i)).code == 0) {
                    run(false, "ip", "link", "del", hostVeth(i));
                }
            }
            if (bridge) {
                Result r = run(false, "ip", "link", "del", BRIDGE);
                if (r.code != 0) {
                    errors.add("ip link del " + BRIDGE + ": " + r.out);
                }
                bridge = false;
            }
        } catch (IOException | InterruptedException e) {
            errors.add(e.toString());
        }
        if (!errors.isEmpty()) {
            System.out.println("[netns] clean-up problems: " + errors);
        }
    }

    record Result(int code, String out) {}

    static Result run(boolean check, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish within 20 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (check && p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out);
        }
        return new Result(p.exitValue(), out);
    }
}
