package io.metastore.server.tls;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.grpc.Status;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * etcd's rule "with --client-cert-auth, a request without a token is the user named by its client certificate's
 * CN" (AuthInfoFromTLS): the certificate replaces the password, the user's roles still decide.
 */
class TlsCertificateUserTest {
    @TempDir
    static Path certDir;
    static TestCerts ca;

    @BeforeAll
    static void certificates() {
        ca = new TestCerts(certDir, "cn-users");
    }

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void theCertificatesCommonNameIsTheUserWhenNoTokenIsSent() throws Exception {
        TestCerts.Pair member = ca.server("member");
        TestCerts.Pair alice = ca.client("alice");
        TestCerts.Pair bob = ca.client("bob"); // a certificate for a user that does not exist
        try (TestMember m = TlsClientTest.httpsMember(b -> {
            b.tls.certFile = member.cert();
            b.tls.keyFile = member.key();
            b.tls.trustedCaFile = ca.caFile();
            b.tls.clientCertAuth = true;
        }); Client asAlice = ca.jetcd(m.endpoint(), alice); Client asBob = ca.jetcd(m.endpoint(), bob)) {
            var auth = asAlice.getAuthClient();
            auth.userAdd(bs("root"), bs("rootpw")).get(10, TimeUnit.SECONDS);
            auth.userGrantRole(bs("root"), bs("root")).get(10, TimeUnit.SECONDS);
            auth.roleAdd(bs("rw-a")).get(10, TimeUnit.SECONDS);
            auth.roleGrantPermission(bs("rw-a"), bs("a/"), bs("a0"), Permission.Type.READWRITE)
                    .get(10, TimeUnit.SECONDS);
            auth.userAdd(bs("alice"), bs("alicepw")).get(10, TimeUnit.SECONDS);
            auth.userGrantRole(bs("alice"), bs("rw-a")).get(10, TimeUnit.SECONDS);
            auth.authEnable().get(10, TimeUnit.SECONDS);

            asAlice.getKVClient().put(bs("a/1"), bs("x")).get(10, TimeUnit.SECONDS);
            assertDenied(() -> asAlice.getKVClient().put(bs("b/1"), bs("x")).get(10, TimeUnit.SECONDS));
            assertDenied(() -> asBob.getKVClient().put(bs("a/2"), bs("x")).get(10, TimeUnit.SECONDS));

            // a token wins over the certificate: alice's certificate, root's password
            try (Client rootWithAliceCert = Client.builder().endpoints("https://" + m.endpoint())
                    .connectTimeout(Duration.ofSeconds(5))
                    .sslContext(TestCerts.nettyClientContext(ca.caFile(), alice))
                    .user(bs("root")).password(bs("rootpw")).build()) {
                rootWithAliceCert.getKVClient().put(bs("b/1"), bs("x")).get(10, TimeUnit.SECONDS);
            }
            assertEquals(1, asAlice.getKVClient().get(bs("a/1")).get(10, TimeUnit.SECONDS).getCount());
        }
    }

    private static void assertDenied(org.junit.jupiter.api.function.Executable call) {
        ExecutionException e = assertThrows(ExecutionException.class, call);
        Status s = Status.fromThrowable(e.getCause());
        assertEquals(Status.Code.PERMISSION_DENIED, s.getCode(), e.toString());
        assertEquals("etcdserver: permission denied", s.getDescription());
    }
}
