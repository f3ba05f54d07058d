package io.metastore.server.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import io.metastore.proto.raftcmd.MemberAttributes;
import io.metastore.proto.raftcmd.MemberRecord;
import io.metastore.server.etcd.EtcdError;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The replicated membership, as etcd's membership store keeps it: one record per member ever added or
 * published (removed ones stay as tombstones, so a removed ID never comes back), and the cluster ID. Only the
 * state machine changes it (the {@code apply*} methods, inside the entry's write transaction); anyone reads it.
 *
 * <p>Members of the initial cluster have no record until they publish; {@link Membership} fills them in from
 * the flags, which every initial member shares.
 */
public final class MemberRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(MemberRegistry.class);
    private static final byte[] PREFIX = "member/".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLUSTER_ID = "cluster/id".getBytes(StandardCharsets.US_ASCII);

    private final MvccStore store;
    private final Map<Long, MemberRecord> records = new ConcurrentHashMap<>();
    private volatile long clusterId;
    private volatile long version;

    public MemberRegistry(MvccStore store) {
        this.store = store;
    }

    public void reload() {
        records.clear();
        store.scanMeta(PREFIX, (k, v) -> {
            try {
                MemberRecord r = MemberRecord.parseFrom(v);
                records.put(r.getId(), r);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("corrupt member record", e);
            }
        });
        long[] id = {0};
        store.scanMeta(CLUSTER_ID, (k, v) -> {
            if (k.length == CLUSTER_ID.length) {
                id[0] = ByteBuffer.wrap(v).getLong();
            }
        });
        clusterId = id[0];
        version++;
    }

    // ---- reads ----

    /** Changes whenever the membership does (for readers that cache what they derive from it). */
    public long version() {
        return version;
    }

    /** 0 until a publish or MemberAdd has recorded it. */
    public long clusterId() {
        return clusterId;
    }

    /** Every record, tombstones included. */
    public List<MemberRecord> records() {
        return List.copyOf(records.values());
    }

    public MemberRecord byId(long id) {
        return records.get(id);
    }

    /** The live member that started under {@code name}, or null. */
    public MemberRecord byName(String name) {
        for (MemberRecord r : records.values()) {
            if (!r.getRemoved() && r.getName().equals(name)) {
                return r;
            }
        }
        return null;
    }

    // ---- apply side ----

    /**
     * A member announces its name and client URLs. A joining member sends ID 0 and is matched by peer URLs to the
     * member MemberAdd recorded. Returns the member's ID and the cluster ID.
     */
    public MemberAttributes applyPublish(MvccWriteTxn txn, MemberAttributes a) {
        MemberRecord base;
        if (a.getId() == 0) {
            base = findByPeerUrls(a.getPeerUrlsList());
            if (base == null || !(base.getName().isEmpty() || base.getName().equals(a.getName()))) {
                throw EtcdError.MEMBER_NOT_FOUND.toException();
            }
        } else {
            base = records.get(a.getId());
            if (base == null) {
                base = MemberRecord.newBuilder().setId(a.getId()).addAllPeerUrls(a.getPeerUrlsList()).build();
            }
        }
        if (base.getRemoved()) {
            throw EtcdError.MEMBER_NOT_FOUND.toException();
        }
        MemberRecord.Builder r = base.toBuilder().setName(a.getName())
                .clearClientUrls().addAllClientUrls(a.getClientUrlsList());
        if (r.getPeerUrlsCount() == 0) {
            r.addAllPeerUrls(a.getPeerUrlsList());
        }
        if (clusterId == 0 && a.getClusterId() != 0) {
            writeClusterId(txn, a.getClusterId());
        }
        write(txn, r.clearClusterId().build());
        return MemberAttributes.newBuilder().setId(base.getId()).setClusterId(clusterId).build();
    }

    /** MemberAdd: an unstarted member (no name yet) that may join with these peer URLs. */
    public MemberRecord applyAdd(MvccWriteTxn txn, MemberRecord r) {
        if (records.containsKey(r.getId())) {
            throw EtcdError.MEMBER_EXIST.toException();
        }
        checkPeerUrlsUnused(r.getId(), r.getPeerUrlsList());
        if (clusterId == 0 && r.getClusterId() != 0) {
            writeClusterId(txn, r.getClusterId());
        }
        MemberRecord added = r.toBuilder().clearName().clearClientUrls().clearClusterId().setRemoved(false).build();
        write(txn, added);
        LOG.atInfo().addKeyValue("cluster-id", Long.toHexString(clusterId))
                .addKeyValue("added-peer-id", Long.toHexString(added.getId()))
                .addKeyValue("added-peer-peer-urls", added.getPeerUrlsList())
                .addKeyValue("added-peer-is-learner", added.getIsLearner())
                .log("added member");
        return added;
    }

    /** MemberRemove: the record stays as a tombstone. {@code r} describes the member if it has no record yet. */
    public void applyRemove(MvccWriteTxn txn, MemberRecord r) {
        MemberRecord base = live(r);
        write(txn, base.toBuilder().setRemoved(true).build());
        LOG.atInfo().addKeyValue("cluster-id", Long.toHexString(clusterId))
                .addKeyValue("removed-remote-peer-id", Long.toHexString(base.getId()))
                .addKeyValue("removed-remote-peer-urls", base.getPeerUrlsList())
                .log("removed member");
    }

    public MemberRecord applyUpdate(MvccWriteTxn txn, MemberRecord r) {
        MemberRecord base = live(r);
        checkPeerUrlsUnused(base.getId(), r.getPeerUrlsList());
        MemberRecord updated = base.toBuilder().clearPeerUrls().addAllPeerUrls(r.getPeerUrlsList()).build();
        write(txn, updated);
        return updated;
    }

    public MemberRecord applyPromote(MvccWriteTxn txn, MemberRecord r) {
        MemberRecord base = live(r);
        if (!base.getIsLearner()) {
            throw EtcdError.MEMBER_NOT_LEARNER.toException();
        }
        MemberRecord promoted = base.toBuilder().setIsLearner(false).build();
        write(txn, promoted);
        return promoted;
    }

    private MemberRecord live(MemberRecord described) {
        MemberRecord base = records.get(described.getId());
        if (base == null) {
            base = described.toBuilder().clearClusterId().build();
        }
        if (base.getRemoved()) {
            throw EtcdError.MEMBER_NOT_FOUND.toException();
        }
        return base;
    }

    private void checkPeerUrlsUnused(long id, List<String> urls) {
        Set<String> wanted = new HashSet<>(urls);
        for (MemberRecord other : records.values()) {
            if (!other.getRemoved() && other.getId() != id) {
                for (String u : other.getPeerUrlsList()) {
                    if (wanted.contains(u)) {
                        throw EtcdError.PEER_URL_EXIST.toException();
                    }
                }
            }
        }
    }

    private MemberRecord findByPeerUrls(List<String> urls) {
        List<String> want = sorted(urls);
        for (MemberRecord r : records.values()) {
            if (!r.getRemoved() && sorted(r.getPeerUrlsList()).equals(want)) {
                return r;
            }
        }
        return null;
    }

    static List<String> sorted(List<String> urls) {
        List<String> s = new ArrayList<>(urls);
        s.sort(null);
        return s;
    }

    private void write(MvccWriteTxn txn, MemberRecord r) {
        txn.putMeta(ByteBuffer.allocate(PREFIX.length + 8).put(PREFIX).putLong(r.getId()).array(), r.toByteArray());
        records.put(r.getId(), r);
        version++;
    }

    private void writeClusterId(MvccWriteTxn txn, long id) {
        txn.putMeta(CLUSTER_ID, ByteBuffer.allocate(8).putLong(id).array());
        clusterId = id;
        version++;
    }
}
