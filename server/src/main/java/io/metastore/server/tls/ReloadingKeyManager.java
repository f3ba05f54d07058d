package io.metastore.server.tls;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One certificate chain and private key read from PEM files, re-read when either file changes (size or
 * modification time, checked at most once a second), so a renewed certificate is used on the next handshake without
 * a restart, as etcd re-reads its files per connection. A file that is half-written or broken at that moment is
 * logged and the previous pair kept. Aliases name a generation, so a handshake sees one consistent pair.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
    private static final Logger LOG = LoggerFactory.getLogger(ReloadingKeyManager.class);
    private static final long CHECK_INTERVAL_NANOS = 1_000_000_000L;

    private record Material(String alias, X509Certificate[] chain, PrivateKey key, String stamp) {}

    private final Path certFile;
    private final Path keyFile;
    private final Map<String, Material> byAlias = new ConcurrentHashMap<>();
    private volatile Material current;
    private volatile long lastCheck;
    private int generation;

    /** Reads both files now: a missing or unreadable file fails here, before anything is served. */
    public ReloadingKeyManager(Path certFile, Path keyFile) throws IOException {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.current = load(stamp());
        byAlias.put(current.alias(), current);
        this.lastCheck = System.nanoTime();
    }

    /** The chain as last loaded. */
    public X509Certificate[] chain() {
        return refresh().chain().clone();
    }

    private synchronized Material load(String stamp) throws IOException {
        List<X509Certificate> chain = Pem.certificates(certFile);
        PrivateKey key = Pem.privateKey(keyFile);
        if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
            throw new IOException("tls: private key type does not match public key type (" + certFile + ", "
                    + keyFile + ")");
        }
        return new Material("gen" + (generation++), chain.toArray(X509Certificate[]::new), key, stamp);
    }

    private String stamp() throws IOException {
        return stampOf(certFile) + "/" + stampOf(keyFile);
    }

    private static String stampOf(Path p) throws IOException {
        try {
            FileTime t = Files.getLastModifiedTime(p);
            return t.toMillis() + ":" + Files.size(p);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("open " + p + ": no such file or directory", e); // Go's words, as etcd prints
        }
    }

    private Material refresh() {
        long now = System.nanoTime();
        if (now - lastCheck < CHECK_INTERVAL_NANOS) {
            return current;
        }
        synchronized (this) {
            if (now - lastCheck < CHECK_INTERVAL_NANOS) {
                return current;
            }
            lastCheck = now;
            try {
                String stamp = stamp();
                if (!stamp.equals(current.stamp())) {
                    Material m = load(stamp);
                    Material old = current;
                    byAlias.put(m.alias(), m);
                    current = m;
                    byAlias.keySet().removeIf(a -> !a.equals(m.alias()) && !a.equals(old.alias()));
                    LOG.info("reloaded TLS certificate {} (subject {})", certFile,
                            m.chain()[0].getSubjectX500Principal().getName());
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("cannot reload TLS certificate {} / key {}; keeping the previous one: {}", certFile, keyFile,
                        e.getMessage());
            }
            return current;
        }
    }

    private String aliasFor(String keyType) {
        Material m = refresh();
        // key types look like "EC", "RSA", "RSASSA-PSS" or, in TLS 1.2 names, "EC_RSA" (EC key, RSA-signed cert)
        String alg = keyType == null ? null : keyType.split("_")[0];
        String have = m.key().getAlgorithm();
        if (alg == null || alg.equalsIgnoreCase(have) || (alg.equals("RSASSA-PSS") && have.equals("RSA"))) {
            return m.alias();
        }
        return null;
    }

    private String anyAlias(String[] keyTypes) {
        if (keyTypes == null) {
            return aliasFor(null);
        }
        for (String t : keyTypes) {
            String a = aliasFor(t);
            if (a != null) {
                return a;
            }
        }
        return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        String a = aliasFor(keyType);
        return a == null ? null : new String[] {a};
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return anyAlias(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return anyAlias(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        String a = aliasFor(keyType);
        return a == null ? null : new String[] {a};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Material m = alias == null ? null : byAlias.get(alias);
        return m == null ? null : m.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Material m = alias == null ? null : byAlias.get(alias);
        return m == null ? null : m.key();
    }
}
