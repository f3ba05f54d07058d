package io.metastore.server.clientport;

import io.grpc.ServerCredentials;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsciiString;

/**
 * The transport security of a gRPC client listener, plaintext or TLS, that also serves HTTP/1.1 on the same port
 * when given an {@link HttpPipeline}. It is grpc-java's protocol negotiator hook (internal API, pinned with grpc-java's
 * version; ClientPortTest covers it), the only place where a grpc-java server lets another protocol in.
 *
 * <p>Plaintext: the {@link ProtocolSniffer} comes first. TLS: grpc's wait-until-active step, then
 * {@link TlsHandshake}, then the sniffer (or straight to gRPC for a gRPC-only listener).
 */
public final class ClientPortNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {
    private static final AsciiString HTTP = AsciiString.of("http");
    private static final AsciiString HTTPS = AsciiString.of("https");

    private final SslContext tls;
    private final HttpPipeline http;
    private final InternalProtocolNegotiator.ProtocolNegotiator plaintext =
            InternalProtocolNegotiators.serverPlaintext();

    private ClientPortNegotiator(SslContext tls, HttpPipeline http) {
        this.tls = tls;
        this.http = http;
    }

    /**
     * @param tls  the client listener's context, built without ALPN (the port applies {@link AlpnChoice}); null for
     *             plaintext
     * @param http the HTTP/1.1 side; null for a gRPC-only listener (etcd with --listen-client-http-urls)
     */
    public static ServerCredentials credentials(SslContext tls, HttpPipeline http) {
        return InternalNettyServerCredentials.create(new ClientPortNegotiator(tls, http));
    }

    @Override
    public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        if (tls == null) {
            ChannelHandler grpc = plaintext.newHandler(grpcHandler);
            return http == null ? grpc : new ProtocolSniffer(grpc, http);
        }
        ChannelHandler grpc = InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler);
        ChannelHandler afterTls = http == null ? grpc : new ProtocolSniffer(grpc, http);
        return InternalProtocolNegotiators.waitUntilActiveHandler(
                new TlsHandshake(tls, AlpnChoice.serving(true, http != null), afterTls),
                grpcHandler.getNegotiationLogger());
    }

    @Override
    public AsciiString scheme() {
        return tls == null ? HTTP : HTTPS;
    }

    @Override
    public void close() {
        plaintext.close();
    }
}
