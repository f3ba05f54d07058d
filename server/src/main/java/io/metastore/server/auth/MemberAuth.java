package io.metastore.server.auth;

import io.metastore.auth.AuthException;
import io.metastore.auth.AuthInfo;
import io.metastore.auth.AuthStore;
import io.metastore.auth.Authenticator;
import io.metastore.auth.PasswordHasher;
import io.metastore.auth.PermissionChecker;
import io.metastore.auth.RequestAuthorizer;
import io.metastore.auth.TokenOptions;
import io.metastore.auth.TokenProviders;
import io.metastore.proto.raftcmd.RequestHeader;
import io.metastore.server.ServerConfig;
import io.metastore.server.lease.LeaseManager;
import io.metastore.storage.MvccStore;

import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One member's auth machinery, built from the {@code auth} module (README "Integrating into the server", step 1):
 * the replicated {@link AuthStore}, the {@link Authenticator} with the token provider {@code --auth-token}
 * describes, and the permission checks. No transport here: the gRPC layer resolves tokens through
 * {@link #resolve(String)} and the domain ({@code EtcdServer}, {@code EtcdApplier}) calls the checks.
 */
public final class MemberAuth implements AutoCloseable {
    private final AuthStore store;
    private final Authenticator authenticator;
    private final PermissionChecker checker;
    private final RequestAuthorizer authorizer;
    /** bcrypt takes tens of milliseconds: never on the transport's event loop. */
    private final ExecutorService bcrypt;

    public MemberAuth(ServerConfig config, MvccStore mvcc, LeaseManager leases) {
        this.store = new AuthStore(mvcc);
        store.reload();
        this.authenticator = new Authenticator(store, new PasswordHasher(config.bcryptCost()),
                TokenProviders.create(TokenOptions.parse(config.authToken()), config.authTokenTtl(),
                        InstantSource.system()));
        this.checker = new PermissionChecker(store);
        this.authorizer = new RequestAuthorizer(checker, id -> {
            LeaseManager.TimeToLive t = leases.timeToLive(id, true);
            return t == null ? List.of() : t.keys();
        });
        this.bcrypt = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "bcrypt");
            t.setDaemon(true);
            return t;
        });
    }

    public AuthStore store() {
        return store;
    }

    public Authenticator authenticator() {
        return authenticator;
    }

    public PermissionChecker checker() {
        return checker;
    }

    public RequestAuthorizer authorizer() {
        return authorizer;
    }

    public ExecutorService bcryptExecutor() {
        return bcrypt;
    }

    /** The hot-path question: one volatile read. */
    public boolean enabled() {
        return store.isEnabled();
    }

    /**
     * etcd's AuthInfoFromCtx: the caller a token names; {@link AuthInfo#NONE} when auth is disabled or no
     * token was sent.
     *
     * @throws AuthException INVALID_AUTH_TOKEN for an unknown, expired or forged token
     */
    public AuthInfo resolve(String token) {
        return authenticator.authInfo(token).orElse(AuthInfo.NONE);
    }

    /**
     * etcd's AuthInfoFromTLS: with --client-cert-auth, a call without a token acts as the user named by its
     * verified client certificate's CN, at the current auth revision (the user must exist and hold permissions
     * like any other; the certificate only replaces the password).
     */
    public AuthInfo certificateUser(String commonName) {
        return new AuthInfo(commonName, store.revision());
    }

    /** etcd's requireAuthInfo: with auth enabled, a request without a credential is "user name is empty". */
    public void requireUser(AuthInfo caller) {
        if (store.isEnabled() && (caller == null || caller.username().isEmpty())) {
            throw AuthException.Reason.USER_EMPTY.exception();
        }
    }

    /** etcd's doSerialize tail: a read served while the auth store moved on is "revision of auth store is old". */
    public void checkStillCurrent(AuthInfo caller) {
        if (caller.revision() != 0 && caller.revision() != store.revision()) {
            throw AuthException.Reason.AUTH_OLD_REVISION.exception();
        }
    }

    private static final RequestHeader NO_CREDENTIAL = RequestHeader.getDefaultInstance();

    /** What a proposed client command carries so the state machine can check it again. */
    public static RequestHeader header(AuthInfo caller) {
        AuthInfo c = caller == null ? AuthInfo.NONE : caller;
        if (c.username().isEmpty() && c.revision() == 0) {
            return NO_CREDENTIAL; // the common case with auth disabled: 3 bytes in the entry, no allocation
        }
        return RequestHeader.newBuilder().setUsername(c.username()).setAuthRevision(c.revision()).build();
    }

    /** The caller a command's header names. */
    public static AuthInfo caller(RequestHeader h) {
        return new AuthInfo(h.getUsername(), h.getAuthRevision());
    }

    @Override
    public void close() {
        bcrypt.shutdownNow();
    }
}
