package io.metastore.server.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/** The trust decisions etcd's flags describe, as JDK trust managers. */
public final class TrustManagers {
    private TrustManagers() {}

    /** Certificates chaining to one of the CAs in a PEM bundle (etcd's --trusted-ca-file). */
    public static X509ExtendedTrustManager fromCaFile(Path caFile) throws IOException {
        List<X509Certificate> cas = Pem.certificates(caFile);
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (X509Certificate c : cas) {
                ks.setCertificateEntry("ca" + (i++), c);
            }
            return from(ks);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use " + caFile + " as trusted CAs: " + e.getMessage(), e);
        }
    }

    /** The JVM's default trust store (Go's system roots, when no CA file is given). */
    public static X509ExtendedTrustManager jdkDefault() {
        try {
            return from(null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no default trust manager", e);
        }
    }

    private static X509ExtendedTrustManager from(KeyStore ks) throws GeneralSecurityException {
        TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        f.init(ks);
        for (TrustManager tm : f.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X509 trust manager");
    }

    /**
     * Accepts any certificate and skips host name checks: Go's InsecureSkipVerify, which etcd sets when it connects
     * with an auto-tls certificate (self-signed certificates of other members cannot be verified).
     */
    public static X509ExtendedTrustManager insecure() {
        return new Split(null, null);
    }

    /**
     * Verifies servers this side connects to with {@code servers} and clients connecting to it with {@code clients};
     * null accepts anything. Ratis takes one trust manager for both directions.
     */
    public static X509ExtendedTrustManager split(X509ExtendedTrustManager servers, X509ExtendedTrustManager clients) {
        return new Split(servers, clients);
    }

    private static final class Split extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager servers;
        private final X509ExtendedTrustManager clients;

        Split(X509ExtendedTrustManager servers, X509ExtendedTrustManager clients) {
            this.servers = servers;
            this.clients = clients;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            if (clients != null) {
                clients.checkClientTrusted(chain, authType, socket);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            if (servers != null) {
                servers.checkServerTrusted(chain, authType, socket);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            if (clients != null) {
                clients.checkClientTrusted(chain, authType, engine);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            if (servers != null) {
                servers.checkServerTrusted(chain, authType, engine);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (clients != null) {
                clients.checkClientTrusted(chain, authType);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (servers != null) {
                servers.checkServerTrusted(chain, authType);
            }
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            // the CAs a server names when asking for a client certificate
            return clients != null ? clients.getAcceptedIssuers() : new X509Certificate[0];
        }
    }
}
