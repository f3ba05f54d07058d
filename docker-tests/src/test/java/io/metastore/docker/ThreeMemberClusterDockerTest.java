package io.metastore.docker;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.Network;
import org.testcontainers.lifecycle.Startables;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server image as a real 3-member cluster: containers on one Docker network finding each other by name, as
 * docker-compose.yml and etcd's container guide run them. Checks what only the image can get wrong: the flags and
 * addresses work across containers, the data volume survives a container restart, and `docker stop`'s SIGTERM
 * reaches the JVM (exit code 0 well within the grace period).
 */
class ThreeMemberClusterDockerTest {
    private static final long OP_TIMEOUT_S = 20;

    @BeforeAll
    static void imageIsLocal() {
        ImageMember.requireLocalImage();
    }

    @Test
    void membersReplicateKeepWritingWithOneStoppedAndItCatchesUpAfterRestart() throws Exception {
        try (Network network = Network.newNetwork()) {
            List<ImageMember> members = ImageMember.cluster(network, 3, "tc-" + UUID.randomUUID());
            try {
                // together, as a new cluster starts: no member is ready before a leader is elected
                Startables.deepStart(members.stream().map(ImageMember::container)).get(4, TimeUnit.MINUTES);
                ImageMember m1 = members.get(0);
                ImageMember m2 = members.get(1);
                ImageMember m3 = members.get(2);

                try (Client c1 = client(m1); Client c2 = client(m2)) {
                    List<Member> list = c1.getClusterClient().listMember().get(OP_TIMEOUT_S, TimeUnit.SECONDS).getMembers();
                    assertEquals(Set.of("metastore1", "metastore2", "metastore3"),
                            list.stream().map(Member::getName).collect(Collectors.toSet()));
                    assertTrue(list.stream().allMatch(m -> m.getPeerURIs()
                                    .equals(List.of(URI.create("http://" + m.getName() + ":2380")))),
                            "peer URLs are the advertised container names: " + list);

                    put(c1, "greeting", "hello");
                    assertEquals("hello", get(c2, "greeting", false), "written via metastore1, read via metastore2");
                    try (Client c3 = client(m3)) {
                        assertEquals("hello", get(c3, "greeting", false), "and via metastore3");
                    }

                    long t0 = System.nanoTime();
                    long exitCode = m3.stopGracefully(Duration.ofSeconds(30));
                    Duration took = Duration.ofNanos(System.nanoTime() - t0);
                    assertEquals(0, exitCode, "SIGTERM reaches the JVM and Main exits 0");
                    assertTrue(took.compareTo(Duration.ofSeconds(20)) < 0, "stopped by SIGTERM, not killed at the "
                            + "end of the grace period: " + took);

                    for (int i = 0; i < 3; i++) { // a majority is left: writes through either survivor commit
                        put(i % 2 == 0 ? c1 : c2, "while-down/" + i, "w" + i);
                    }
                    assertEquals("w2", get(c2, "while-down/2", false));
                }

                m3.startAgain();
                try (Client c3 = client(m3)) {
                    // serializable: answered from metastore3's own applied state, so it proves the catch-up
                    String caughtUp = pollSerializable(c3, "while-down/2", "w2", Duration.ofMinutes(2));
                    assertEquals("w2", caughtUp, "metastore3 caught up with the writes it missed");
                    for (int i = 0; i < 2; i++) {
                        assertEquals("w" + i, get(c3, "while-down/" + i, true));
                    }
                    put(c3, "after-restart", "back"); // and it takes writes again (forwarded to the leader)
                    try (Client c1 = client(m1)) {
                        assertEquals("back", get(c1, "after-restart", false));
                        assertEquals(3, c1.getClusterClient().listMember().get(OP_TIMEOUT_S, TimeUnit.SECONDS)
                                .getMembers().size());
                    }
                }
            } finally {
                members.forEach(ImageMember::close);
            }
        }
    }

    private static Client client(ImageMember m) {
        return Client.builder().endpoints(m.endpoint()).build();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static void put(Client c, String key, String value) throws Exception {
        c.getKVClient().put(bytes(key), bytes(value)).get(OP_TIMEOUT_S, TimeUnit.SECONDS);
    }

    /** The key's value, or null when absent. */
    private static String get(Client c, String key, boolean serializable) throws Exception {
        GetResponse r = c.getKVClient().get(bytes(key), GetOption.builder().withSerializable(serializable).build())
                .get(OP_TIMEOUT_S, TimeUnit.SECONDS);
        return r.getKvs().isEmpty() ? null : r.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
    }

    /** Serializable reads until the key has {@code want} or {@code limit} passes; returns the last value seen. */
    private static String pollSerializable(Client c, String key, String want, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        String seen = null;
        while (System.nanoTime() < deadline) {
            try {
                seen = get(c, key, true);
                if (want.equals(seen)) {
                    return seen;
                }
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                seen = "error: " + e.getMessage(); // still starting: the port refuses or the call times out
            }
            Thread.sleep(500);
        }
        return seen;
    }
}
