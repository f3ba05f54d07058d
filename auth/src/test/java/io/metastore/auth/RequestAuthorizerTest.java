package io.metastore.auth;

import io.metastore.auth.AuthException.Reason;
import io.metastore.proto.etcdserverpb.Compare;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RangeRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.metastore.auth.AuthFixture.b;
import static io.metastore.auth.AuthFixture.bs;
import static io.metastore.proto.authpb.Permission.Type.READ;
import static io.metastore.proto.authpb.Permission.Type.WRITE;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RequestAuthorizerTest {
    private final AuthFixture f = new AuthFixture();
    private RequestAuthorizer authorizer;
    private AuthInfo alice;

    @BeforeEach
    void setUp() {
        f.enableWithRoot();
        f.addUser("alice", "pw");
        f.addRole("r");
        f.grantRole("alice", "r");
        f.grant("r", READ, "r/", "r0");
        f.grant("r", WRITE, "w/", "w0");
        // lease 1 holds a key alice may write, lease 2 one she may not
        authorizer = new RequestAuthorizer(new PermissionChecker(f.store),
                id -> id == 1 ? List.of(b("w/x")) : id == 2 ? List.of(b("secret")) : List.of());
        alice = new AuthInfo("alice", f.store.revision());
    }

    @AfterEach
    void close() {
        f.close();
    }

    private void denied(Runnable r) {
        assertEquals(Reason.PERMISSION_DENIED, assertThrows(AuthException.class, r::run).reason());
    }

    @Test
    void kvRequests() {
        assertDoesNotThrow(() -> authorizer.checkRange(alice, RangeRequest.newBuilder().setKey(bs("r/")).setRangeEnd(bs("r0")).build()));
        denied(() -> authorizer.checkRange(alice, RangeRequest.newBuilder().setKey(bs("w/a")).build()));
        assertDoesNotThrow(() -> authorizer.checkPut(alice, PutRequest.newBuilder().setKey(bs("w/a")).build()));
        denied(() -> authorizer.checkPut(alice, PutRequest.newBuilder().setKey(bs("w/a")).setPrevKv(true).build()));
        assertDoesNotThrow(() -> authorizer.checkPut(alice, PutRequest.newBuilder().setKey(bs("w/a")).setLease(1).build()));
        denied(() -> authorizer.checkPut(alice, PutRequest.newBuilder().setKey(bs("w/a")).setLease(2).build()));
        assertDoesNotThrow(() -> authorizer.checkDeleteRange(alice, DeleteRangeRequest.newBuilder().setKey(bs("w/")).setRangeEnd(bs("w0")).build()));
        denied(() -> authorizer.checkDeleteRange(alice, DeleteRangeRequest.newBuilder().setKey(bs("w/")).setRangeEnd(bs("w0")).setPrevKv(true).build()));
        denied(() -> authorizer.checkLeaseRevoke(alice, 2));
        assertDoesNotThrow(() -> authorizer.checkLeaseRevoke(new AuthInfo("root", f.store.revision()), 2), "admin may revoke any lease");
    }

    @Test
    void txnChecksComparesAndBothBranchesRecursively() {
        TxnRequest ok = TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(bs("r/a")))
                .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("w/a"))))
                .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs("r/b"))))
                .build();
        assertDoesNotThrow(() -> authorizer.checkTxn(alice, ok));
        denied(() -> authorizer.checkTxn(alice, ok.toBuilder().addCompare(Compare.newBuilder().setKey(bs("w/a"))).build()));
        denied(() -> authorizer.checkTxn(alice, ok.toBuilder().addFailure(RequestOp.newBuilder()
                .setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(bs("r/a")))).build()));
        TxnRequest nested = TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestTxn(
                TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs("r/a")))))).build();
        denied(() -> authorizer.checkTxn(alice, nested));
    }
}
