package io.metastore.server.tls;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** PEM files as etcd reads them: certificate bundles, and private keys in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) form. */
public final class Pem {
    private Pem() {}

    /** Every certificate in the file, in order (a chain or a CA bundle). */
    public static List<X509Certificate> certificates(Path file) throws IOException {
        byte[] bytes = read(file);
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes))) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException("no certificate found in " + file);
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read certificates from " + file + ": " + e.getMessage(), e);
        }
    }

    public static PrivateKey privateKey(Path file) throws IOException {
        byte[] bytes = read(file);
        try (Reader r = new java.io.InputStreamReader(new ByteArrayInputStream(bytes), StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(r)) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return converter.getKeyPair(pair).getPrivate();
                }
                // EC PARAMETERS blocks and the like precede the key: skip them, as Go does
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read the private key in " + file + ": " + e.getMessage(), e);
        }
        throw new IOException("no unencrypted private key found in " + file);
    }

    public static String encode(String type, byte[] der) {
        StringWriter w = new StringWriter();
        w.write("-----BEGIN " + type + "-----\n");
        w.write(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der));
        w.write("\n-----END " + type + "-----\n");
        return w.toString();
    }

    private static byte[] read(Path file) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("open " + file + ": no such file or directory", e); // Go's words
        }
    }
}
