package io.metastore.server.grpc;

import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * This member's own client API as an in-process gRPC channel, for services that are clients of it (Lock and
 * Election run etcd's recipes, as etcd runs them through its own client). A call on it reaches the very
 * handlers a network client's call reaches, interceptors included (leader checks, auth): the in-process server
 * has no services of its own and looks each method up among the network server's. So every write the recipes
 * make goes through Raft like any client write, and a forwarded token is checked like the caller's own.
 */
public final class LocalClientChannel implements AutoCloseable {
    private static final AtomicInteger IDS = new AtomicInteger();

    private final Server inProcess;
    private final ManagedChannel channel;

    /**
     * @param networkServer the member's client gRPC server; only asked once the first call arrives
     * @param before        interceptors that run ahead of the member's own ones on this channel's calls only (the
     *                      last one outermost, as with {@code ServerBuilder.intercept})
     */
    public LocalClientChannel(Supplier<Server> networkServer, ServerInterceptor... before) {
        String name = "metastore-local-client-api-" + IDS.incrementAndGet();
        try {
            // direct: the handlers hand work to Raft and never block, as on the network server
            InProcessServerBuilder builder = InProcessServerBuilder.forName(name).directExecutor()
                    .fallbackHandlerRegistry(new NetworkServerMethods(networkServer));
            for (ServerInterceptor i : before) {
                builder.intercept(i);
            }
            this.inProcess = builder.build().start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // the default (pooled) client executor: responses must not run recipe code on Raft's apply thread
        this.channel = InProcessChannelBuilder.forName(name).build();
    }

    public ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        inProcess.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
            inProcess.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The network server's (intercepted) method handlers by full method name, indexed on first use. */
    private static final class NetworkServerMethods extends HandlerRegistry {
        private final Supplier<Server> server;
        private volatile Map<String, ServerMethodDefinition<?, ?>> methods;

        NetworkServerMethods(Supplier<Server> server) {
            this.server = server;
        }

        @Override
        public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
            Map<String, ServerMethodDefinition<?, ?>> m = methods;
            if (m == null) {
                Server s = server.get();
                if (s == null) {
                    return null; // not serving yet: the call fails with UNIMPLEMENTED
                }
                m = new HashMap<>();
                for (ServerServiceDefinition service : s.getServices()) {
                    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
                        m.put(method.getMethodDescriptor().getFullMethodName(), method);
                    }
                }
                methods = m;
            }
            return m.get(methodName);
        }
    }
}
