package io.metastore.server.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * etcd's --auto-tls/--peer-auto-tls: a self-signed ECDSA certificate (Organization "etcd", server auth, valid
 * --self-signed-cert-validity years, SANs = the hosts of the listen URLs) in {@code cert.pem}/{@code key.pem} of
 * {@code <data-dir>/fixtures/client} or {@code .../peer}. Files already there are reused, whatever they contain.
 */
public final class SelfSignedCert {
    private static final Logger LOG = LoggerFactory.getLogger(SelfSignedCert.class);

    private SelfSignedCert() {}

    /** The cert.pem and key.pem paths in {@code dir}, generated first unless both exist. */
    public static Path[] ensure(Path dir, List<String> hosts, int validityYears) throws IOException {
        if (validityYears <= 0) {
            throw new IOException("selfSignedCertValidity is invalid,it should be greater than 0");
        }
        Files.createDirectories(dir);
        Path cert = dir.resolve("cert.pem").toAbsolutePath();
        Path key = dir.resolve("key.pem").toAbsolutePath();
        if (Files.exists(cert) && Files.exists(key)) {
            return new Path[] {cert, key};
        }
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = g.generateKeyPair();
            Instant now = Instant.now();
            Instant notAfter = now.plus(Duration.ofDays(365L * validityYears));
            X500Name subject = new X500Name("O=etcd");
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject,
                    new BigInteger(128, new SecureRandom()), Date.from(now), Date.from(notAfter), subject,
                    pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyEncipherment
                    | KeyUsage.digitalSignature | KeyUsage.cRLSign | KeyUsage.keyCertSign));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth,
                            KeyPurposeId.id_kp_clientAuth}));
            List<GeneralName> names = new ArrayList<>();
            for (String h : hosts) {
                names.add(isIpLiteral(h) ? new GeneralName(GeneralName.iPAddress, h)
                        : new GeneralName(GeneralName.dNSName, h));
            }
            if (!names.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            byte[] der = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())).getEncoded();
            LOG.warn("automatically generated a self-signed certificate in {} (valid until {})", dir, notAfter);
            writeKey(key, Pem.encode("PRIVATE KEY", pair.getPrivate().getEncoded()));
            Files.writeString(cert, Pem.encode("CERTIFICATE", der), StandardCharsets.US_ASCII);
            return new Path[] {cert, key};
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IOException("cannot generate a self-signed certificate in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void writeKey(Path key, String pem) throws IOException {
        Files.deleteIfExists(key);
        try {
            Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(key);
        }
        Files.writeString(key, pem, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
    }

    static boolean isIpLiteral(String host) {
        return host.matches("[0-9.]+") || host.contains(":");
    }
}
