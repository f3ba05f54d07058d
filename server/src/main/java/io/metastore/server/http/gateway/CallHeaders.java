package io.metastore.server.http.gateway;

import io.grpc.Metadata;
import io.metastore.server.http.HttpRequest;

import java.util.Map;

/**
 * The gRPC metadata of a gateway call, from the HTTP headers as grpc-gateway maps them: {@code Authorization}
 * becomes the {@code authorization} key etcd's auth reads, and {@code Grpc-Metadata-<name>} becomes
 * {@code <name>} (so {@code Grpc-Metadata-Hasleader: true} asks for etcd's leader check).
 */
final class CallHeaders {
    private static final String PREFIX = "grpc-metadata-";
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    /** etcd's own key; the Lock and Election services pass this one on to the calls they make for the caller. */
    private static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

    private CallHeaders() {}

    static Metadata of(HttpRequest request) {
        Metadata md = new Metadata();
        String authorization = request.header("authorization");
        if (authorization != null && !authorization.isEmpty()) {
            md.put(AUTHORIZATION, authorization);
            md.put(TOKEN, authorization);
        }
        for (Map.Entry<String, String> h : request.headers().entrySet()) {
            String name = h.getKey();
            if (name.startsWith(PREFIX) && name.length() > PREFIX.length()) {
                String key = name.substring(PREFIX.length());
                // binary and reserved keys are not for HTTP clients to set
                if (!key.endsWith(Metadata.BINARY_HEADER_SUFFIX) && !key.startsWith("grpc-") && !key.startsWith(":")
                        && !key.equals("token") && !key.equals("authorization")) {
                    try {
                        md.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), h.getValue());
                    } catch (IllegalArgumentException invalidName) {
                        // a header name gRPC cannot carry: dropped, as grpc-gateway drops what it cannot map
                    }
                }
            }
        }
        return md;
    }
}
