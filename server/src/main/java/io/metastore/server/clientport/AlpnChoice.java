package io.metastore.server.clientport;

import javax.net.ssl.SSLEngine;
import java.util.List;

/**
 * Which application protocol a TLS client port agrees to, given what the client offers. A port serving both gRPC
 * and HTTP/1.1 cannot simply prefer h2 (as etcd's Go server does): curl offers "h2, http/1.1" and would then send its
 * JSON over HTTP/2, which grpc-java rejects; nor offer only h2, which fails every HTTP/1.1 client. Measured offers:
 * etcdctl (grpc-go) and jetcd (grpc-java's GrpcSslContexts) offer "h2" alone, curl and java.net.http offer
 * "h2, http/1.1", Python requests and curl --http1.1 offer "http/1.1". So: h2 when the client offers h2 but not http/1.1 (every gRPC
 * client), else http/1.1 when offered, else no ALPN at all (the first bytes then decide, as on a plaintext port).
 */
final class AlpnChoice {
    static final String H2 = "h2";
    static final String HTTP_1_1 = "http/1.1";

    private final boolean grpc;
    private final boolean http;

    private AlpnChoice(boolean grpc, boolean http) {
        this.grpc = grpc;
        this.http = http;
    }

    /** For a port serving gRPC and/or HTTP/1.1. */
    static AlpnChoice serving(boolean grpc, boolean http) {
        return new AlpnChoice(grpc, http);
    }

    /** The protocol to select; "" means none (JSSE then completes the handshake without ALPN). */
    String select(List<String> offered) {
        boolean h2 = offered.contains(H2);
        boolean h1 = offered.contains(HTTP_1_1);
        if (grpc && h2 && !(http && h1)) {
            return H2;
        }
        if (http && h1) {
            return HTTP_1_1;
        }
        return "";
    }

    /** Installs the rule on a (JDK) engine created without Netty's own ALPN negotiator. */
    void applyTo(SSLEngine engine) {
        engine.setHandshakeApplicationProtocolSelector((e, offered) -> select(offered));
    }
}
