package io.metastore.server.coordination;

import com.google.protobuf.ByteString;
import io.metastore.concurrency.Election;
import io.metastore.concurrency.EtcdConnection;
import io.metastore.concurrency.Observation;
import io.metastore.concurrency.Session;
import io.metastore.proto.etcdserverpb.ResponseHeader;
import io.metastore.proto.mvccpb.KeyValue;
import io.metastore.proto.v3electionpb.LeaderKey;

import java.util.function.BiConsumer;

/**
 * etcd's {@code v3electionpb.Election} semantics (server/etcdserver/api/v3election): the SDK's {@link Election}
 * run against this member as a client, on the caller's lease (never renewed nor revoked here, as in etcd). A
 * leadership is handed to the caller as a {@link LeaderKey} (name, key, create revision, lease); Proclaim and
 * Resign act on it only while that key still has that create revision, so a deposed leader cannot touch its
 * successor's term.
 *
 * <p>Thread-safe; Campaign blocks its thread and withdraws the candidacy when that thread is interrupted.
 */
public final class ElectionRecipes {
    /** Not etcd's (etcd answers success with a key that is already gone): the campaign's lease ran out meanwhile. */
    public static final String SESSION_EXPIRED = "election: session is expired";

    private final EtcdConnection conn;

    public ElectionRecipes(EtcdConnection conn) {
        this.conn = conn;
    }

    /** A won election: the leader key to hand the caller, and the header of the read that confirmed it. */
    public record Won(LeaderKey leader, ResponseHeader header) {
    }

    /** The current leader's key-value and the header of the read. */
    public record Leader(KeyValue kv, ResponseHeader header) {
    }

    /** Blocks until the caller's lease leads election {@code name}, with {@code value} proclaimed. */
    public Won campaign(ByteString name, long lease, ByteString value, String token) throws InterruptedException {
        String prefix = Callers.text(name, "election name");
        EtcdConnection c = Callers.connection(conn, token);
        Session session = Session.builder(c).lease(lease).withoutKeepAlive().build();
        try {
            Election election = new Election(session, prefix);
            election.campaign(value);
            ByteString key = ByteString.copyFromUtf8(election.key());
            LeaseLiveness.require(c, session.lease(), key, election.revision(), SESSION_EXPIRED);
            LeaderKey leader = LeaderKey.newBuilder().setName(name).setKey(key).setRev(election.revision())
                    .setLease(session.lease()).build();
            return new Won(leader, election.header());
        } finally {
            session.close(); // only forgets the session: the lease is the caller's
        }
    }

    /** Sets the leader's value; {@code NotLeaderException} unless {@code leader} is still the current term. */
    public ResponseHeader proclaim(LeaderKey leader, ByteString value, String token) {
        Session session = resumed(leader, token);
        try {
            Election election = resume(session, leader);
            election.proclaim(value);
            return election.header();
        } finally {
            session.close();
        }
    }

    /** Ends {@code leader}'s term (or candidacy) by deleting its key; a term already over is not an error. */
    public ResponseHeader resign(LeaderKey leader, String token) {
        Session session = resumed(leader, token);
        try {
            Election election = resume(session, leader);
            election.resign();
            return election.header();
        } finally {
            session.close();
        }
    }

    /** The current leader; {@code NoLeaderException} if there is no candidate. */
    public Leader leader(ByteString name, String token) {
        Election election = new Election(Callers.connection(conn, token), Callers.text(name, "election name"));
        KeyValue kv = election.leader();
        return new Leader(kv, election.header());
    }

    /**
     * Reports the leader now and on every change (new leader or proclamation) to {@code listener}, on a thread
     * of the observation's own, until it is closed or fails (its {@link Observation#stopped()}).
     */
    public Observation observe(ByteString name, String token, BiConsumer<ResponseHeader, KeyValue> listener) {
        return new Election(Callers.connection(conn, token), Callers.text(name, "election name"))
                .observeWithHeaders(listener);
    }

    private Session resumed(LeaderKey leader, String token) {
        return Session.builder(Callers.connection(conn, token)).lease(leader.getLease()).withoutKeepAlive().build();
    }

    private static Election resume(Session session, LeaderKey leader) {
        return Election.resume(session, Callers.text(leader.getName(), "election name"),
                Callers.text(leader.getKey(), "leader key"), leader.getRev());
    }
}
