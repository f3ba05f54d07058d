package io.metastore.raft;

import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import java.util.List;
import java.util.Objects;

/**
 * TLS for all Raft traffic of a node: the server port (append-entries, votes, snapshots), the admin and client
 * services sharing it, and the connections this node opens to the other members (including its forwarding client).
 *
 * @param keyManager   this node's certificate chain and private key: presented when serving, and when connecting
 *                     if {@code mutual}
 * @param trustManager decides which certificates of other members are accepted: their server certificates when
 *                     connecting, and their client certificates when {@code mutual}
 * @param mutual       the server requires and verifies a client certificate (and the node presents one)
 * @param protocols    e.g. "TLSv1.2", "TLSv1.3"; empty for the provider's defaults
 * @param cipherSuites IANA names; empty for the provider's defaults
 */
public record RaftTls(KeyManager keyManager, TrustManager trustManager, boolean mutual, List<String> protocols,
                      List<String> cipherSuites) {

    public RaftTls {
        Objects.requireNonNull(keyManager, "keyManager");
        Objects.requireNonNull(trustManager, "trustManager");
        protocols = List.copyOf(protocols);
        cipherSuites = List.copyOf(cipherSuites);
    }

    @Override
    public String toString() {
        return "RaftTls{mutual=" + mutual + (protocols.isEmpty() ? "" : ", protocols=" + protocols)
                + (cipherSuites.isEmpty() ? "" : ", ciphers=" + cipherSuites) + "}";
    }
}
