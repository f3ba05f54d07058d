package io.metastore.server.cluster;

import io.metastore.raft.RaftMembership;
import io.metastore.raft.RaftNode;
import io.metastore.raft.RaftPeerSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.metastore.server.fault.FailureContainment;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Leader duty: brings the Ratis configuration in line with the replicated etcd membership. Started members
 * that Ratis does not have yet are added (learners as listeners), promoted learners become voters, members
 * that moved (MemberUpdate) are replaced by their peer at the new address, and removed members leave. A peer Ratis has but the membership does not
 * know is left alone unless its removal was recorded: a member with a partial view must never shrink the group.
 * One change at a time; Ratis refuses a change while another is in progress.
 */
public final class MembershipReconciler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipReconciler.class);

    private final Membership membership;
    private final RaftNode raft;
    private final ScheduledExecutorService timer;
    private final AtomicBoolean inFlight = new AtomicBoolean();

    public MembershipReconciler(Membership membership, RaftNode raft, long periodMs) {
        this.membership = membership;
        this.raft = raft;
        this.timer = Executors.newSingleThreadScheduledExecutor(
                FailureContainment.daemonThreads("membership-reconciler"));
        timer.scheduleWithFixedDelay(this::runOnce, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    private void runOnce() {
        try {
            if (!raft.isLeader() || inFlight.get()) {
                return;
            }
            RaftMembership current = raft.membership();
            RaftMembership target = target(current);
            if (target == null) {
                return;
            }
            LOG.info("changing the Raft configuration from voters={} listeners={} to voters={} listeners={}",
                    current.voters(), current.listeners(), target.voters(), target.listeners());
            inFlight.set(true);
            raft.changeMembership(target.voters(), target.listeners()).whenComplete((v, e) -> {
                inFlight.set(false);
                if (e != null) {
                    LOG.warn("Raft configuration change failed (retrying): {}", e.toString());
                }
            });
        } catch (RuntimeException e) {
            FailureContainment.contained("membership-reconciler", e);
        }
    }

    /** The configuration Ratis should have, or null when it already has it (or must not be changed now). */
    RaftMembership target(RaftMembership current) {
        if (!current.stable()) {
            return null;
        }
        List<RaftPeerSpec> voters = new ArrayList<>();
        List<RaftPeerSpec> listeners = new ArrayList<>();
        for (RaftPeerSpec p : current.voters()) {
            if (!membership.removed(p.name()) && !moved(p)) {
                voters.add(p);
            }
        }
        for (RaftPeerSpec p : current.listeners()) {
            if (!membership.removed(p.name()) && !moved(p)) {
                Membership.Member m = membership.byRaftName(p.name());
                (m != null && !m.learner() ? voters : listeners).add(p);
            }
        }
        for (Membership.Member m : membership.members()) {
            if (m.started() && !current.contains(m.raftPeer().name())) {
                (m.learner() ? listeners : voters).add(m.raftPeer());
            }
        }
        RaftMembership target = new RaftMembership(sorted(voters), sorted(listeners), true);
        if (voters.isEmpty() || (target.voters().equals(current.voters())
                && target.listeners().equals(current.listeners()))) {
            return null;
        }
        return target;
    }

    /**
     * True when MemberUpdate moved the member: its peer ID (name@host:port) is now another one, which replaces
     * this peer in the same configuration change. Ratis stages the new peer first, so the change happens once
     * the member runs at its new address, and the group keeps the old peer until then.
     */
    private boolean moved(RaftPeerSpec p) {
        Membership.Member m = membership.byRaftName(p.name());
        return m != null && m.started() && !m.peerUrls().isEmpty() && !m.raftPeer().name().equals(p.name());
    }

    private static List<RaftPeerSpec> sorted(List<RaftPeerSpec> peers) {
        List<RaftPeerSpec> s = new ArrayList<>(peers);
        s.sort(java.util.Comparator.comparing(RaftPeerSpec::name));
        return s;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
