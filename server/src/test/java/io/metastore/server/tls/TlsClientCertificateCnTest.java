package io.metastore.server.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.metastore.server.ServerConfig;
import io.metastore.server.clientport.ClientPortNegotiator;
import io.metastore.server.grpc.ClientCertificates;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ClientCertificates#commonName} on calls through the client listener's TLS context (as MetaStore builds it):
 * the verified client certificate's CN, which auth takes as the user under --client-cert-auth.
 */
class TlsClientCertificateCnTest {
    @TempDir
    Path dir;

    @Test
    void commonNameOfTheVerifiedClientCertificate() throws Exception {
        TestCerts ca = new TestCerts(dir, "cn");
        TestCerts.Pair member = ca.server("member");
        TestCerts.Pair alice = ca.client("alice");

        assertEquals(Optional.of("alice"), callerCn(ca, member, true, alice));
        assertEquals(Optional.empty(), callerCn(ca, member, false, null)); // TLS without a client certificate
        assertEquals("alice", ClientCertificates.commonName(alice.certificate()).orElseThrow());
        assertEquals(Optional.empty(), ClientCertificates.commonName((javax.net.ssl.SSLSession) null));
    }

    /** The CN the service sees for one health check made over TLS, with or without --client-cert-auth. */
    private Optional<String> callerCn(TestCerts ca, TestCerts.Pair member, boolean clientCertAuth,
                                      TestCerts.Pair clientCert) throws Exception {
        ServerConfig.Builder b = ServerConfig.builder("cn").dataDir(dir.resolve("data"))
                .singleMemberUrls("https://127.0.0.1:1", "http://127.0.0.1:2");
        b.tls.certFile = member.cert();
        b.tls.keyFile = member.key();
        if (clientCertAuth) {
            b.tls.trustedCaFile = ca.caFile();
            b.tls.clientCertAuth = true;
        }
        ServerTls tls = ServerTls.create(b.build());
        AtomicReference<Optional<String>> seen = new AtomicReference<>();
        ServerInterceptor capture = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                               ServerCallHandler<Q, R> next) {
                seen.set(ClientCertificates.commonName(call));
                return next.startCall(call, headers);
            }
        };
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        ClientPortNegotiator.credentials(tls.clientListener(), null))
                .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), capture))
                .build().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
                .sslContext(TestCerts.nettyClientContext(ca.caFile(), clientCert)).build();
        try {
            HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.getDefaultInstance());
            return seen.get();
        } finally {
            ch.shutdownNow();
            server.shutdownNow();
        }
    }
}
