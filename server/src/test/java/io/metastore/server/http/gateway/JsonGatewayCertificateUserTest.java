package io.metastore.server.http.gateway;

import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import io.metastore.server.tls.TestCerts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSession;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.metastore.server.http.gateway.GatewayCalls.b64;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * etcd's --client-cert-auth on the gateway path: a request without a token over TLS is the user its client
 * certificate names, as on a gRPC connection (the route relays the request's TLS session into its call).
 */
class JsonGatewayCertificateUserTest {
    @TempDir
    static Path certDir;

    @Test
    void theCertificatesCommonNameIsTheUserWhenNoTokenIsSent() throws Exception {
        TestCerts ca = new TestCerts(certDir, "gw-cn-users");
        TestCerts.Pair member = ca.server("member");
        SSLSession alice = new PeerCertificateSession(ca.client("alice").certificate());
        SSLSession mallory = new PeerCertificateSession(ca.client("mallory").certificate()); // no such user
        try (TestMember m = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> {
            String url = "https://127.0.0.1:" + port();
            b.listenClientUrls = List.of(url);
            b.advertiseClientUrls = List.of(url);
            b.tls.certFile = member.cert();
            b.tls.keyFile = member.key();
            b.tls.trustedCaFile = ca.caFile();
            b.tls.clientCertAuth = true;
        })) {
            m.awaitLeader();
            GatewayCalls gw = new GatewayCalls(m.member().jsonGateway());
            for (String[] call : new String[][] {
                    {"/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"rootpw\"}"},
                    {"/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}"},
                    {"/v3/auth/role/add", "{\"name\":\"rw-a\"}"},
                    {"/v3/auth/role/grant", "{\"name\":\"rw-a\",\"perm\":{\"permType\":\"READWRITE\",\"key\":\""
                            + b64("a/") + "\",\"range_end\":\"" + b64("a0") + "\"}}"},
                    {"/v3/auth/user/add", "{\"name\":\"alice\",\"password\":\"alicepw\"}"},
                    {"/v3/auth/user/grant", "{\"user\":\"alice\",\"role\":\"rw-a\"}"},
                    {"/v3/auth/enable", "{}"}}) {
                gw.post(call[0], call[1]);
            }
            String putA = "{\"key\":\"" + b64("a/1") + "\",\"value\":\"" + b64("x") + "\"}";
            String putB = "{\"key\":\"" + b64("b/1") + "\",\"value\":\"" + b64("x") + "\"}";
            assertEquals(200, gw.send("POST", "/v3/kv/put", putA, Map.of(), alice).awaitEnd().status());
            CollectingResponder outside = gw.send("POST", "/v3/kv/put", putB, Map.of(), alice).awaitEnd();
            assertEquals(403, outside.status(), outside.bodyText());
            CollectingResponder unknown = gw.send("POST", "/v3/kv/put", putA, Map.of(), mallory).awaitEnd();
            assertEquals(403, unknown.status(), unknown.bodyText());
            CollectingResponder plain = gw.send("POST", "/v3/kv/put", putA, Map.of(), null).awaitEnd();
            assertEquals(400, plain.status(), plain.bodyText());
            assertEquals("etcdserver: user name is empty", plain.json().get("message").getAsString());

            // a token wins over the certificate: alice's certificate, root's password
            String root = gw.post("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"rootpw\"}")
                    .get("token").getAsString();
            assertEquals(200, gw.send("POST", "/v3/kv/put", putB, Map.of("Authorization", root), alice).awaitEnd()
                    .status());
            // (not Lock/Election: those services pass only a token on to the calls they make for the caller, so a
            // certificate user is "user name is empty" there, on gRPC as here; a Lock service matter)
        }
    }

    private static int port() {
        try {
            return TestMember.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
