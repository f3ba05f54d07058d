package io.metastore.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.metastore.concurrency.Observation;
import io.metastore.proto.v3electionpb.CampaignRequest;
import io.metastore.proto.v3electionpb.CampaignResponse;
import io.metastore.proto.v3electionpb.ElectionGrpc;
import io.metastore.proto.v3electionpb.LeaderRequest;
import io.metastore.proto.v3electionpb.LeaderResponse;
import io.metastore.proto.v3electionpb.ProclaimRequest;
import io.metastore.proto.v3electionpb.ProclaimResponse;
import io.metastore.proto.v3electionpb.ResignRequest;
import io.metastore.proto.v3electionpb.ResignResponse;
import io.metastore.server.coordination.ElectionRecipes;
import io.metastore.server.etcd.EtcdError;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * v3electionpb.Election over {@link ElectionRecipes}. Unary calls run on {@link BlockingCalls}; each Observe
 * stream is one SDK observation (a thread of its own, counted against the wait limit) feeding the stream until
 * the client cancels, the observation fails, or the member stops.
 */
final class ElectionService extends ElectionGrpc.ElectionImplBase {
    private final ElectionRecipes elections;
    private final BlockingCalls calls;
    private final Set<ObserveStream> observing = ConcurrentHashMap.newKeySet();

    ElectionService(ElectionRecipes elections, BlockingCalls calls) {
        this.elections = elections;
        this.calls = calls;
    }

    @Override
    public void campaign(CampaignRequest request, StreamObserver<CampaignResponse> out) {
        String token = CallerToken.current();
        Replies.reply(calls.waiting(() -> {
            ElectionRecipes.Won won = elections.campaign(request.getName(), request.getLease(), request.getValue(), token);
            return CampaignResponse.newBuilder().setHeader(won.header()).setLeader(won.leader()).build();
        }), out);
    }

    @Override
    public void proclaim(ProclaimRequest request, StreamObserver<ProclaimResponse> out) {
        if (!request.hasLeader()) {
            out.onError(CoordinationErrors.unknown(CoordinationErrors.MISSING_LEADER_KEY));
            return;
        }
        String token = CallerToken.current();
        Replies.reply(calls.quick(() -> ProclaimResponse.newBuilder()
                .setHeader(elections.proclaim(request.getLeader(), request.getValue(), token)).build()), out);
    }

    @Override
    public void resign(ResignRequest request, StreamObserver<ResignResponse> out) {
        if (!request.hasLeader()) {
            out.onError(CoordinationErrors.unknown(CoordinationErrors.MISSING_LEADER_KEY));
            return;
        }
        String token = CallerToken.current();
        Replies.reply(calls.quick(() -> ResignResponse.newBuilder()
                .setHeader(elections.resign(request.getLeader(), token)).build()), out);
    }

    @Override
    public void leader(LeaderRequest request, StreamObserver<LeaderResponse> out) {
        String token = CallerToken.current();
        Replies.reply(calls.quick(() -> {
            ElectionRecipes.Leader l = elections.leader(request.getName(), token);
            return LeaderResponse.newBuilder().setHeader(l.header()).setKv(l.kv()).build();
        }), out);
    }

    @Override
    public void observe(LeaderRequest request, StreamObserver<LeaderResponse> out) {
        ServerCallStreamObserver<LeaderResponse> call = (ServerCallStreamObserver<LeaderResponse>) out;
        Runnable release = calls.reserveWait();
        if (release == null) {
            call.onError(GrpcErrors.toStatus(EtcdError.TOO_MANY_REQUESTS));
            return;
        }
        ObserveStream stream = new ObserveStream(call, release);
        call.setOnCancelHandler(() -> stream.end(null));
        observing.add(stream);
        try {
            stream.start(elections.observe(request.getName(), CallerToken.current(), (header, kv) ->
                    stream.send(LeaderResponse.newBuilder().setHeader(header).setKv(kv).build())));
        } catch (RuntimeException e) {
            stream.end(CoordinationErrors.toStatus(e));
        }
    }

    /** Ends every Observe stream with etcd's "server stopped" (a graceful stop does not wait for them). */
    void shutdown() {
        for (ObserveStream s : observing) {
            s.end(GrpcErrors.toStatus(EtcdError.STOPPED));
        }
    }

    /** One Observe call; its monitor keeps sends and the end from interleaving. */
    private final class ObserveStream {
        private final ServerCallStreamObserver<LeaderResponse> call;
        private final Runnable release;
        private Observation observation;
        private boolean ended;

        ObserveStream(ServerCallStreamObserver<LeaderResponse> call, Runnable release) {
            this.call = call;
            this.release = release;
        }

        void start(Observation o) {
            synchronized (this) {
                if (!ended) {
                    observation = o;
                    o.stopped().whenComplete((v, t) -> end(t == null ? null : CoordinationErrors.toStatus(t)));
                    return;
                }
            }
            calls.background().execute(o::close); // cancelled before it started
        }

        synchronized void send(LeaderResponse r) {
            if (!ended) {
                // responses are small and few (one per leader change); grpc buffers them for a slow reader
                call.onNext(r);
            }
        }

        /** @param error null: the client cancelled or the observation was closed — nothing to tell anyone */
        void end(io.grpc.StatusRuntimeException error) {
            Observation o;
            synchronized (this) {
                if (ended) {
                    return;
                }
                ended = true;
                o = observation;
                try {
                    if (error != null) {
                        call.onError(error);
                    } else if (!call.isCancelled()) {
                        call.onCompleted();
                    }
                } catch (RuntimeException closed) {
                    // the call is over already
                }
            }
            observing.remove(this);
            release.run();
            if (o != null) {
                // close() joins the observer thread: never on a transport thread
                calls.background().execute(o::close);
            }
        }
    }
}
