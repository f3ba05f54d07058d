package io.metastore.server.clientport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The ALPN rule of a TLS client port, on the offers measured from real clients. */
class AlpnChoiceTest {
    private final AlpnChoice both = AlpnChoice.serving(true, true);

    @Test
    void grpcClientsOfferingOnlyH2GetH2() {
        assertEquals("h2", both.select(List.of("h2")));                 // etcdctl (grpc-go), jetcd (grpc-java)
        assertEquals("h2", both.select(List.of("grpc-exp", "h2")));     // grpc C core
    }

    @Test
    void httpClientsGetHttp11EvenWhenTheyAlsoOfferH2() {
        assertEquals("http/1.1", both.select(List.of("h2", "http/1.1"))); // curl, java.net.http
        assertEquals("http/1.1", both.select(List.of("http/1.1")));       // Python requests, curl --http1.1
    }

    @Test
    void noUsableOfferMeansNoAlpn() {
        assertEquals("", both.select(List.of()));
        assertEquals("", both.select(List.of("spdy/3")));
    }

    @Test
    void singleProtocolPorts() {
        AlpnChoice grpcOnly = AlpnChoice.serving(true, false);
        assertEquals("h2", grpcOnly.select(List.of("h2", "http/1.1")));
        assertEquals("", grpcOnly.select(List.of("http/1.1")));
        AlpnChoice httpOnly = AlpnChoice.serving(false, true);
        assertEquals("http/1.1", httpOnly.select(List.of("h2", "http/1.1")));
        assertEquals("", httpOnly.select(List.of("h2")));
    }
}
