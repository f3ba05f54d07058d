package io.metastore.server.coordination;

import com.google.protobuf.ByteString;
import io.metastore.concurrency.EtcdConnection;

/** What the recipes need from a request: the caller's identity, and names the SDK can take. */
final class Callers {
    private Callers() {
    }

    /** The connection as the caller: with its token, if it sent one. */
    static EtcdConnection connection(EtcdConnection conn, String token) {
        return token == null ? conn : conn.withToken(token);
    }

    /**
     * The SDK names locks and elections with strings (UTF-8 on the wire) where etcd takes any bytes; a name that
     * is not UTF-8 would silently become another name, so it is refused instead.
     */
    static String text(ByteString name, String what) {
        if (!name.isValidUtf8()) {
            throw new IllegalArgumentException(what + " must be valid UTF-8");
        }
        return name.toStringUtf8();
    }
}
