package io.metastore.server.metrics;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * go-grpc-prometheus's server metrics, which etcd installs on its client gRPC server: calls started, calls handled
 * (by status code), messages received and sent, labelled by call type, service and method. Installed as the
 * outermost interceptor, so calls refused by the guard or auth are counted too, as in etcd.
 */
public final class GrpcServerMetrics implements ServerInterceptor {
    /** etcd's clients send their API version ("3.4", ...) in this header (rpctypes.MetadataClientAPIVersionKey). */
    private static final Metadata.Key<String> CLIENT_API_VERSION =
            Metadata.Key.of("client-api-version", Metadata.ASCII_STRING_MARSHALLER);

    private final Counter started;
    private final Counter handled;
    private final Counter received;
    private final Counter sent;
    private final Counter clientRequests;
    /** go-grpc-prometheus's handling-time histogram, which etcd enables with --metrics=extensive; else null. */
    private final Histogram handlingSeconds;

    GrpcServerMetrics(PrometheusRegistry registry, boolean extensive) {
        started = Counter.builder().name("grpc_server_started_total")
                .help("Total number of RPCs started on the server.")
                .labelNames("grpc_type", "grpc_service", "grpc_method").register(registry);
        handled = Counter.builder().name("grpc_server_handled_total")
                .help("Total number of RPCs completed on the server, regardless of success or failure.")
                .labelNames("grpc_type", "grpc_service", "grpc_method", "grpc_code").register(registry);
        received = Counter.builder().name("grpc_server_msg_received_total")
                .help("Total number of RPC stream messages received on the server.")
                .labelNames("grpc_type", "grpc_service", "grpc_method").register(registry);
        sent = Counter.builder().name("grpc_server_msg_sent_total")
                .help("Total number of gRPC stream messages sent by the server.")
                .labelNames("grpc_type", "grpc_service", "grpc_method").register(registry);
        // etcd: server/etcdserver/api/v3rpc/metrics.go; the version is what the client says in its metadata
        clientRequests = Counter.builder().name("etcd_server_client_requests_total")
                .help("The total number of client requests per client version.")
                .labelNames("type", "client_api_version").register(registry);
        handlingSeconds = !extensive ? null : Histogram.builder().name("grpc_server_handling_seconds")
                .help("Histogram of response latency (seconds) of gRPC that had been application-level handled by "
                        + "the server.")
                .labelNames("grpc_type", "grpc_service", "grpc_method")
                .classicOnly().classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .register(registry);
    }

    /**
     * go-grpc-prometheus's InitializeMetrics (etcd calls it through grpc_prometheus.Register): every method of
     * every service is listed with 0 from the start, handled for every code, so rates exist before the first call.
     */
    public void initialize(List<ServerServiceDefinition> services) {
        for (ServerServiceDefinition service : services) {
            for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
                MethodDescriptor<?, ?> d = m.getMethodDescriptor();
                String type = type(d.getType());
                String svc = d.getServiceName();
                String method = d.getBareMethodName();
                started.labelValues(type, svc, method);
                received.labelValues(type, svc, method);
                sent.labelValues(type, svc, method);
                for (Status.Code code : Status.Code.values()) {
                    handled.labelValues(type, svc, method, goCode(code));
                }
            }
        }
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        MethodDescriptor<Q, R> d = call.getMethodDescriptor();
        String type = type(d.getType());
        String svc = d.getServiceName();
        String method = d.getBareMethodName();
        started.labelValues(type, svc, method).inc();
        String version = headers.get(CLIENT_API_VERSION);
        clientRequests.labelValues(d.getType() == MethodDescriptor.MethodType.UNARY ? "unary" : "stream",
                version == null ? "unknown" : version).inc();
        long startNanos = handlingSeconds == null ? 0 : System.nanoTime();
        // a call ends once: closed by the handler, or cancelled by the client (then Go's handler returns Canceled)
        AtomicBoolean ended = new AtomicBoolean();
        ServerCall<Q, R> counted = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(R message) {
                super.sendMessage(message);
                sent.labelValues(type, svc, method).inc();
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (ended.compareAndSet(false, true)) {
                    handled.labelValues(type, svc, method, goCode(status.getCode())).inc();
                    observeHandling(type, svc, method, startNanos);
                }
                super.close(status, trailers);
            }
        };
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counted, headers)) {
            @Override
            public void onMessage(Q message) {
                received.labelValues(type, svc, method).inc();
                super.onMessage(message);
            }

            @Override
            public void onCancel() {
                if (ended.compareAndSet(false, true)) {
                    handled.labelValues(type, svc, method, goCode(Status.Code.CANCELLED)).inc();
                    observeHandling(type, svc, method, startNanos);
                }
                super.onCancel();
            }
        };
    }

    private void observeHandling(String type, String svc, String method, long startNanos) {
        if (handlingSeconds != null) {
            handlingSeconds.labelValues(type, svc, method).observe((System.nanoTime() - startNanos) / 1e9);
        }
    }

    private static String type(MethodDescriptor.MethodType t) {
        return switch (t) {
            case UNARY -> "unary";
            case CLIENT_STREAMING -> "client_stream";
            case SERVER_STREAMING -> "server_stream";
            default -> "bidi_stream";
        };
    }

    /** Go's codes.Code String() names, which go-grpc-prometheus puts in grpc_code. */
    static String goCode(Status.Code code) {
        return switch (code) {
            case OK -> "OK";
            case CANCELLED -> "Canceled";
            case UNKNOWN -> "Unknown";
            case INVALID_ARGUMENT -> "InvalidArgument";
            case DEADLINE_EXCEEDED -> "DeadlineExceeded";
            case NOT_FOUND -> "NotFound";
            case ALREADY_EXISTS -> "AlreadyExists";
            case PERMISSION_DENIED -> "PermissionDenied";
            case RESOURCE_EXHAUSTED -> "ResourceExhausted";
            case FAILED_PRECONDITION -> "FailedPrecondition";
            case ABORTED -> "Aborted";
            case OUT_OF_RANGE -> "OutOfRange";
            case UNIMPLEMENTED -> "Unimplemented";
            case INTERNAL -> "Internal";
            case UNAVAILABLE -> "Unavailable";
            case DATA_LOSS -> "DataLoss";
            case UNAUTHENTICATED -> "Unauthenticated";
        };
    }
}
