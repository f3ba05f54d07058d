package io.metastore.raft;

import java.util.Objects;

/** One voting member of the group: its unique name and the host/port its Raft (peer) gRPC endpoint listens on. */
public record RaftPeerSpec(String name, String host, int port) {

    public RaftPeerSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        if (name.isBlank()) {
            throw new IllegalArgumentException("peer name is blank");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("bad port " + port + " for peer " + name);
        }
    }

    /** Parses Ratis's "host:port" (IPv6 literals in brackets). */
    public static RaftPeerSpec ofAddress(String name, String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("bad peer address " + address + " for " + name);
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new RaftPeerSpec(name, host, Integer.parseInt(address.substring(colon + 1)));
    }

    /** "host:port", with an IPv6 literal in brackets. */
    public String address() {
        return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }
}
