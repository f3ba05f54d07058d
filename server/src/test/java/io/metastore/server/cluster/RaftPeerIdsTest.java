package io.metastore.server.cluster;

import org.junit.jupiter.api.Test;

import javax.management.ObjectName;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class RaftPeerIdsTest {
    private static final String ODD_NAME = "a:b,c=d\"e*f?g%h@i";

    @Test
    void idCarriesNameAndAddressAndIsAValidJmxValue() {
        String id = RaftPeerIds.of("infra1", "http://10.0.0.1:2380");
        assertEquals("infra1@10.0.0.1_2380", id);
        assertEquals("infra1", RaftPeerIds.nameOf(id));
        // Ratis registers its server bean as Ratis:service=RaftServer,group=...,id=<peer id>
        for (String each : new String[] {id, RaftPeerIds.of(ODD_NAME, "https://[::1]:12380")}) {
            assertDoesNotThrow(() -> new ObjectName("Ratis:service=RaftServer,group=g,id=" + each), each);
        }
    }

    @Test
    void encodedNamesDecodeAndAddressesStayDistinct() {
        assertEquals(ODD_NAME, RaftPeerIds.nameOf(RaftPeerIds.of(ODD_NAME, "https://[::1]:12380")));
        assertNotEquals(RaftPeerIds.of("m", "http://[::1]:2380"), RaftPeerIds.of("m", "http://[::1]:2381"));
        assertEquals("m", RaftPeerIds.nameOf("m")); // a bare name (no address) is its own name
    }
}
