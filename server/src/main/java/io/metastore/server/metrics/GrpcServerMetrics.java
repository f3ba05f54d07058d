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
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * go-grpc-prometheus's server metrics, which etcd installs on its client gRPC server: calls started, calls handled
 * (by status code), messages received and sent, labelled by call type, service and method. Installed as the
 * outermost interceptor, so calls refused by the guard or auth are counted too, as in etcd.
 */
public final class GrpcServerMetrics implements ServerInterceptor {
    private final Counter started;
    private final Counter handled;
    private final Counter received;
    private final Counter sent;

    GrpcServerMetrics(PrometheusRegistry registry) {
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
                }
                super.onCancel();
            }
        };
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
