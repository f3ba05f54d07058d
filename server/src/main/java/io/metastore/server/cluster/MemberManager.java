package io.metastore.server.cluster;

import com.google.protobuf.Parser;
import io.metastore.proto.etcdserverpb.Member;
import io.metastore.proto.etcdserverpb.MemberAddRequest;
import io.metastore.proto.etcdserverpb.MemberAddResponse;
import io.metastore.proto.etcdserverpb.MemberListResponse;
import io.metastore.proto.etcdserverpb.MemberPromoteResponse;
import io.metastore.proto.etcdserverpb.MemberRemoveResponse;
import io.metastore.proto.etcdserverpb.MemberUpdateRequest;
import io.metastore.proto.etcdserverpb.MemberUpdateResponse;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.raftcmd.MemberRecord;
import io.metastore.proto.raftcmd.RaftCommand;
import io.metastore.raft.RaftNode;
import io.metastore.raft.RaftPeerSpec;
import io.metastore.server.ServerConfig;
import io.metastore.server.etcd.EtcdError;

import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * etcd's membership changes (MemberAdd/Remove/Update/Promote, MoveLeader) with etcd's checks and errors. A change
 * is recorded in the replicated {@link MemberRegistry} through the log; the leader's {@link MembershipReconciler}
 * then brings the Ratis configuration in line, and the calls here wait (bounded) until it has, so a caller sees
 * the change in effect as it would with etcd.
 */
public final class MemberManager {
    /** etcd's --max-learners default. */
    static final int MAX_LEARNERS = 1;
    /** etcd's readyPercentThreshold: a learner must have 90% of the leader's log to be promoted. */
    static final double READY_PERCENT = 0.9;

    /** How the manager proposes commands (EtcdServer's propose: size checks and error translation). */
    public interface Proposer {
        <T> CompletableFuture<T> propose(RaftCommand cmd, Parser<T> parser);
    }

    private final ServerConfig config;
    private final Membership membership;
    private final RaftNode raft;
    private final Proposer proposer;
    private final Supplier<ResponseHeader> header;
    private final long waitMs;

    public MemberManager(ServerConfig config, Membership membership, RaftNode raft, Proposer proposer,
                         Supplier<ResponseHeader> header) {
        this.config = config;
        this.membership = membership;
        this.raft = raft;
        this.proposer = proposer;
        this.header = header;
        this.waitMs = raft.config().requestTimeout().toMillis();
    }

    public MemberListResponse list() {
        MemberListResponse.Builder b = MemberListResponse.newBuilder().setHeader(header.get());
        b.addAllMembers(protoMembers());
        return b.build();
    }

    private List<Member> protoMembers() {
        long local = membership.localId();
        return membership.members().stream().map(m -> {
            Member.Builder mb = Member.newBuilder().setID(m.id()).addAllPeerURLs(m.peerUrls())
                    .setName(m.name()).addAllClientURLs(m.clientUrls()).setIsLearner(m.learner());
            if (m.id() == local && m.name().isEmpty()) {
                // this member is running even if its publish has not been applied yet
                mb.setName(config.name()).clearClientURLs().addAllClientURLs(config.advertiseClientUrls());
            }
            return mb.build();
        }).toList();
    }

    public CompletableFuture<MemberAddResponse> add(MemberAddRequest r) {
        List<String> urls = validUrls(r.getPeerURLsList());
        List<Membership.Member> members = membership.members();
        for (Membership.Member m : members) {
            for (String u : m.peerUrls()) {
                if (urls.contains(u)) {
                    throw EtcdError.PEER_URL_EXIST.toException();
                }
            }
        }
        if (r.getIsLearner()) {
            if (members.stream().filter(Membership.Member::learner).count() >= MAX_LEARNERS) {
                throw EtcdError.TOO_MANY_LEARNERS.toException();
            }
        } else {
            // etcd's strict reconfig check: the started voters must still be a quorum with the new, unstarted one
            long voters = members.stream().filter(m -> !m.learner()).count() + 1;
            long started = members.stream().filter(m -> !m.learner() && m.started()).count();
            if (started < voters / 2 + 1) {
                throw EtcdError.MEMBER_NOT_ENOUGH_STARTED.toException();
            }
        }
        long id;
        do { // etcd hashes the URLs with the time; any unused non-zero ID will do
            id = ThreadLocalRandom.current().nextLong();
        } while (id == 0 || membership.registry().byId(id) != null || membership.byId(id) != null);
        MemberRecord rec = MemberRecord.newBuilder().setId(id).addAllPeerUrls(urls).setIsLearner(r.getIsLearner())
                .setClusterId(membership.clusterId()).build();
        return proposer.propose(RaftCommand.newBuilder().setMemberAdd(rec).build(), MemberRecord.parser())
                .thenCompose(this::appliedHere)
                .thenApply(added -> MemberAddResponse.newBuilder().setHeader(header.get())
                        .setMember(Member.newBuilder().setID(added.getId()).addAllPeerURLs(added.getPeerUrlsList())
                                .setIsLearner(added.getIsLearner()))
                        .addAllMembers(protoMembers()).build());
    }

    public CompletableFuture<MemberRemoveResponse> remove(long id) {
        Membership.Member m = existing(id);
        if (!m.learner()) {
            // etcd's strict reconfig check: the remaining started voters must be a quorum of the remaining voters
            List<Membership.Member> rest = membership.members().stream()
                    .filter(o -> o.id() != id && !o.learner()).toList();
            long started = rest.stream().filter(Membership.Member::started).count();
            if (rest.isEmpty() || started < rest.size() / 2 + 1) {
                throw EtcdError.MEMBER_NOT_ENOUGH_STARTED.toException();
            }
        }
        return proposer.propose(RaftCommand.newBuilder().setMemberRemove(record(m)).build(), MemberRecord.parser())
                .thenCompose(this::appliedHere)
                .thenCompose(v -> awaitRaft(() -> !m.started() || !raft.membership().contains(m.raftPeer().name())))
                .thenApply(v -> MemberRemoveResponse.newBuilder().setHeader(header.get())
                        .addAllMembers(protoMembers()).build());
    }

    public CompletableFuture<MemberUpdateResponse> update(MemberUpdateRequest r) {
        Membership.Member m = existing(r.getID());
        List<String> urls = validUrls(r.getPeerURLsList());
        for (Membership.Member o : membership.members()) {
            if (o.id() != m.id() && o.peerUrls().stream().anyMatch(urls::contains)) {
                throw EtcdError.PEER_URL_EXIST.toException();
            }
        }
        if (m.started() && m.learner()
                && !RaftPeerIds.of(m.name(), urls.get(0)).equals(m.raftPeer().name())) {
            // a Ratis listener added while it runs outside the configuration stays in Ratis's STARTING state
            throw new UnsupportedOperationException("metastore: a started learner cannot move to another peer "
                    + "host:port; promote or remove it first");
        }
        MemberRecord rec = record(m).toBuilder().clearPeerUrls().addAllPeerUrls(urls).build();
        return proposer.propose(RaftCommand.newBuilder().setMemberUpdate(rec).build(), MemberRecord.parser())
                .thenCompose(this::appliedHere)
                // no wait for Ratis: the member is only reachable at its new URL once it restarts there; until then
                // the group keeps it at the old one
                .thenApply(v -> MemberUpdateResponse.newBuilder().setHeader(header.get())
                        .addAllMembers(protoMembers()).build());
    }

    /**
     * Only the leader knows how far a learner has come: callers on other members get NOT_LEADER and forward
     * the call to the leader, as etcd does.
     */
    public CompletableFuture<MemberPromoteResponse> promote(long id) {
        Membership.Member m = existing(id);
        if (!m.learner()) {
            throw EtcdError.MEMBER_NOT_LEARNER.toException();
        }
        if (!raft.isLeader()) {
            throw EtcdError.NOT_LEADER.toException();
        }
        long leaderIndex = raft.commitIndex();
        long learnerIndex = m.started() ? raft.peerCommitIndex(m.raftPeer().name()) : -1;
        if (learnerIndex < 0 || (double) learnerIndex / Math.max(1, leaderIndex) < READY_PERCENT) {
            throw EtcdError.LEARNER_NOT_READY.toException();
        }
        return proposer.propose(RaftCommand.newBuilder().setMemberPromote(record(m)).build(), MemberRecord.parser())
                .thenCompose(this::appliedHere)
                .thenCompose(v -> awaitRaft(() -> raft.membership().isVoter(m.raftPeer().name())))
                .thenApply(v -> MemberPromoteResponse.newBuilder().setHeader(header.get())
                        .addAllMembers(protoMembers()).build());
    }

    /** Maintenance.MoveLeader: on the leader only, to a started voting member. */
    public CompletableFuture<Void> moveLeader(long targetId) {
        if (!raft.isLeader()) {
            throw EtcdError.NOT_LEADER.toException();
        }
        Membership.Member member = membership.byId(targetId);
        String target = membership.raftName(targetId);
        if (member == null || member.learner() || target == null) {
            throw EtcdError.BAD_LEADER_TRANSFEREE.toException();
        }
        if (target.equals(raft.localName())) {
            return CompletableFuture.completedFuture(null);
        }
        // Ratis answers once the transferee has won or the transfer failed; like etcd, success is seeing the
        // transferee lead, and anything else is "took too long"
        long settle = 2 * raft.config().electionTimeout().toMillis();
        return raft.transferLeadership(target, waitMs).handle((v, e) -> e)
                .thenCompose(e -> await(() -> target.equals(raft.leaderName()), settle,
                        EtcdError.TIMEOUT_LEADER_TRANSFER));
    }

    /**
     * Before this member stops: when it leads and another voter exists, hands leadership to the voter whose log
     * is furthest along (etcd's Stop does the same with its longest-connected follower), so clients see a quick
     * transfer instead of an election timeout. Waits at most {@code bound}.
     *
     * @return the new leader's Raft name, or null when nothing was handed over (not leader, alone, or the
     *         transfer did not finish in time: the others then elect a leader as after a crash)
     */
    public String handOffLeadership(Duration bound) {
        if (!raft.isLeader()) {
            return null;
        }
        long electionMs = raft.config().electionTimeout().toMillis();
        String best = null;
        long bestIndex = -1;
        for (RaftPeerSpec voter : raft.membership().voters()) {
            long silent = raft.millisSinceHeardFrom(voter.name());
            if (voter.name().equals(raft.localName()) || silent < 0 || silent > electionMs) {
                continue; // stopped or cut off: a transfer to it could only time out
            }
            long index = raft.peerCommitIndex(voter.name());
            if (index > bestIndex) {
                best = voter.name();
                bestIndex = index;
            }
        }
        if (best == null) {
            return null;
        }
        String target = best;
        try {
            raft.transferLeadership(target, bound.toMillis())
                    .handle((v, e) -> e)
                    .thenCompose(e -> await(() -> target.equals(raft.leaderName()), bound.toMillis(),
                            EtcdError.TIMEOUT_LEADER_TRANSFER))
                    .get(bound.toMillis() * 2, TimeUnit.MILLISECONDS);
            return target;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException e) {
            return null;
        }
    }

    /** The change was applied where the proposal committed; answer once it is applied on this member too. */
    private <T> CompletableFuture<T> appliedHere(T result) {
        return raft.linearizableBarrier().thenApply(v -> result);
    }

    private Membership.Member existing(long id) {
        Membership.Member m = membership.byId(id);
        if (m == null) {
            throw EtcdError.MEMBER_NOT_FOUND.toException();
        }
        return m;
    }

    private static MemberRecord record(Membership.Member m) {
        return MemberRecord.newBuilder().setId(m.id()).setName(m.name()).addAllPeerUrls(m.peerUrls())
                .addAllClientUrls(m.clientUrls()).setIsLearner(m.learner()).build();
    }

    /** etcd's URL check for member changes: absolute http(s)://host:port URLs, without duplicates. */
    static List<String> validUrls(List<String> urls) {
        if (urls.isEmpty()) {
            throw EtcdError.MEMBER_BAD_URLS.toException();
        }
        Set<String> seen = new HashSet<>();
        for (String u : urls) {
            try {
                URI uri = new URI(u);
                if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                        || uri.getPort() < 0 || !(uri.getPath() == null || uri.getPath().isEmpty())
                        || !seen.add(u)) {
                    throw EtcdError.MEMBER_BAD_URLS.toException();
                }
            } catch (java.net.URISyntaxException e) {
                throw EtcdError.MEMBER_BAD_URLS.toException();
            }
        }
        return List.copyOf(urls);
    }

    /** Waits (bounded) until the leader's reconciler has made the Ratis change. */
    private CompletableFuture<Void> awaitRaft(BooleanSupplier done) {
        return await(done, waitMs, EtcdError.TIMEOUT);
    }

    /** Polls {@code done} every 20 ms without holding a thread; fails with {@code timeout} after {@code ms}. */
    private static CompletableFuture<Void> await(BooleanSupplier done, long ms, EtcdError timeout) {
        CompletableFuture<Void> out = new CompletableFuture<>();
        poll(done, System.nanoTime() + ms * 1_000_000, timeout, out);
        return out;
    }

    private static void poll(BooleanSupplier done, long deadline, EtcdError timeout, CompletableFuture<Void> out) {
        try {
            if (done.getAsBoolean()) {
                out.complete(null);
            } else if (System.nanoTime() > deadline) {
                out.completeExceptionally(timeout.toException());
            } else {
                CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS)
                        .execute(() -> poll(done, deadline, timeout, out));
            }
        } catch (RuntimeException e) {
            out.completeExceptionally(e);
        }
    }
}
