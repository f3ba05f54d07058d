package io.metastore.auth;

import java.security.Key;
import java.security.NoSuchAlgorithmException;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.InvalidAlgorithmParameterException;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;

/**
 * The JWT signature algorithms of etcd's {@code sign-method} option that MetaStore supports, with the JCA
 * algorithm that computes them. ECDSA signatures are the raw R||S form JWS uses (JCA's P1363 format); PSS
 * uses a salt as long as the hash, as golang-jwt signs (and it verifies any salt length, so etcd accepts ours).
 */
public enum JwtSignMethod {
    RS256("SHA256withRSA", null, 0),
    RS384("SHA384withRSA", null, 0),
    RS512("SHA512withRSA", null, 0),
    PS256("RSASSA-PSS", new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1), 0),
    PS384("RSASSA-PSS", new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 48, 1), 0),
    PS512("RSASSA-PSS", new PSSParameterSpec("SHA-512", "MGF1", MGF1ParameterSpec.SHA512, 64, 1), 0),
    ES256("SHA256withECDSAinP1363Format", null, 256),
    ES384("SHA384withECDSAinP1363Format", null, 384),
    ES512("SHA512withECDSAinP1363Format", null, 521);

    private final String jcaName;
    private final PSSParameterSpec pss;
    private final int curveBits; // ES*: the curve the key must be on (golang-jwt refuses others)

    JwtSignMethod(String jcaName, PSSParameterSpec pss, int curveBits) {
        this.jcaName = jcaName;
        this.pss = pss;
        this.curveBits = curveBits;
    }

    /** The JWS "alg" value. */
    public String alg() {
        return name();
    }

    boolean isEcdsa() {
        return curveBits != 0;
    }

    /** Why {@code key} cannot be used with this method, or null if it can. */
    String keyProblem(Key key) {
        if (isEcdsa()) {
            if (!(key instanceof ECKey ec)) {
                return name() + " needs an EC key, got " + key.getAlgorithm();
            }
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            return bits == curveBits ? null : name() + " needs a P-" + curveBits + " key, got a " + bits + "-bit curve";
        }
        return key instanceof RSAKey ? null : name() + " needs an RSA key, got " + key.getAlgorithm();
    }

    Signature newSignature() {
        try {
            Signature s = Signature.getInstance(jcaName);
            if (pss != null) {
                s.setParameter(pss);
            }
            return s;
        } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
            throw new IllegalStateException("JCA lacks " + jcaName, e);
        }
    }

    /** etcd's option value (case-sensitive, as golang-jwt's GetSigningMethod), or null if not supported here. */
    static JwtSignMethod forName(String name) {
        for (JwtSignMethod m : values()) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        return null;
    }
}
