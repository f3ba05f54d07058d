package io.metastore.server.grpc;

import io.grpc.Grpc;
import io.grpc.ServerCall;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * The client certificate of a call, for etcd's rule "with --client-cert-auth and no token, the verified client
 * certificate's Common Name is the user" (etcd's AuthInfoFromTLS). A certificate is only there when the TLS
 * handshake verified it: the listener requires and verifies client certificates whenever --client-cert-auth or
 * --trusted-ca-file is set, so no unverified certificate reaches a call.
 */
public final class ClientCertificates {
    private ClientCertificates() {}

    /** The CN of the call's client certificate; empty for plaintext, no certificate, or a certificate without CN. */
    public static Optional<String> commonName(ServerCall<?, ?> call) {
        return commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    }

    /** The CN of the session's peer (leaf) certificate; empty when there is none. */
    public static Optional<String> commonName(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            return Optional.empty();
        }
        return commonName(leaf);
    }

    /** The subject's CN (the last one if several, as Go's pkix.Name keeps). */
    public static Optional<String> commonName(X509Certificate cert) {
        try {
            String cn = null;
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = String.valueOf(rdn.getValue());
                }
            }
            return cn == null || cn.isEmpty() ? Optional.empty() : Optional.of(cn);
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
    }
}
