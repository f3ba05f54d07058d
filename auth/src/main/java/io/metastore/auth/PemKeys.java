package io.metastore.auth;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;

/**
 * Reads the PEM key files of etcd's {@code pub-key}/{@code priv-key} options with BouncyCastle, accepting what
 * golang-jwt accepts: private keys as PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY", optionally after an
 * "EC PARAMETERS" block) or PKCS#8 ("PRIVATE KEY"); public keys as PKIX ("PUBLIC KEY"), PKCS#1
 * ("RSA PUBLIC KEY") or inside a certificate. Encrypted keys are refused. The JCA keys come from the JDK's
 * own providers (BouncyCastle is not registered as a provider).
 */
final class PemKeys {
    private static final JcaPEMKeyConverter CONVERTER = new JcaPEMKeyConverter();

    static PrivateKey privateKey(byte[] pem) {
        Object o = firstKeyObject(pem);
        try {
            if (o instanceof PEMKeyPair kp) { // SEC1 keys may omit the public point: take only the private part
                return CONVERTER.getPrivateKey(kp.getPrivateKeyInfo());
            }
            if (o instanceof PrivateKeyInfo info) {
                return CONVERTER.getPrivateKey(info);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the private key: " + e.getMessage(), e);
        }
        if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
            throw new IllegalArgumentException("encrypted private keys are not supported");
        }
        throw new IllegalArgumentException("no private key found in PEM data" + found(o));
    }

    static PublicKey publicKey(byte[] pem) {
        Object o = firstKeyObject(pem);
        try {
            if (o instanceof SubjectPublicKeyInfo info) {
                return CONVERTER.getPublicKey(info);
            }
            if (o instanceof X509CertificateHolder cert) {
                return CONVERTER.getPublicKey(cert.getSubjectPublicKeyInfo());
            }
            if (o instanceof PEMKeyPair kp) { // a private key file given as pub-key still names the public key
                return kp.getPublicKeyInfo() != null ? CONVERTER.getPublicKey(kp.getPublicKeyInfo())
                        : derivePublic(CONVERTER.getPrivateKey(kp.getPrivateKeyInfo()));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the public key: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("no public key found in PEM data" + found(o));
    }

    /** The public half of an RSA (CRT form, as every PEM private key is) or EC private key. */
    static PublicKey derivePublic(PrivateKey key) {
        try {
            if (key instanceof RSAPrivateCrtKey rsa) {
                return KeyFactory.getInstance("RSA")
                        .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
            }
            if (key instanceof ECPrivateKey ec) {
                ECParameterSpec params = ec.getParams();
                org.bouncycastle.math.ec.ECPoint q =
                        EC5Util.convertSpec(params).getG().multiply(ec.getS()).normalize();
                BigInteger x = q.getAffineXCoord().toBigInteger();
                BigInteger y = q.getAffineYCoord().toBigInteger();
                return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), params));
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot derive the public key: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("unsupported private key type " + key.getAlgorithm());
    }

    private static Object firstKeyObject(byte[] pem) {
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (!(o instanceof org.bouncycastle.asn1.ASN1ObjectIdentifier)) { // skip "EC PARAMETERS"
                    return o;
                }
            }
            throw new IllegalArgumentException("no PEM block found");
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed PEM data: " + e.getMessage(), e);
        }
    }

    private static String found(Object o) {
        return " (found " + o.getClass().getSimpleName() + ")";
    }

    private PemKeys() {
    }
}
