package io.metastore.raft;

import java.util.List;

/**
 * The Raft group's configuration as this member currently sees it: voting members and listeners (non-voting
 * members that receive the log, etcd's learners). {@code stable} is false while a joint configuration
 * (a change in progress) is in effect.
 */
public record RaftMembership(List<RaftPeerSpec> voters, List<RaftPeerSpec> listeners, boolean stable) {

    public RaftMembership {
        voters = List.copyOf(voters);
        listeners = List.copyOf(listeners);
    }

    public boolean contains(String name) {
        return find(voters, name) != null || find(listeners, name) != null;
    }

    public boolean isVoter(String name) {
        return find(voters, name) != null;
    }

    public boolean isListener(String name) {
        return find(listeners, name) != null;
    }

    public RaftPeerSpec peer(String name) {
        RaftPeerSpec p = find(voters, name);
        return p != null ? p : find(listeners, name);
    }

    private static RaftPeerSpec find(List<RaftPeerSpec> peers, String name) {
        for (RaftPeerSpec p : peers) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }
}
