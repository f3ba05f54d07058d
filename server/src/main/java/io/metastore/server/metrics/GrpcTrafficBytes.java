package io.metastore.server.metrics;

import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * etcd's client traffic counters ({@code etcd_network_client_grpc_received_bytes_total} and {@code _sent_}), the
 * "client traffic in/out" panels of etcd's dashboard. A stream tracer sees each message's size on the wire without
 * serializing anything again, which an interceptor could not.
 */
public final class GrpcTrafficBytes extends ServerStreamTracer.Factory {
    private final Counter received;
    private final Counter sent;

    GrpcTrafficBytes(PrometheusRegistry registry) {
        received = Counter.builder().name("etcd_network_client_grpc_received_bytes_total")
                .help("The total number of bytes received from grpc clients.").register(registry);
        sent = Counter.builder().name("etcd_network_client_grpc_sent_bytes_total")
                .help("The total number of bytes sent to grpc clients.").register(registry);
    }

    @Override
    public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
        return new ServerStreamTracer() {
            @Override
            public void inboundWireSize(long bytes) {
                received.inc(bytes);
            }

            @Override
            public void outboundWireSize(long bytes) {
                sent.inc(bytes);
            }
        };
    }
}
