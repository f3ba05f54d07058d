package io.metastore.server;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.metastore.proto.authpb.Permission;
import io.metastore.proto.etcdserverpb.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Auth across a 3-member cluster: a token issued by one member is accepted by the others (simple tokens because
 * every member applies the Authenticate entry, JWT because every member has the key), every member holds the
 * same auth state, and a restarted member reloads it.
 */
@Timeout(180)
class AuthClusterTest {

    static ByteString b(String s) {
        return ByteString.copyFromUtf8(s);
    }

    static String token(RawClient c, String user, String pw) {
        return AuthGrpc.newBlockingStub(c.channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .authenticate(AuthenticateRequest.newBuilder().setName(user).setPassword(pw).build()).getToken();
    }

    static KVGrpc.KVBlockingStub kv(RawClient c, String token) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
        return KVGrpc.newBlockingStub(c.channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    /** root + alice (READWRITE on a/), auth enabled, through member 0. */
    static void setUp(RawClient c) {
        AuthGrpc.AuthBlockingStub a = AuthGrpc.newBlockingStub(c.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        a.userAdd(AuthUserAddRequest.newBuilder().setName("root").setPassword("rootpw").build());
        a.userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
        a.roleAdd(AuthRoleAddRequest.newBuilder().setName("rw-a").build());
        a.roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder().setName("rw-a").setPerm(Permission.newBuilder()
                .setKey(b("a/")).setRangeEnd(b("a0")).setPermType(Permission.Type.READWRITE)).build());
        a.userAdd(AuthUserAddRequest.newBuilder().setName("alice").setPassword("alicepw").build());
        a.userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("alice").setRole("rw-a").build());
        a.authEnable(AuthEnableRequest.getDefaultInstance());
    }

    /** A token from member 0 works on every member, at once: a lagging member waits for the issuing entry. */
    static void tokenFromOneWorksOnAll(TestCluster cluster) throws Exception {
        RawClient[] raw = new RawClient[3];
        try {
            for (int i = 0; i < 3; i++) {
                raw[i] = new RawClient(cluster.port(i));
            }
            setUp(raw[0]);
            for (int round = 0; round < 5; round++) {
                String t = token(raw[0], "alice", "alicepw");
                kv(raw[0], t).put(PutRequest.newBuilder().setKey(b("a/k")).setValue(b("v" + round)).build());
                for (int i = 1; i < 3; i++) {
                    assertEquals(1, kv(raw[i], t).range(RangeRequest.newBuilder().setKey(b("a/k")).build()).getCount());
                    RawClient.assertEtcdError(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                            () -> kv(raw[1], t).range(RangeRequest.newBuilder().setKey(b("b/k")).build()));
                }
            }
            // the same auth state everywhere (after a linearizable read on each, so all applied the same entries)
            String rootToken = token(raw[0], "root", "rootpw");
            List<String> users = null;
            for (int i = 0; i < 3; i++) {
                kv(raw[i], rootToken).range(RangeRequest.newBuilder().setKey(b("x")).build());
                var auth = cluster.member(i).server().auth();
                assertTrue(auth.enabled());
                assertEquals(cluster.member(0).server().auth().store().revision(), auth.store().revision());
                List<String> u = auth.store().userList(AuthUserListRequest.getDefaultInstance()).getUsersList();
                if (users == null) {
                    users = u;
                }
                assertEquals(users, u);
                assertEquals(auth.store().roleGet(AuthRoleGetRequest.newBuilder().setRole("rw-a").build()),
                        cluster.member(0).server().auth().store().roleGet(AuthRoleGetRequest.newBuilder().setRole("rw-a").build()));
            }
        } finally {
            for (RawClient r : raw) {
                if (r != null) {
                    r.close();
                }
            }
        }
    }

    @Test
    void simpleTokensAreKnownToEveryMemberAndStateSurvivesRestart() throws Exception {
        try (TestCluster cluster = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY, c -> c.bcryptCost(4))) {
            tokenFromOneWorksOnAll(cluster);
            cluster.stop(2);
            cluster.restart(2);
            try (RawClient r2 = new RawClient(cluster.port(2))) {
                String t = token(r2, "alice", "alicepw");
                assertEquals(1, kv(r2, t).range(RangeRequest.newBuilder().setKey(b("a/k")).build()).getCount());
                assertTrue(cluster.member(2).server().auth().enabled());
                RawClient.assertEtcdError(Status.Code.INVALID_ARGUMENT, "etcdserver: user name is empty",
                        () -> r2.kv.range(RangeRequest.newBuilder().setKey(b("a/k")).build()));
            }
        }
    }

    @Test
    void jwtTokensVerifyOnEveryMember(@TempDir Path dir) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        Path priv = dir.resolve("jwt.key");
        Path pub = dir.resolve("jwt.pub");
        Files.writeString(priv, pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
        Files.writeString(pub, pem("PUBLIC KEY", kp.getPublic().getEncoded()));
        String spec = "jwt,pub-key=" + pub + ",priv-key=" + priv + ",sign-method=ES256";
        try (TestCluster cluster = TestCluster.start(3, ServerConfig.StorageEngine.MEMORY,
                c -> c.bcryptCost(4).authToken(spec).authTokenTtl(Duration.ofSeconds(300)))) {
            tokenFromOneWorksOnAll(cluster);
        }
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
