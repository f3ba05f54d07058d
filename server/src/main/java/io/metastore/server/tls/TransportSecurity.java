package io.metastore.server.tls;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * etcd's transport security flags: one {@link Side} for the client URLs (--cert-file, --key-file,
 * --trusted-ca-file, --client-cert-auth, --auto-tls) and one for the peer URLs (the --peer-* equivalents), plus
 * the settings both share (--tls-min-version, --tls-max-version, --cipher-suites, --self-signed-cert-validity).
 */
public record TransportSecurity(Side client, Side peer, String minVersion, String maxVersion,
                                List<String> cipherSuites, int selfSignedCertValidityYears) {

    /** No TLS anywhere: etcd's defaults. */
    public static final TransportSecurity NONE = new Builder().build();

    /**
     * One side's TLSInfo. As in etcd, a trusted CA file alone already makes the server require and verify client
     * certificates; {@code clientCertAuth} does too (against the CA file, or the JVM's trust store without one) and,
     * for the client side, is also what lets auth take a client certificate's CN as the user.
     */
    public record Side(Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth, boolean autoTls) {
        public static final Side NONE = new Side(null, null, null, false, false);

        /** etcd's TLSInfo.Empty(): neither a certificate nor a key file. */
        public boolean empty() {
            return certFile == null && keyFile == null;
        }

        /** etcd's tls.RequireAndVerifyClientCert condition. */
        public boolean requiresClientCert() {
            return trustedCaFile != null || clientCertAuth;
        }
    }

    public TransportSecurity {
        cipherSuites = List.copyOf(cipherSuites);
    }

    /** Go's crypto/tls names etcd accepts for --cipher-suites (Java uses the same IANA names, save two aliases). */
    private static final List<String> GO_CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
            "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256");
    private static final Map<String, String> GO_ALIASES = Map.of(
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    /** Go always enables every TLS 1.3 suite, whatever --cipher-suites says; Java would disable them. */
    private static final List<String> TLS13_SUITES = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");

    /** Java protocol names for the [min, max] range (max "" lets the JVM go up to its newest, as Go does). */
    public List<String> protocols() {
        List<String> out = new ArrayList<>(); // TLS 1.2 is etcd's floor: 1.0 and 1.1 are never offered
        if (!"TLS1.3".equals(minVersion)) {
            out.add("TLSv1.2");
        }
        if (!"TLS1.2".equals(maxVersion)) {
            out.add("TLSv1.3");
        }
        return out;
    }

    /** Java names for --cipher-suites, TLS 1.3 suites added as Go has them; empty for the defaults. */
    public List<String> javaCipherSuites() {
        if (cipherSuites.isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String s : cipherSuites) {
            String j = GO_ALIASES.getOrDefault(s, s);
            if (!out.contains(j)) {
                out.add(j);
            }
        }
        for (String s : TLS13_SUITES) {
            if (!out.contains(s)) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The combinations etcd refuses, with its messages (embed.Config.Validate, configurePeerListeners,
     * configureClientListeners, TLSInfo.baseConfig), in the order etcd meets them.
     *
     * @throws IllegalArgumentException the first problem
     */
    public void validate(List<String> listenClientUrls, List<String> listenPeerUrls) {
        int min = version(minVersion);
        int max = version(maxVersion);
        if (max != 0 && min > max) {
            throw new IllegalArgumentException("min version (" + minVersion + ") is greater than max version ("
                    + maxVersion + ")");
        }
        if (min == 13 && !cipherSuites.isEmpty()) {
            throw new IllegalArgumentException("cipher suites cannot be configured when only TLS1.3 is enabled");
        }
        for (String s : cipherSuites) {
            if (!GO_CIPHER_SUITES.contains(s) && !GO_ALIASES.containsKey(s)) {
                throw new IllegalArgumentException("unexpected TLS cipher suite \"" + s + "\"");
            }
        }
        if (selfSignedCertValidityYears <= 0 && (client.autoTls() || peer.autoTls())) {
            throw new IllegalArgumentException("selfSignedCertValidity is invalid,it should be greater than 0");
        }
        boolean peerTls = listenPeerUrls.stream().anyMatch(TransportSecurity::secure);
        if (peerTls) {
            for (String u : listenPeerUrls) {
                if (secure(u) && peer.empty() && !peer.autoTls()) {
                    throw new IllegalArgumentException("cannot listen on TLS for " + URI.create(u).getAuthority()
                            + ": KeyFile and CertFile are not presented");
                }
            }
            checkPair(peer);
        }
        boolean clientTls = listenClientUrls.stream().anyMatch(TransportSecurity::secure);
        for (String u : listenClientUrls) {
            if (secure(u) && client.empty() && !client.autoTls()) {
                throw new IllegalArgumentException("TLS key/cert (--cert-file, --key-file) must be provided for "
                        + "client url " + u + " with HTTPS scheme");
            }
        }
        if (clientTls) {
            checkPair(client);
        }
    }

    /**
     * etcd serves https:// --listen-metrics-urls with the client certificate; without one its listener refuses.
     *
     * @throws IllegalArgumentException the first problem, in etcd's words
     */
    public void validateMetrics(List<String> listenMetricsUrls) {
        for (String u : listenMetricsUrls) {
            if (secure(u) && client.empty() && !client.autoTls()) {
                throw new IllegalArgumentException("cannot listen on TLS for " + URI.create(u).getAuthority()
                        + ": KeyFile and CertFile are not presented");
            }
        }
    }

    private static void checkPair(Side s) {
        if (!s.empty() && (s.certFile() == null || s.keyFile() == null)) {
            throw new IllegalArgumentException("KeyFile and CertFile must both be present[key: "
                    + (s.keyFile() == null ? "" : s.keyFile()) + ", cert: "
                    + (s.certFile() == null ? "" : s.certFile()) + "]");
        }
    }

    /** etcd's tlsutil.GetTLSVersion: "" (let the library decide), TLS1.2 or TLS1.3. */
    static int version(String v) {
        return switch (v) {
            case "" -> 0;
            case "TLS1.2" -> 12;
            case "TLS1.3" -> 13;
            default -> throw new IllegalArgumentException("unexpected TLS version \"" + v
                    + "\" (must be one of: TLS1.2, TLS1.3)");
        };
    }

    public static boolean secure(String url) {
        return url.startsWith("https://");
    }

    /** Mutable companion whose public fields the flag parser sets by name. */
    public static final class Builder {
        public Path certFile;
        public Path keyFile;
        public Path trustedCaFile;
        public boolean clientCertAuth;
        public boolean autoTls;
        public Path peerCertFile;
        public Path peerKeyFile;
        public Path peerTrustedCaFile;
        public boolean peerClientCertAuth;
        public boolean peerAutoTls;
        public String minVersion = "TLS1.2";
        public String maxVersion = "";
        public List<String> cipherSuites = List.of();
        public int selfSignedCertValidityYears = 1;

        public Builder() {}

        public Builder(TransportSecurity t) {
            certFile = t.client.certFile; keyFile = t.client.keyFile; trustedCaFile = t.client.trustedCaFile;
            clientCertAuth = t.client.clientCertAuth; autoTls = t.client.autoTls;
            peerCertFile = t.peer.certFile; peerKeyFile = t.peer.keyFile; peerTrustedCaFile = t.peer.trustedCaFile;
            peerClientCertAuth = t.peer.clientCertAuth; peerAutoTls = t.peer.autoTls;
            minVersion = t.minVersion; maxVersion = t.maxVersion; cipherSuites = t.cipherSuites;
            selfSignedCertValidityYears = t.selfSignedCertValidityYears;
        }

        public TransportSecurity build() {
            return new TransportSecurity(new Side(certFile, keyFile, trustedCaFile, clientCertAuth, autoTls),
                    new Side(peerCertFile, peerKeyFile, peerTrustedCaFile, peerClientCertAuth, peerAutoTls),
                    minVersion, maxVersion, cipherSuites, selfSignedCertValidityYears);
        }
    }
}
