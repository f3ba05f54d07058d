package io.metastore.server.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import io.metastore.proto.raftcmd.MemberAttributes;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Members' published attributes (name, client URLs), replicated through Raft and kept in store metadata,
 * as etcd keeps them in its membership store.
 */
public final class MemberRegistry {
    private static final byte[] PREFIX = "member/".getBytes(StandardCharsets.US_ASCII);

    private final MvccStore store;
    private final Map<Long, MemberAttributes> published = new ConcurrentHashMap<>();

    public MemberRegistry(MvccStore store) {
        this.store = store;
    }

    public void reload() {
        published.clear();
        store.scanMeta(PREFIX, (k, v) -> {
            try {
                MemberAttributes a = MemberAttributes.parseFrom(v);
                published.put(a.getId(), a);
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("corrupt member record", e);
            }
        });
    }

    /** Apply side: records what a member published about itself. */
    public void publish(MvccWriteTxn txn, MemberAttributes a) {
        txn.putMeta(ByteBuffer.allocate(PREFIX.length + 8).put(PREFIX).putLong(a.getId()).array(), a.toByteArray());
        published.put(a.getId(), a);
    }

    /** Null until the member has published. */
    public MemberAttributes attributes(long memberId) {
        return published.get(memberId);
    }
}
