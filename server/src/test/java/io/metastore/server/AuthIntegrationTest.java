package io.metastore.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.auth.Permission;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's auth through jetcd against one real member: enabling it, users, roles, permissions, tokens. */
@Timeout(120)
class AuthIntegrationTest {
    private TestMember member;
    private final List<Client> clients = new ArrayList<>();

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @BeforeEach
    void start() {
        member = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> b.bcryptCost(4).authTokenTtl(Duration.ofSeconds(2)));
    }

    @AfterEach
    void stop() {
        clients.forEach(Client::close);
        member.close();
    }

    private Client as(String user, String password) {
        Client c = Client.builder().endpoints(member.url()).user(bs(user)).password(bs(password))
                .connectTimeout(Duration.ofSeconds(5)).build();
        clients.add(c);
        return c;
    }

    /** etcdctl's enable sequence, then a user alice with READWRITE on the prefix "a/". */
    private void enableWithAlice() throws Exception {
        var auth = member.client().getAuthClient();
        auth.userAdd(bs("root"), bs("rootpw")).get();
        auth.userGrantRole(bs("root"), bs("root")).get();
        auth.roleAdd(bs("rw-a")).get();
        auth.roleGrantPermission(bs("rw-a"), bs("a/"), bs("a0"), Permission.Type.READWRITE).get();
        auth.userAdd(bs("alice"), bs("alicepw")).get();
        auth.userGrantRole(bs("alice"), bs("rw-a")).get();
        auth.userAdd(bs("bob"), bs("bobpw")).get();
        auth.authEnable().get();
    }

    /** The server's status; jetcd reports a failed Authenticate as UNAUTHENTICATED caused by the server's. */
    static Status statusOf(Throwable t) {
        Status found = null;
        for (Throwable c = t; c != null; c = c.getCause() != null ? c.getCause()
                : c instanceof io.grpc.StatusRuntimeException s ? s.getStatus().getCause() : null) {
            if (c instanceof io.grpc.StatusRuntimeException s) {
                found = s.getStatus();
                continue;
            }
            if (found != null) {
                continue;
            }
            if (c instanceof io.etcd.jetcd.common.exception.EtcdException e) {
                return Status.fromCode(Status.Code.valueOf(e.getErrorCode().name())).withDescription(e.getMessage());
            }
        }
        if (found == null) {
            throw new AssertionError("no gRPC status in " + t, t);
        }
        return found;
    }

    private static void assertFails(Status.Code code, String message, ThrowingRunnable call) {
        ExecutionException e = assertThrows(ExecutionException.class, call::run);
        Status s = statusOf(e);
        assertEquals(code, s.getCode(), () -> "code of " + e);
        assertTrue(String.valueOf(s.getDescription()).contains(message), () -> "message of " + e);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void enableThenRootWorksAndAnonymousIsRefused() throws Exception {
        enableWithAlice();
        KV root = as("root", "rootpw").getKVClient();
        root.put(bs("k"), bs("v")).get();
        assertEquals("v", root.get(bs("k")).get().getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
        // the client that enabled auth has no credential
        assertFails(Status.Code.INVALID_ARGUMENT, "etcdserver: user name is empty",
                () -> member.client().getKVClient().get(bs("k")).get(10, TimeUnit.SECONDS));
        assertTrue(member.member().server().auth().enabled());
    }

    @Test
    void wrongPasswordIsEtcdsError() throws Exception {
        enableWithAlice();
        assertFails(Status.Code.INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password",
                () -> as("alice", "nope").getKVClient().get(bs("a/x")).get(10, TimeUnit.SECONDS));
    }

    @Test
    void prefixPermissionAllowsInsideDeniesOutside() throws Exception {
        enableWithAlice();
        KV alice = as("alice", "alicepw").getKVClient();
        alice.put(bs("a/1"), bs("x")).get();
        assertEquals(1, alice.get(bs("a/1")).get().getCount());
        assertFails(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> alice.put(bs("b/1"), bs("x")).get(10, TimeUnit.SECONDS));
        assertFails(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> alice.get(bs("b/1")).get(10, TimeUnit.SECONDS));
        KV bob = as("bob", "bobpw").getKVClient();
        assertFails(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> bob.get(bs("a/1")).get(10, TimeUnit.SECONDS));
    }

    /** The Lock service runs its recipe with the caller's token: the lock keys are checked like any other keys. */
    @Test
    void lockServiceActsWithTheCallersPermissions() throws Exception {
        enableWithAlice();
        Client alice = as("alice", "alicepw");
        long lease = alice.getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
        ByteSequence held = alice.getLockClient().lock(bs("a/lock"), lease).get(10, TimeUnit.SECONDS).getKey();
        assertTrue(held.toString(StandardCharsets.UTF_8).startsWith("a/lock/"), held.toString(StandardCharsets.UTF_8));
        alice.getLockClient().unlock(held).get(10, TimeUnit.SECONDS);
        assertFails(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> alice.getLockClient().lock(bs("b/lock"), lease).get(10, TimeUnit.SECONDS));
        assertEquals(0, as("root", "rootpw").getKVClient().get(bs("b/lock"),
                io.etcd.jetcd.options.GetOption.builder().isPrefix(true).build()).get(10, TimeUnit.SECONDS).getCount());
    }

    @Test
    void revokedPermissionTakesEffectOnTheNextCall() throws Exception {
        enableWithAlice();
        KV alice = as("alice", "alicepw").getKVClient();
        alice.put(bs("a/1"), bs("x")).get();
        as("root", "rootpw").getAuthClient().roleRevokePermission(bs("rw-a"), bs("a/"), bs("a0")).get();
        assertFails(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> alice.get(bs("a/1")).get(10, TimeUnit.SECONDS));
    }

    @Test
    void expiredSimpleTokenIsRenewedByJetcd() throws Exception {
        enableWithAlice();
        KV alice = as("alice", "alicepw").getKVClient();
        alice.put(bs("a/1"), bs("x")).get();
        Thread.sleep(3000); // --auth-token-ttl=2: the token is gone
        assertEquals(1, alice.get(bs("a/1")).get(10, TimeUnit.SECONDS).getCount());
        alice.put(bs("a/2"), bs("y")).get(10, TimeUnit.SECONDS);
    }

    @Test
    void disableRestoresAnonymousAccess() throws Exception {
        enableWithAlice();
        as("root", "rootpw").getAuthClient().authDisable().get();
        member.client().getKVClient().put(bs("b/1"), bs("x")).get();
        assertFalse(member.member().server().auth().enabled());
    }

    @Test
    void authStateSurvivesRestart() throws Exception {
        enableWithAlice();
        as("alice", "alicepw").getKVClient().put(bs("a/1"), bs("x")).get();
        clients.forEach(Client::close);
        clients.clear();
        member.restart();
        assertTrue(member.member().server().auth().enabled());
        assertEquals(1, as("alice", "alicepw").getKVClient().get(bs("a/1")).get().getCount());
        assertFails(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied",
                () -> as("bob", "bobpw").getKVClient().get(bs("a/1")).get(10, TimeUnit.SECONDS));
    }
}
