package io.metastore.server.cluster;

import io.metastore.proto.raftcmd.MemberRecord;
import io.metastore.raft.RaftPeerSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The etcd membership as this member sees it: the replicated {@link MemberRegistry}, completed with the
 * initial cluster from the flags for initial members that have not published yet (etcd has those from its
 * bootstrap entries; every initial member derives the same IDs from the same flags).
 *
 * <p>A Raft peer's ID is the member's name; etcd's 64-bit member ID lives only here.
 */
public final class Membership {

    /** One member: name and client URLs are empty until it has started and published. */
    public record Member(long id, String name, List<String> peerUrls, List<String> clientUrls, boolean learner) {
        public boolean started() {
            return !name.isEmpty();
        }

        /** The Raft peer this member runs: {@link RaftPeerIds}, at the host and port of its first peer URL. */
        public RaftPeerSpec raftPeer() {
            return RaftPeerIds.peer(name, peerUrls.get(0));
        }
    }

    private final MemberRegistry registry;
    private final ClusterIdentity initial; // null for a member that joined a running cluster
    private final String localName;
    private volatile long joinedId;
    private volatile long joinedClusterId;

    public Membership(MemberRegistry registry, ClusterIdentity initial, String localName) {
        this.registry = registry;
        this.initial = initial;
        this.localName = localName;
    }

    /** A joining member learns its ID and the cluster's from the reply to its publish. */
    public void joined(long memberId, long clusterId) {
        this.joinedId = memberId;
        this.joinedClusterId = clusterId;
    }

    /** Every live member, by ID. */
    public List<Member> members() {
        List<Member> out = new ArrayList<>();
        Set<Long> known = new HashSet<>();
        Set<String> knownUrls = new HashSet<>();
        for (MemberRecord r : registry.records()) {
            known.add(r.getId());
            if (!r.getRemoved()) {
                out.add(new Member(r.getId(), r.getName(), r.getPeerUrlsList(), r.getClientUrlsList(),
                        r.getIsLearner()));
                knownUrls.addAll(r.getPeerUrlsList());
            }
        }
        if (initial != null) {
            for (ClusterIdentity.Member m : initial.members()) {
                if (!known.contains(m.id()) && m.peerUrls().stream().noneMatch(knownUrls::contains)) {
                    // not published yet: etcd lists it with its peer URLs and no name
                    out.add(new Member(m.id(), "", m.peerUrls(), List.of(), false));
                }
            }
        }
        out.sort((a, b) -> Long.compareUnsigned(a.id(), b.id())); // etcd lists members by ID
        return out;
    }

    public Member byId(long id) {
        for (Member m : members()) {
            if (m.id() == id) {
                return m;
            }
        }
        return null;
    }

    /**
     * The member a Raft peer name stands for. Initial members that have not published are found through the
     * flags (their name is only known there).
     */
    public Member byRaftName(String peerId) {
        if (peerId == null) {
            return null;
        }
        String name = RaftPeerIds.nameOf(peerId);
        MemberRecord r = registry.byName(name);
        if (r != null) {
            return new Member(r.getId(), r.getName(), r.getPeerUrlsList(), r.getClientUrlsList(), r.getIsLearner());
        }
        ClusterIdentity.Member m = initial == null ? null : initial.member(name);
        if (m == null) {
            return null;
        }
        MemberRecord rec = registry.byId(m.id());
        if (rec != null && rec.getRemoved()) {
            return null;
        }
        return new Member(m.id(), name, m.peerUrls(), List.of(), false);
    }

    /** The Raft peer ID of a member that has started, or null. */
    public String raftName(long memberId) {
        MemberRecord r = registry.byId(memberId);
        if (r != null) {
            return r.getRemoved() || r.getName().isEmpty() || r.getPeerUrlsCount() == 0 ? null
                    : RaftPeerIds.of(r.getName(), r.getPeerUrls(0));
        }
        ClusterIdentity.Member m = initial == null ? null : findInitial(memberId);
        return m == null ? null : RaftPeerIds.of(m.name(), m.peerUrls().get(0));
    }

    private ClusterIdentity.Member findInitial(long id) {
        for (ClusterIdentity.Member m : initial.members()) {
            if (m.id() == id) {
                return m;
            }
        }
        return null;
    }

    /** This member's ID; 0 while a joining member has not been admitted yet. On every response header: cached. */
    public long localId() {
        long[] c = cachedLocalId;
        long v = registry.version();
        if (c[0] == v && c[1] != 0) {
            return c[1];
        }
        long id = findLocalId();
        cachedLocalId = new long[] {v, id};
        return id;
    }

    private volatile long[] cachedLocalId = {-1, 0}; // {registry version, id}

    private long findLocalId() {
        MemberRecord r = registry.byName(localName);
        if (r != null) {
            return r.getId();
        }
        if (joinedId != 0) {
            return joinedId;
        }
        ClusterIdentity.Member m = initial == null ? null : initial.member(localName);
        return m == null ? 0 : m.id();
    }

    public long clusterId() {
        long id = registry.clusterId();
        if (id != 0) {
            return id;
        }
        if (joinedClusterId != 0) {
            return joinedClusterId;
        }
        return initial == null ? 0 : initial.clusterId();
    }

    /** True when the member behind this peer ID has been removed (its tombstone is all that is left). */
    public boolean removed(String peerId) {
        String raftName = RaftPeerIds.nameOf(peerId);
        for (MemberRecord r : registry.records()) {
            if (r.getRemoved() && r.getName().equals(raftName)) {
                return registry.byName(raftName) == null;
            }
        }
        ClusterIdentity.Member m = initial == null ? null : initial.member(raftName);
        if (m != null) {
            MemberRecord r = registry.byId(m.id());
            return r != null && r.getRemoved();
        }
        return false;
    }

    public MemberRegistry registry() {
        return registry;
    }
}
