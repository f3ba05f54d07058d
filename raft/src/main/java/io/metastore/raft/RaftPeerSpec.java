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

    /** "host:port", with an IPv6 literal in brackets. */
    public String address() {
        return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }
}
