package io.metastore.server.http.gateway;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import java.security.Principal;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

/**
 * Test scaffolding for the transport's side: the TLS session of a connection whose handshake verified this
 * client certificate, as {@code HttpRequest.sslSession()} would carry it. Only what auth reads is answered.
 */
final class PeerCertificateSession implements SSLSession {
    private final X509Certificate client;

    PeerCertificateSession(X509Certificate client) {
        this.client = client;
    }

    @Override
    public Certificate[] getPeerCertificates() throws SSLPeerUnverifiedException {
        return new Certificate[] {client};
    }

    @Override
    public Principal getPeerPrincipal() {
        return client.getSubjectX500Principal();
    }

    @Override
    public byte[] getId() {
        return new byte[0];
    }

    @Override
    public SSLSessionContext getSessionContext() {
        return null;
    }

    @Override
    public long getCreationTime() {
        return 0;
    }

    @Override
    public long getLastAccessedTime() {
        return 0;
    }

    @Override
    public void invalidate() {
    }

    @Override
    public boolean isValid() {
        return true;
    }

    @Override
    public void putValue(String name, Object value) {
    }

    @Override
    public Object getValue(String name) {
        return null;
    }

    @Override
    public void removeValue(String name) {
    }

    @Override
    public String[] getValueNames() {
        return new String[0];
    }

    @Override
    public Certificate[] getLocalCertificates() {
        return null;
    }

    @Override
    public Principal getLocalPrincipal() {
        return null;
    }

    @Override
    public String getCipherSuite() {
        return "TLS_AES_128_GCM_SHA256";
    }

    @Override
    public String getProtocol() {
        return "TLSv1.3";
    }

    @Override
    public String getPeerHost() {
        return "127.0.0.1";
    }

    @Override
    public int getPeerPort() {
        return 40000;
    }

    @Override
    public int getPacketBufferSize() {
        return 16709;
    }

    @Override
    public int getApplicationBufferSize() {
        return 16384;
    }
}
