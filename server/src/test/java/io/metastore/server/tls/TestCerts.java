package io.metastore.server.tls;

import io.etcd.jetcd.Client;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/**
 * A CA and certificates it signs, generated at run time with BouncyCastle into a directory: what an operator
 * would make with cfssl or openssl for etcd.
 */
public final class TestCerts {
    /** A certificate file and its key file. */
    public record Pair(Path cert, Path key, X509Certificate certificate) {}

    private final Path dir;
    private final String name;
    private final KeyPair caKey;
    private final X509Certificate ca;
    private final Path caFile;

    /** A new CA called {@code name}; its certificate goes to {@code dir/<name>-ca.pem}. */
    public TestCerts(Path dir, String name) {
        try {
            this.dir = dir;
            this.name = name;
            this.caKey = newKey();
            X500Name subject = new X500Name("CN=" + name + " test CA,O=metastore");
            X509v3CertificateBuilder b = builder(subject, subject, caKey);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            this.ca = sign(b, caKey);
            this.caFile = dir.resolve(name + "-ca.pem");
            Files.writeString(caFile, Pem.encode("CERTIFICATE", ca.getEncoded()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public Path caFile() {
        return caFile;
    }

    /** Server (and client) certificate for 127.0.0.1 and localhost, as a member uses for its URLs. */
    public Pair server(String cn) {
        return issue(cn, cn + "-server", true);
    }

    /** Client-only certificate, e.g. CN=alice for a user. */
    public Pair client(String cn) {
        return issue(cn, cn + "-client", false);
    }

    /** Re-issues into the same files (certificate renewal), returning the new certificate. */
    public Pair issue(String cn, String fileStem, boolean server) {
        try {
            KeyPair key = newKey();
            X509v3CertificateBuilder b = builder(X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()),
                    new X500Name("CN=" + cn + ",O=metastore"), key);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature
                    | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(server
                    ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}
                    : new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}));
            if (server) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                        new GeneralName(GeneralName.dNSName, "localhost")}));
            }
            X509Certificate cert = sign(b, caKey);
            Path certFile = dir.resolve(name + "-" + fileStem + ".pem");
            Path keyFile = dir.resolve(name + "-" + fileStem + "-key.pem");
            // write to temp files and move, so a reader never sees half a file
            Path tmpKey = Files.createTempFile(dir, "key", ".tmp");
            Files.writeString(tmpKey, Pem.encode("PRIVATE KEY", key.getPrivate().getEncoded()));
            Path tmpCert = Files.createTempFile(dir, "cert", ".tmp");
            Files.writeString(tmpCert, Pem.encode("CERTIFICATE", cert.getEncoded()));
            Files.move(tmpKey, keyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmpCert, certFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return new Pair(certFile, keyFile, cert);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** jetcd over TLS trusting this CA, presenting {@code clientCert} if not null. */
    public Client jetcd(String endpoint, Pair clientCert) {
        return Client.builder().endpoints("https://" + endpoint).connectTimeout(Duration.ofSeconds(5))
                .sslContext(nettyClientContext(caFile, clientCert)).build();
    }

    /** An (unshaded) Netty client context for jetcd: trusting {@code trust}, presenting {@code clientCert}. */
    public static SslContext nettyClientContext(Path trust, Pair clientCert) {
        try {
            SslContextBuilder b = io.grpc.netty.GrpcSslContexts.forClient().trustManager(trust.toFile());
            if (clientCert != null) {
                b.keyManager(clientCert.cert().toFile(), clientCert.key().toFile());
            }
            return b.build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static KeyPair newKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair key) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, new SecureRandom()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(2))), subject,
                key.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }
}
