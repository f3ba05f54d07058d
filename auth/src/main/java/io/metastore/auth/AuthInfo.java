package io.metastore.auth;

/**
 * Who sends a request: the user a token (or TLS client certificate) names, and the auth revision the
 * credential was issued at. etcd copies both into every proposed request's header so the state machine can
 * check permissions at apply time. Revision 0 means "no credential" (etcd's empty AuthInfo).
 */
public record AuthInfo(String username, long revision) {
    public static final AuthInfo NONE = new AuthInfo("", 0);

    public AuthInfo {
        username = username == null ? "" : username;
    }
}
