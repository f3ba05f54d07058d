package io.metastore.server.etcd;

/**
 * etcd's client-visible errors (api/v3rpc/rpctypes/error.go): the status code name and the exact message
 * clients match on. Domain code throws these; only the gRPC layer turns them into a transport status.
 */
public enum EtcdError {
    EMPTY_KEY(Code.INVALID_ARGUMENT, "etcdserver: key is not provided"),
    KEY_NOT_FOUND(Code.INVALID_ARGUMENT, "etcdserver: key not found"),
    VALUE_PROVIDED(Code.INVALID_ARGUMENT, "etcdserver: value is provided"),
    LEASE_PROVIDED(Code.INVALID_ARGUMENT, "etcdserver: lease is provided"),
    TOO_MANY_OPS(Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
    DUPLICATE_KEY(Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
    INVALID_CLIENT_API_VERSION(Code.INVALID_ARGUMENT, "etcdserver: invalid client api version"),
    INVALID_SORT_OPTION(Code.INVALID_ARGUMENT, "etcdserver: invalid sort option"),
    COMPACTED(Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
    FUTURE_REV(Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
    NO_SPACE(Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),
    LEASE_NOT_FOUND(Code.NOT_FOUND, "etcdserver: requested lease not found"),
    LEASE_EXIST(Code.FAILED_PRECONDITION, "etcdserver: lease already exists"),
    LEASE_TTL_TOO_LARGE(Code.OUT_OF_RANGE, "etcdserver: too large lease TTL"),
    WATCH_CANCELED(Code.CANCELLED, "etcdserver: watch canceled"),
    MEMBER_EXIST(Code.FAILED_PRECONDITION, "etcdserver: member ID already exist"),
    PEER_URL_EXIST(Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
    MEMBER_NOT_ENOUGH_STARTED(Code.FAILED_PRECONDITION, "etcdserver: re-configuration failed due to not enough started members"),
    MEMBER_BAD_URLS(Code.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
    MEMBER_NOT_FOUND(Code.NOT_FOUND, "etcdserver: member not found"),
    MEMBER_NOT_LEARNER(Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
    LEARNER_NOT_READY(Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member which is in sync with leader"),
    TOO_MANY_LEARNERS(Code.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),
    REQUEST_TOO_LARGE(Code.INVALID_ARGUMENT, "etcdserver: request is too large"),
    TOO_MANY_REQUESTS(Code.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),
    /** MetaStore's --max-leases (etcd has no such cap); worded and coded like etcd's other resource errors. */
    TOO_MANY_LEASES(Code.RESOURCE_EXHAUSTED, "etcdserver: too many leases"),
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
    // auth errors etcd has no gRPC mapping for: togRPCError sends them as Unknown with the internal text
    NO_PASSWORD_USER(Code.UNKNOWN, "auth: authentication failed, password was given for no password user"),
    PASSWORD_TOO_LONG(Code.UNKNOWN, "bcrypt: password length exceeds 72 bytes"),
    VERIFY_ONLY(Code.UNKNOWN, "auth: token signing attempted with verify-only key"),
    NO_LEADER(Code.UNAVAILABLE, "etcdserver: no leader"),
    NOT_LEADER(Code.FAILED_PRECONDITION, "etcdserver: not leader"),
    LEADER_CHANGED(Code.UNAVAILABLE, "etcdserver: leader changed"),
    NOT_CAPABLE(Code.FAILED_PRECONDITION, "etcdserver: not capable"),
    STOPPED(Code.UNAVAILABLE, "etcdserver: server stopped"),
    TIMEOUT(Code.UNAVAILABLE, "etcdserver: request timed out"),
    TIMEOUT_DUE_TO_LEADER_FAIL(Code.UNAVAILABLE, "etcdserver: request timed out, possibly due to previous leader failure"),
    TIMEOUT_DUE_TO_CONNECTION_LOST(Code.UNAVAILABLE, "etcdserver: request timed out, possibly due to connection lost"),
    TIMEOUT_WAIT_APPLIED_INDEX(Code.UNAVAILABLE, "etcdserver: request timed out, waiting for the applied index took too long"),
    TIMEOUT_LEADER_TRANSFER(Code.UNKNOWN, // not in etcd's error map: togRPCError sends it as Unknown
             "etcdserver: request timed out, leader transfer took too long"),
    UNHEALTHY(Code.UNAVAILABLE, "etcdserver: unhealthy cluster"),
    CORRUPT(Code.DATA_LOSS, "etcdserver: corrupt cluster"),
    NOT_SUPPORTED_FOR_LEARNER(Code.FAILED_PRECONDITION, "etcdserver: rpc not supported for learner"),
    BAD_LEADER_TRANSFEREE(Code.FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
    WRONG_DOWNGRADE_VERSION_FORMAT(Code.INVALID_ARGUMENT, "etcdserver: wrong downgrade target version format"),
    INVALID_DOWNGRADE_TARGET_VERSION(Code.INVALID_ARGUMENT, "etcdserver: invalid downgrade target version"),
    CLUSTER_VERSION_UNAVAILABLE(Code.FAILED_PRECONDITION, "etcdserver: cluster version not found during downgrade"),
    DOWNGRADE_IN_PROCESS(Code.FAILED_PRECONDITION, "etcdserver: cluster has a downgrade job in progress"),
    NO_INFLIGHT_DOWNGRADE(Code.FAILED_PRECONDITION, "etcdserver: no inflight downgrade job"),
    CANCELED(Code.CANCELLED, "etcdserver: request canceled"),
    DEADLINE_EXCEEDED(Code.DEADLINE_EXCEEDED, "etcdserver: context deadline exceeded");

    /** The gRPC status code names etcd uses, kept transport-neutral here. */
    public enum Code {
        CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, FAILED_PRECONDITION, PERMISSION_DENIED,
        RESOURCE_EXHAUSTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED, UNKNOWN
    }

    private final Code code;
    private final String message;

    EtcdError(Code code, String message) {
        this.code = code;
        this.message = message;
    }

    public Code code() { return code; }
    public String message() { return message; }

    public EtcdException toException() {
        return new EtcdException(this);
    }
}
