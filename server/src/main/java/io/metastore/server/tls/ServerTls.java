package io.metastore.server.tls;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.metastore.raft.RaftTls;
import io.metastore.server.ServerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A member's TLS material, made ready at start: auto-tls certificates generated (or reused) under
 * {@code <data-dir>/fixtures}, certificate files read and checked, and the contexts built for the client listener,
 * for the member's own client connections to other members' client URLs, and for Raft.
 */
public final class ServerTls {
    private static final Logger LOG = LoggerFactory.getLogger(ServerTls.class);

    private final SslContext clientListener;
    private final SslContext forwarding;
    private final RaftTls peer;

    private ServerTls(SslContext clientListener, SslContext forwarding, RaftTls peer) {
        this.clientListener = clientListener;
        this.forwarding = forwarding;
        this.peer = peer;
    }

    /**
     * @throws TlsConfigException a refused combination (etcd's message) or an unusable file
     */
    public static ServerTls create(ServerConfig config) throws TlsConfigException {
        TransportSecurity ts = config.tls();
        try {
            ts.validate(config.clientListenUrls(), config.listenPeerUrls());
            ts.validateMetrics(config.listenMetricsUrls());
        } catch (IllegalArgumentException e) {
            throw new TlsConfigException(e.getMessage(), e);
        }
        try {
            // the client certificate serves every client-side listener: gRPC, HTTP-only and metrics URLs alike
            List<String> clientUrls = new ArrayList<>(config.clientListenUrls());
            clientUrls.addAll(config.listenMetricsUrls());
            boolean clientTls = clientUrls.stream().anyMatch(TransportSecurity::secure);
            boolean peerTls = config.listenPeerUrls().stream().anyMatch(TransportSecurity::secure);
            warnIgnored("client", clientUrls, ts.client(), "--client-cert-auth");
            warnIgnored("peer", config.listenPeerUrls(), ts.peer(), "--peer-client-cert-auth");

            // without an https:// client URL etcd ignores the client certificate flags: so do we (forwarding to an
            // https:// leader then trusts the JVM's store and presents no certificate)
            Resolved client = clientTls ? resolve(ts.client(), config.dataDir().resolve("fixtures").resolve("client"),
                    clientUrls, ts.selfSignedCertValidityYears(), "client")
                    : new Resolved(TransportSecurity.Side.NONE, null, false);
            Resolved peer = peerTls ? resolve(ts.peer(), config.dataDir().resolve("fixtures").resolve("peer"),
                    config.listenPeerUrls(), ts.selfSignedCertValidityYears(), "peer") : null;

            SslContext listener = clientTls ? listenerContext(client, ts) : null;
            SslContext forwarding = forwardingContext(client, ts);
            RaftTls raft = peer == null ? null : raftTls(peer, ts);
            if (clientTls) {
                LOG.info("starting with client TLS (cert={}, trusted-ca={}, client-cert-auth={}{})",
                        client.keyManager == null ? "" : client.side.certFile(), client.side.trustedCaFile(),
                        client.side.clientCertAuth(), client.selfSigned ? ", auto-tls" : "");
            }
            if (peer != null) {
                LOG.info("starting with peer TLS (cert={}, trusted-ca={}, peer-client-cert-auth={}{})",
                        peer.side.certFile(), peer.side.trustedCaFile(), peer.side.clientCertAuth(),
                        peer.selfSigned ? ", auto-tls" : "");
            }
            return new ServerTls(listener, forwarding, raft);
        } catch (IOException e) {
            throw new TlsConfigException(e.getMessage(), e);
        }
    }

    /**
     * For the https:// client URLs; null when there are none. Built without ALPN: the client port picks the
     * protocol per connection (gRPC's h2 or HTTP/1.1, see clientport.AlpnChoice), so hand it to
     * {@code ClientPortNegotiator} or {@code HttpListener}, not to a plain grpc server builder.
     */
    public SslContext clientListener() {
        return clientListener;
    }

    /** For this member's connections to other members' https:// client URLs (forwarding to the leader). */
    public SslContext forwarding() {
        return forwarding;
    }

    /** For Raft; null when the peer URLs are http://. */
    public RaftTls peer() {
        return peer;
    }

    /** A side with files read: keyManager null when it has no certificate (only possible for a plaintext side). */
    private record Resolved(TransportSecurity.Side side, ReloadingKeyManager keyManager, boolean selfSigned) {}

    private static Resolved resolve(TransportSecurity.Side side, Path fixtures, List<String> listenUrls,
                                    int validityYears, String what) throws IOException {
        if (side.empty() && side.autoTls()) {
            List<String> hosts = new ArrayList<>();
            for (String u : listenUrls) {
                String h = URI.create(u).getHost();
                h = h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
                if (!hosts.contains(h)) {
                    hosts.add(h);
                }
            }
            Path[] files = SelfSignedCert.ensure(fixtures, hosts, validityYears);
            TransportSecurity.Side s = new TransportSecurity.Side(files[0], files[1], side.trustedCaFile(),
                    side.clientCertAuth(), true);
            return new Resolved(s, new ReloadingKeyManager(files[0], files[1]), true);
        }
        if (!side.empty() && side.autoTls()) {
            LOG.warn("ignoring {} auto TLS since certs given", what);
        }
        if (side.certFile() == null || side.keyFile() == null) {
            return new Resolved(side, null, false);
        }
        return new Resolved(side, new ReloadingKeyManager(side.certFile(), side.keyFile()), false);
    }

    /** The certificates a server accepts from clients: the trusted CA file's, else the JVM's trust store. */
    private static X509ExtendedTrustManager clientVerifier(TransportSecurity.Side side) throws IOException {
        return side.trustedCaFile() != null ? TrustManagers.fromCaFile(side.trustedCaFile())
                : TrustManagers.jdkDefault();
    }

    /**
     * The certificates accepted from servers this member connects to: the trusted CA file's; with an auto-tls
     * certificate, any (etcd's InsecureSkipVerify: the other members' certificates are self-signed too); else the
     * JVM's trust store.
     */
    private static X509ExtendedTrustManager serverVerifier(Resolved r) throws IOException {
        if (r.side().trustedCaFile() != null) {
            return TrustManagers.fromCaFile(r.side().trustedCaFile());
        }
        return r.selfSigned() ? TrustManagers.insecure() : TrustManagers.jdkDefault();
    }

    private static SslContext listenerContext(Resolved r, TransportSecurity ts) throws IOException {
        // grpc's cipher list, not its ALPN (h2 only): the client port applies its own rule to each engine
        SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forServer(r.keyManager()), SslProvider.JDK)
                .applicationProtocolConfig(ApplicationProtocolConfig.DISABLED);
        if (r.side().requiresClientCert()) {
            b.clientAuth(ClientAuth.REQUIRE).trustManager(clientVerifier(r.side()));
        }
        return build(limits(b, ts));
    }

    private static SslContext forwardingContext(Resolved r, TransportSecurity ts) throws IOException {
        SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .trustManager(serverVerifier(r));
        if (r.keyManager() != null) {
            b.keyManager(r.keyManager()); // presented when the other member asks (its --client-cert-auth)
        }
        return build(limits(b, ts));
    }

    private static RaftTls raftTls(Resolved r, TransportSecurity ts) throws IOException {
        boolean mutual = r.side().requiresClientCert();
        X509ExtendedTrustManager trust = TrustManagers.split(serverVerifier(r),
                mutual ? clientVerifier(r.side()) : null);
        return new RaftTls(r.keyManager(), trust, mutual, ts.protocols(), ts.javaCipherSuites());
    }

    private static SslContextBuilder limits(SslContextBuilder b, TransportSecurity ts) {
        b.protocols(ts.protocols());
        List<String> ciphers = ts.javaCipherSuites();
        if (!ciphers.isEmpty()) {
            b.ciphers(ciphers, SupportedCipherSuiteFilter.INSTANCE);
        }
        return b;
    }

    private static SslContext build(SslContextBuilder b) throws IOException {
        try {
            return b.build();
        } catch (javax.net.ssl.SSLException | RuntimeException e) {
            throw new IOException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static void warnIgnored(String what, List<String> urls, TransportSecurity.Side side, String authFlag) {
        for (String u : urls) {
            if (!TransportSecurity.secure(u)) {
                if (!side.empty()) {
                    LOG.warn("scheme is http while key and cert files are present; ignoring key and cert files "
                            + "({}-url {})", what, u);
                }
                if (side.clientCertAuth()) {
                    LOG.warn("scheme is http while {} is enabled; ignoring client cert auth for this URL ({}-url {})",
                            authFlag, what, u);
                }
            }
        }
    }

    /** A TLS setting that cannot be used; the message is etcd's where etcd has one, meant for the operator. */
    public static final class TlsConfigException extends IOException {
        private static final long serialVersionUID = 1L;

        public TlsConfigException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
