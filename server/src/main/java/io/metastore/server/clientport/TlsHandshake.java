package io.metastore.server.clientport;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz;
import io.grpc.SecurityLevel;
import io.grpc.internal.GrpcAttributes;
import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.ProtocolNegotiationEvent;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;

/**
 * TLS first on a TLS client port, before anything else is decided: adds the {@link SslHandler} (with the port's ALPN
 * rule), and once the handshake succeeds hands the connection to {@code next} with grpc's negotiation event carrying
 * the TLS session, as grpc-java's own server TLS handler does, so gRPC calls see {@link Grpc#TRANSPORT_ATTR_SSL_SESSION}
 * (client-certificate users depend on it).
 */
final class TlsHandshake extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(TlsHandshake.class);

    private final SslContext tls;
    private final AlpnChoice alpn;
    private final ChannelHandler next;
    private ProtocolNegotiationEvent negotiation = InternalProtocolNegotiationEvent.getDefault();

    TlsHandshake(SslContext tls, AlpnChoice alpn, ChannelHandler next) {
        this.tls = tls;
        this.alpn = alpn;
        this.next = next;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().addBefore(ctx.name(), null, newSslHandler(tls, alpn, ctx.alloc()));
    }

    static SslHandler newSslHandler(SslContext tls, AlpnChoice alpn, ByteBufAllocator alloc) {
        SSLEngine engine = tls.newEngine(alloc);
        alpn.applyTo(engine);
        return new SslHandler(engine, false);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ProtocolNegotiationEvent pne) {
            negotiation = pne;
        } else if (evt instanceof SslHandshakeCompletionEvent done) {
            if (!done.isSuccess()) {
                LOG.debug("TLS handshake with {} failed", ctx.channel().remoteAddress(), done.cause());
                ctx.close();
                return;
            }
            SSLSession session = ctx.pipeline().get(SslHandler.class).engine().getSession();
            Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(negotiation).toBuilder()
                    .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY)
                    .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session)
                    .build();
            ProtocolNegotiationEvent secured = InternalProtocolNegotiationEvent.withSecurity(
                    InternalProtocolNegotiationEvent.withAttributes(negotiation, attrs),
                    new InternalChannelz.Security(new InternalChannelz.Tls(session)));
            ctx.pipeline().replace(this, null, next);
            ctx.fireUserEventTriggered(secured);
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }
}
