package io.metastore.server.grpc;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.metastore.concurrency.EtcdConnection;
import io.metastore.server.coordination.ElectionRecipes;
import io.metastore.server.coordination.LockRecipes;

import java.util.concurrent.atomic.AtomicReference;

/**
 * etcd's Lock and Election services, built as etcd builds them: clients of this member's own KV, Lease and Watch
 * API (through {@link LocalClientChannel}) running the concurrency SDK's recipes on the caller's behalf, so each
 * lock or election write is an ordinary client write through Raft, checked against the caller's token.
 */
public final class CoordinationServices implements AutoCloseable {
    /** Lock/Campaign/Observe calls that may wait at once; more get "too many requests". */
    private static final int MAX_WAITS = 1024;
    /** Threads always left for Unlock/Proclaim/Resign/Leader. */
    private static final int MAX_QUICK = 64;

    private final LocalClientChannel local;
    private final EtcdConnection connection;
    private final BlockingCalls calls = new BlockingCalls(MAX_WAITS, MAX_QUICK);
    private final LockService lock;
    private final ElectionService election;

    private final AtomicReference<Server> networkServer = new AtomicReference<>();

    public CoordinationServices() {
        this.local = new LocalClientChannel(networkServer::get);
        this.connection = EtcdConnection.of(local.channel());
        this.lock = new LockService(new LockRecipes(connection), calls);
        this.election = new ElectionService(new ElectionRecipes(connection), calls);
    }

    /** Sets the member's client gRPC server, once started: the recipes' calls go to its handlers. */
    public void bindTo(Server server) {
        networkServer.set(server);
    }

    /** v3lockpb.Lock, picking up the caller's token; add the server's usual interceptors around it. */
    public ServerServiceDefinition lockService() {
        return ServerInterceptors.intercept(lock, new CallerToken());
    }

    /** v3electionpb.Election, picking up the caller's token; add the server's usual interceptors around it. */
    public ServerServiceDefinition electionService() {
        return ServerInterceptors.intercept(election, new CallerToken());
    }

    /**
     * First step of a stop, after the server stopped accepting calls: ends Observe streams and interrupts waiting
     * Lock/Campaign calls, which withdraw their keys (the member's KV handlers must still be up) and answer
     * "server stopped". Nothing of theirs is left for a graceful gRPC shutdown to wait for.
     */
    public void shutdown() {
        election.shutdown();
        calls.close();
    }

    /** Releases the in-process channel; after the network server has terminated. */
    @Override
    public void close() {
        shutdown();
        connection.close();
        local.close();
    }
}
