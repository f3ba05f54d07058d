package io.metastore.server.cluster;

import io.metastore.raft.RaftPeerSpec;

import java.net.URI;

/**
 * A member's Raft peer ID: its name and the host and port of its first peer URL ({@code infra1@10.0.0.1_2380}).
 * The address is part of the ID because Ratis keeps one connection per peer ID for the life of each server
 * process: a member that moves (MemberUpdate) becomes a new peer that replaces the old one in one configuration
 * change, instead of an address change Ratis would ignore.
 *
 * <p>Ratis registers each server as a JMX bean whose ObjectName carries the ID unquoted, so characters JMX
 * refuses there ({@code : , = " * ?} and line breaks, e.g. from an IPv6 host or a free-form member name) are
 * percent-encoded, as is {@code %} itself; {@link #nameOf} decodes.
 */
public final class RaftPeerIds {
    private RaftPeerIds() {}

    public static String of(String name, String peerUrl) {
        URI u = URI.create(peerUrl);
        return escape(name) + "@" + escape(u.getHost()) + "_" + u.getPort();
    }

    /** The Raft peer of a member: its ID, at the host and port of {@code peerUrl}. */
    public static RaftPeerSpec peer(String name, String peerUrl) {
        URI u = URI.create(peerUrl);
        return new RaftPeerSpec(of(name, peerUrl), u.getHost().replace("[", "").replace("]", ""), u.getPort());
    }

    /** The member name inside a peer ID (an ID without an address is a bare name). */
    public static String nameOf(String peerId) {
        int at = peerId.lastIndexOf('@');
        return unescape(at < 0 ? peerId : peerId.substring(0, at));
    }

    private static final String ESCAPED = "%:,=\"*?\n\r";

    private static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (ESCAPED.indexOf(c) >= 0) {
                b.append('%').append(String.format("%02X", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String unescape(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
