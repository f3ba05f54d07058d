package io.metastore.server.clientport;

import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.InternalWriteBufferingAndExceptionHandlerUtils;
import io.grpc.netty.ProtocolNegotiationEvent;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Decides, from a connection's first bytes, whether it is gRPC or HTTP/1.1, as etcd serves both on its client port.
 * The HTTP/2 connection preface means gRPC: grpc-java's own negotiation handlers take over, this handler leaves the
 * pipeline and the connection costs nothing more than a plain gRPC one. Anything else gets the HTTP/1.1 pipeline.
 * It sits where grpc-java puts a protocol negotiator's handler (after TLS on a TLS port), holds back grpc's
 * negotiation event until the choice is made, and hands it on only to gRPC.
 */
final class ProtocolSniffer extends ByteToMessageDecoder {
    private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ChannelHandler grpcNegotiation;
    private final HttpPipeline http;
    private ProtocolNegotiationEvent negotiation;

    /**
     * @param grpcNegotiation grpc-java's handlers that finish a gRPC connection's setup once given the event
     * @param http            what an HTTP/1.1 connection gets
     */
    ProtocolSniffer(ChannelHandler grpcNegotiation, HttpPipeline http) {
        this.grpcNegotiation = grpcNegotiation;
        this.http = http;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ProtocolNegotiationEvent pne) {
            negotiation = pne; // for gRPC, later
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), H2_PREFACE.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != H2_PREFACE[i]) {
                toHttp(ctx);
                return;
            }
        }
        if (n == H2_PREFACE.length) {
            toGrpc(ctx);
        } // else: a prefix of the preface so far; wait for more
    }

    private void toGrpc(ChannelHandlerContext ctx) {
        ctx.pipeline().addAfter(ctx.name(), null, grpcNegotiation);
        ctx.fireUserEventTriggered(negotiation != null ? negotiation : InternalProtocolNegotiationEvent.getDefault());
        ctx.pipeline().remove(this); // the buffered bytes flow on to gRPC
    }

    private void toHttp(ChannelHandlerContext ctx) {
        // grpc's write buffer waits for a gRPC handshake that will never come; HTTP writes directly
        InternalWriteBufferingAndExceptionHandlerUtils.writeBufferingAndRemove(ctx.channel());
        http.install(ctx.pipeline());
        ctx.pipeline().remove(this);
    }
}
