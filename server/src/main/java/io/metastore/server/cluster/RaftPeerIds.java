package io.metastore.server.cluster;

import io.metastore.raft.RaftPeerSpec;

import java.net.URI;

/**
 * A member's Raft peer ID: its name and the host:port of its first peer URL ({@code infra1@10.0.0.1:2380}).
 * The address is part of the ID because Ratis keeps one connection per peer ID for the life of each server
 * process: a member that moves (MemberUpdate) becomes a new peer that replaces the old one in one configuration
 * change, instead of an address change Ratis would ignore.
 */
public final class RaftPeerIds {
    private RaftPeerIds() {}

    public static String of(String name, String peerUrl) {
        URI u = URI.create(peerUrl);
        return name + "@" + u.getHost() + ":" + u.getPort();
    }

    /** The Raft peer of a member: its ID, at the host and port of {@code peerUrl}. */
    public static RaftPeerSpec peer(String name, String peerUrl) {
        URI u = URI.create(peerUrl);
        return new RaftPeerSpec(of(name, peerUrl), u.getHost().replace("[", "").replace("]", ""), u.getPort());
    }

    /** The member name inside a peer ID (an ID without an address is a bare name). */
    public static String nameOf(String peerId) {
        int at = peerId.lastIndexOf('@');
        return at < 0 ? peerId : peerId.substring(0, at);
    }
}
