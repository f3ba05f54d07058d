package io.metastore.server.cluster;

import io.metastore.server.ServerConfig;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Member and cluster IDs derived exactly as etcd derives them (server/etcdserver/api/membership): a
 * member's ID is the first 8 bytes of SHA-1 over its sorted peer URLs joined, followed by the cluster
 * token; the cluster ID is the first 8 bytes of SHA-1 over the sorted member IDs. The same flags therefore
 * give the same IDs as etcd would.
 */
public final class ClusterIdentity {
    public record Member(long id, String name, List<String> peerUrls) {}

    private final long clusterId;
    private final long localId;
    private final List<Member> members;

    private ClusterIdentity(long clusterId, long localId, List<Member> members) {
        this.clusterId = clusterId;
        this.localId = localId;
        this.members = members;
    }

    public static ClusterIdentity fromConfig(ServerConfig config) {
        Map<String, List<String>> urlsByName = new LinkedHashMap<>();
        for (ServerConfig.InitialMember m : config.initialCluster()) {
            urlsByName.computeIfAbsent(m.name(), n -> new ArrayList<>()).add(m.peerUrl());
        }
        List<Member> members = new ArrayList<>();
        long local = 0;
        for (Map.Entry<String, List<String>> e : urlsByName.entrySet()) {
            long id = memberId(e.getValue(), config.initialClusterToken());
            members.add(new Member(id, e.getKey(), List.copyOf(e.getValue())));
            if (e.getKey().equals(config.name())) {
                local = id;
            }
        }
        if (local == 0) {
            throw new IllegalArgumentException("couldn't find local name \"" + config.name()
                    + "\" in the initial cluster configuration");
        }
        return new ClusterIdentity(clusterId(members), local, List.copyOf(members));
    }

    public static long memberId(List<String> peerUrls, String token) {
        List<String> sorted = new ArrayList<>(peerUrls);
        sorted.sort(null);
        byte[] hash = sha1((String.join("", sorted) + token).getBytes(StandardCharsets.UTF_8));
        return ByteBuffer.wrap(hash, 0, 8).getLong();
    }

    static long clusterId(List<Member> members) {
        // Go sorts the uint64 IDs, i.e. unsigned
        List<Long> ids = new ArrayList<>();
        for (Member m : members) {
            ids.add(m.id());
        }
        ids.sort(Long::compareUnsigned);
        ByteBuffer b = ByteBuffer.allocate(8 * ids.size());
        for (long id : ids) {
            b.putLong(id);
        }
        return ByteBuffer.wrap(sha1(b.array()), 0, 8).getLong();
    }

    private static byte[] sha1(byte[] in) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(in);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public long clusterId() { return clusterId; }
    public long localId() { return localId; }
    public List<Member> members() { return members; }

    public Member member(String name) {
        for (Member m : members) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        return null;
    }
}
