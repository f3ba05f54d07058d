package io.metastore.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.WatchCreateRequest;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.etcdserverpb.WatchRequest;
import io.metastore.proto.etcdserverpb.WatchResponse;
import io.metastore.server.EtcdServer;
import io.metastore.server.kv.KvProtos;
import io.metastore.server.watch.WatchMessage;
import io.metastore.server.watch.WatchRequestSpec;
import io.metastore.server.watch.WatchStream;
import io.metastore.storage.Event;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * etcdserverpb.Watch over the domain {@link WatchStream}. Messages leave the stream's bounded queue only
 * while the transport is ready, so a client that stops reading fills that queue (and its watchers fall
 * back to history catch-up) instead of filling server memory.
 */
public final class WatchService extends WatchGrpc.WatchImplBase {
    private final EtcdServer server;
    private final int maxResponseBytes;
    private final java.util.Set<Drain> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public WatchService(EtcdServer server) {
        this.server = server;
        this.maxResponseBytes = server.config().maxRequestBytes() + 512 * 1024;
    }

    @Override
    public StreamObserver<WatchRequest> watch(StreamObserver<WatchResponse> out) {
        ServerCallStreamObserver<WatchResponse> call = (ServerCallStreamObserver<WatchResponse>) out;
        Drain drain = new Drain(call, Boolean.TRUE.equals(RequestGuard.REQUIRE_LEADER.get()));
        WatchStream stream = server.openWatchStream(drain::run);
        java.util.function.Supplier<io.metastore.auth.AuthInfo> caller = AuthInterceptor.callerResolver(server.auth());
        drain.stream = stream;
        call.setOnReadyHandler(drain::run);
        open.add(drain);
        call.setOnCancelHandler(() -> {
            open.remove(drain);
            stream.close();
        });
        return new StreamObserver<>() {
            @Override
            public void onNext(WatchRequest req) {
                switch (req.getRequestUnionCase()) {
                    case CREATE_REQUEST -> server.watchCreate(stream, caller, spec(req.getCreateRequest()));
                    case CANCEL_REQUEST -> stream.cancel(req.getCancelRequest().getWatchId());
                    case PROGRESS_REQUEST -> stream.requestProgress();
                    default -> { }
                }
            }

            @Override
            public void onError(Throwable t) {
                stream.close();
            }

            @Override
            public void onCompleted() {
                // etcd keeps watching after the client half-closes; the stream ends when the call is cancelled
            }
        };
    }

    /**
     * Ends every open watch stream with etcd's "server stopped", after what is already queued. Watch calls
     * never finish by themselves, so a graceful stop would otherwise wait out its whole grace period.
     */
    public void shutdown() {
        io.grpc.StatusRuntimeException stopped = GrpcErrors.toStatus(io.metastore.server.etcd.EtcdError.STOPPED);
        for (Drain d : open) {
            d.terminate(stopped);
            d.stream.close();
        }
        open.clear();
    }

    /** Ends the streams opened with {@code hasleader=true}, as etcd does when its member has lost the leader. */
    public void endStreamsRequiringLeader() {
        io.grpc.StatusRuntimeException noLeader = GrpcErrors.toStatus(io.metastore.server.etcd.EtcdError.NO_LEADER);
        for (Drain d : open) {
            if (d.requireLeader && open.remove(d)) {
                d.terminate(noLeader);
                d.stream.close();
            }
        }
    }

    /** etcd's v3rpc normalisation of a create request. */
    private static WatchRequestSpec spec(WatchCreateRequest c) {
        byte[] key = c.getKey().isEmpty() ? new byte[] {0} : c.getKey().toByteArray();
        boolean noPut = false;
        boolean noDelete = false;
        for (var f : c.getFiltersList()) {
            if (f == WatchCreateRequest.FilterType.NOPUT) {
                noPut = true;
            } else if (f == WatchCreateRequest.FilterType.NODELETE) {
                noDelete = true;
            }
        }
        return new WatchRequestSpec(key, c.getRangeEnd().toByteArray(), c.getStartRevision(), c.getProgressNotify(),
                noPut, noDelete, c.getPrevKv(), c.getWatchId(), c.getFragment());
    }

    /** Serialises sends from the apply thread, the sync thread and the transport (work-in-progress counter). */
    private final class Drain {
        private final ServerCallStreamObserver<WatchResponse> call;
        private final boolean requireLeader;
        private final AtomicInteger wip = new AtomicInteger();
        volatile WatchStream stream;
        private volatile io.grpc.StatusRuntimeException terminal;
        private boolean terminated;

        Drain(ServerCallStreamObserver<WatchResponse> call, boolean requireLeader) {
            this.call = call;
            this.requireLeader = requireLeader;
        }

        void run() {
            if (wip.getAndIncrement() != 0) {
                return;
            }
            do {
                WatchStream s = stream;
                if (s == null) {
                    continue;
                }
                while (!terminated && !call.isCancelled() && call.isReady()) {
                    WatchMessage m = s.poll();
                    if (m == null) {
                        break;
                    }
                    for (WatchResponse r : toProto(m)) {
                        call.onNext(r);
                    }
                }
                if (terminal != null && !terminated) {
                    terminated = true;
                    if (!call.isCancelled()) {
                        call.onError(terminal);
                    }
                }
            } while (wip.decrementAndGet() != 0);
        }

        void terminate(io.grpc.StatusRuntimeException status) {
            terminal = status;
            run();
        }
    }

    private List<WatchResponse> toProto(WatchMessage m) {
        WatchResponse.Builder base = WatchResponse.newBuilder()
                .setHeader(m.revision() == 0 ? server.header(0).toBuilder().clearRevision().build()
                        : server.header(m.revision()))
                .setWatchId(m.watchId())
                .setCreated(m.created())
                .setCanceled(m.canceled())
                .setCompactRevision(m.compactRevision())
                .setCancelReason(m.cancelReason());
        if (m.events().isEmpty()) {
            return List.of(base.build());
        }
        List<io.metastore.proto.mvccpb.Event> events = new ArrayList<>(m.events().size());
        long size = 0;
        for (Event e : m.events()) {
            var pe = KvProtos.toProto(e, m.withPrevKv());
            size += pe.getSerializedSize();
            events.add(pe);
        }
        if (!m.fragmentable() || size <= maxResponseBytes || events.size() < 2) {
            return List.of(base.addAllEvents(events).build());
        }
        // etcd's fragmentation: every part but the last carries fragment=true; clients concatenate
        List<WatchResponse> parts = new ArrayList<>();
        WatchResponse.Builder part = base.clone();
        long partSize = 0;
        for (var pe : events) {
            if (partSize > 0 && partSize + pe.getSerializedSize() > maxResponseBytes) {
                parts.add(part.setFragment(true).build());
                part = base.clone();
                partSize = 0;
            }
            part.addEvents(pe);
            partSize += pe.getSerializedSize();
        }
        parts.add(part.build());
        return parts;
    }
}
