package io.metastore.auth;

import com.google.protobuf.ByteString;
import io.metastore.proto.authpb.Permission;
import io.metastore.proto.etcdserverpb.AuthEnableRequest;
import io.metastore.proto.etcdserverpb.AuthRoleAddRequest;
import io.metastore.proto.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.metastore.proto.etcdserverpb.AuthUserAddRequest;
import io.metastore.proto.etcdserverpb.AuthUserGrantRoleRequest;
import io.metastore.storage.AppliedIndex;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccStoreImpl;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.memory.MemoryBackend;

import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/** An AuthStore over the in-memory engine, applying each change in its own committed write transaction. */
final class AuthFixture implements AutoCloseable {
    /** Cost 4 keeps tests fast; the cost itself is tested in PasswordHasherTest. */
    static final PasswordHasher HASHER = new PasswordHasher(4);

    final MvccStore mvcc = MvccStoreImpl.open(MemoryBackend.open());
    final AuthStore store = new AuthStore(mvcc);
    private long index;

    AuthFixture() {
        store.reload();
    }

    /** Runs one apply in one Raft entry's transaction, committing it (also when the apply throws, as a state machine would commit the entry's index). */
    <T> T apply(Function<MvccWriteTxn, T> f) {
        try (MvccWriteTxn txn = mvcc.beginWrite()) {
            try {
                return f.apply(txn);
            } finally {
                txn.commit(new AppliedIndex(1, ++index));
            }
        }
    }

    long lastIndex() {
        return index;
    }

    void addUser(String name, String password) {
        AuthUserAddRequest r = HASHER.prepare(AuthUserAddRequest.newBuilder().setName(name).setPassword(password).build());
        apply(t -> store.applyUserAdd(t, r));
    }

    void addRole(String name) {
        apply(t -> store.applyRoleAdd(t, AuthRoleAddRequest.newBuilder().setName(name).build()));
    }

    void grantRole(String user, String role) {
        apply(t -> store.applyUserGrantRole(t, AuthUserGrantRoleRequest.newBuilder().setUser(user).setRole(role).build()));
    }

    void grant(String role, Permission.Type type, String key, String rangeEnd) {
        apply(t -> store.applyRoleGrantPermission(t, AuthRoleGrantPermissionRequest.newBuilder().setName(role)
                .setPerm(perm(type, key, rangeEnd)).build()));
    }

    /** root/root with role root, auth enabled. */
    void enableWithRoot() {
        addUser("root", "rootpw");
        grantRole("root", "root");
        apply(t -> store.applyAuthEnable(t, AuthEnableRequest.getDefaultInstance()));
    }

    static Permission perm(Permission.Type type, String key, String rangeEnd) {
        return Permission.newBuilder().setPermType(type).setKey(bs(key)).setRangeEnd(bs(rangeEnd)).build();
    }

    static ByteString bs(String s) {
        return ByteString.copyFrom(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A store over the same engine, as after a restart. */
    AuthStore reopened() {
        AuthStore s = new AuthStore(mvcc);
        s.reload();
        return s;
    }

    @Override
    public void close() {
        mvcc.close();
    }
}
