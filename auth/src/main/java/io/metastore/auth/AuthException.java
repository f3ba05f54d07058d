package io.metastore.auth;

/**
 * An etcd auth error. {@link #getMessage()} is exactly the text etcd sends (clients match errors by message),
 * and {@link Reason#grpcCode()} names the gRPC status code etcd uses, so the transport layer can map a reason
 * to a status without this module knowing gRPC.
 *
 * <p>The reason names are the same as the server's {@code EtcdError} constants where etcd has a mapped error,
 * so {@code EtcdError.valueOf(reason.name())} works for those.
 */
public final class AuthException extends RuntimeException {

    /** gRPC status code names (as {@code io.grpc.Status.Code} spells them). */
    public enum Code { INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, UNAUTHENTICATED, UNKNOWN }

    /** Each auth error etcd can send, with its code and exact message (api/v3rpc/rpctypes/error.go). */
    public enum Reason {
        ROOT_USER_NOT_EXIST(Code.FAILED_PRECONDITION, "etcdserver: root user does not exist"),
        ROOT_ROLE_NOT_EXIST(Code.FAILED_PRECONDITION, "etcdserver: root user does not have root role"),
        USER_ALREADY_EXIST(Code.FAILED_PRECONDITION, "etcdserver: user name already exists"),
        USER_EMPTY(Code.INVALID_ARGUMENT, "etcdserver: user name is empty"),
        USER_NOT_FOUND(Code.FAILED_PRECONDITION, "etcdserver: user name not found"),
        ROLE_ALREADY_EXIST(Code.FAILED_PRECONDITION, "etcdserver: role name already exists"),
        ROLE_NOT_FOUND(Code.FAILED_PRECONDITION, "etcdserver: role name not found"),
        ROLE_EMPTY(Code.INVALID_ARGUMENT, "etcdserver: role name is empty"),
        AUTH_FAILED(Code.INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password"),
        PERMISSION_NOT_GIVEN(Code.INVALID_ARGUMENT, "etcdserver: permission not given"),
        PERMISSION_DENIED(Code.PERMISSION_DENIED, "etcdserver: permission denied"),
        ROLE_NOT_GRANTED(Code.FAILED_PRECONDITION, "etcdserver: role is not granted to the user"),
        PERMISSION_NOT_GRANTED(Code.FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"),
        AUTH_NOT_ENABLED(Code.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"),
        INVALID_AUTH_TOKEN(Code.UNAUTHENTICATED, "etcdserver: invalid auth token"),
        INVALID_AUTH_MGMT(Code.INVALID_ARGUMENT, "etcdserver: invalid auth management"),
        AUTH_OLD_REVISION(Code.INVALID_ARGUMENT, "etcdserver: revision of auth store is old"),

        // etcd has no gRPC mapping for these: togRPCError sends them as UNKNOWN with the internal error text.
        /** Authenticate of a user created with no_password; also a hashedPassword that is not base64. */
        NO_PASSWORD_USER(Code.UNKNOWN, "auth: authentication failed, password was given for no password user"),
        /** UserAdd/UserChangePassword with a password bcrypt cannot hash (Go's bcrypt refuses > 72 bytes). */
        PASSWORD_TOO_LONG(Code.UNKNOWN, "bcrypt: password length exceeds 72 bytes"),
        /** A JWT provider configured with only a public key was asked to sign. */
        VERIFY_ONLY(Code.UNKNOWN, "auth: token signing attempted with verify-only key");

        private final Code grpcCode;
        private final String message;

        Reason(Code grpcCode, String message) {
            this.grpcCode = grpcCode;
            this.message = message;
        }

        public Code grpcCode() {
            return grpcCode;
        }

        /** The exact status message etcd sends. */
        public String message() {
            return message;
        }

        public AuthException exception() {
            return new AuthException(this);
        }
    }

    private final Reason reason;

    public AuthException(Reason reason) {
        // no stack trace: these are expected outcomes of client requests, thrown on hot paths
        super(reason.message(), null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
