package io.metastore.raft;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.MvccStore;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Ratis state machine over an {@link MvccStore}.
 *
 * <p>Threading: Ratis calls {@link #applyTransaction}, {@link #notifyTermIndexUpdated}, {@link #takeSnapshot} and
 * {@link #reinitialize} from its single StateMachineUpdater thread (the store's writer thread);
 * {@link #initialize} runs before that thread starts.
 *
 * <p>Position bookkeeping: {@link #getLastAppliedTermIndex()} always equals the index Ratis's updater has reached
 * (it starts at the latest snapshot's index), so snapshots never claim more than Ratis applied. The store may be
 * ahead of it (a durable store, or an image taken after the snapshot's index); entries the store already contains
 * ({@code index <= store.appliedIndex().index()}) are skipped, never applied twice.
 */
final class StoreStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(StoreStateMachine.class);

    /** Reply framing: one status byte, then the applier's bytes (OK) or a UTF-8 error message (ERROR). */
    static final byte REPLY_OK = 0;
    static final byte REPLY_ERROR = 1;
    private static final Message EMPTY_OK = Message.valueOf(UnsafeByteOperations.unsafeWrap(new byte[] {REPLY_OK}));

    /** Leadership events, forwarded to the node (which dispatches them to the listener off Ratis's threads). */
    interface Events {
        void leaderChanged(RaftPeerId leader, long term);

        void localLeadershipLost(long term);

        /** This member applied an entry that its log is now replacing: its state differs from the group's. */
        void diverged(String detail);
    }

    /** Snapshot files kept (Ratis's raft.server.snapshot.retention.file.num is set to the same). */
    static final int RETAINED_SNAPSHOTS = 2;

    private final MvccStore store;
    private final CommandApplier applier;
    private final Events events;
    private final SnapshotFiles snapshots;
    private final AtomicLong readRounds = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    /** Thread names of the last apply and the last snapshot (tests check they are the same thread). */
    private volatile String applyThread;
    private volatile String snapshotThread;

    StoreStateMachine(MvccStore store, CommandApplier applier, Events events) {
        this.store = Objects.requireNonNull(store, "store");
        this.applier = Objects.requireNonNull(applier, "applier");
        this.events = Objects.requireNonNull(events, "events");
        this.snapshots = new SnapshotFiles(store.durable() ? store::writeSnapshot : null);
    }

    @Override
    public SnapshotFiles getStateMachineStorage() {
        return snapshots;
    }

    @Override
    public SnapshotFiles.Snap getLatestSnapshot() {
        return snapshots.getLatestSnapshot();
    }

    /** ReadIndex rounds that reached this state machine (each linearizable barrier round ends in one query). */
    long readRounds() {
        return readRounds.get();
    }

    String applyThread() {
        return applyThread;
    }

    String snapshotThread() {
        return snapshotThread;
    }

    /** Committed entries skipped because the store already contained them. */
    long skippedEntries() {
        return skipped.get();
    }

    // ------------------------------------------------------------------------------------------------ startup

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        getLifeCycle().startAndTransition(() -> {
            snapshots.init(raftStorage);
            loadInitialState();
        }, IOException.class);
    }

    /**
     * Decides where Ratis starts applying. Ratis 3.3.0's StateMachineUpdater starts at the RaftLog's snapshot
     * index, which it takes from {@link #getLatestSnapshot()} when the log is opened (right after this method);
     * lastAppliedTermIndex is set to the same position.
     */
    private void loadInitialState() throws IOException {
        SnapshotFiles.Snap snap = snapshots.latest();
        if (store.durable()) {
            AppliedIndex inStore = store.appliedIndex();
            if (snap != null && !snap.hasImage() && inStore.index() < snap.storeIndex) {
                throw new IOException("durable store is at applied index " + inStore.index() + " but it was flushed"
                        + " at index " + snap.storeIndex + " for Raft snapshot " + snap + " (log purged up to it):"
                        + " the store does not belong to this Raft log");
            }
            if (snap != null && snap.hasImage() && inStore.index() < snap.termIndex.getIndex()) {
                restoreFrom(snap); // an image installed from the leader that the store has not caught up with
            } else if (inStore.index() > 0 && (snap == null || inStore.index() > snap.termIndex.getIndex())) {
                // The durable store is itself a snapshot at its applied index: record that, so Ratis starts
                // applying after it instead of re-delivering entries the store already holds.
                store.flush();
                snap = snapshots.writeMarker(TermIndex.valueOf(inStore.term(), inStore.index()),
                        inStore.term(), inStore.index());
                snapshots.cleanupOldSnapshots(new SnapshotRetentionPolicy() {
                    @Override
                    public int getNumSnapshotsRetained() {
                        return RETAINED_SNAPSHOTS;
                    }
                });
                LOG.info("Durable store at {}: Ratis resumes after it ({})", inStore, snap);
            }
        } else if (snap != null) {
            restoreFrom(snap);
        }
        setLastAppliedTermIndex(snap != null ? snap.termIndex : TermIndex.INITIAL_VALUE);
        LOG.info("{}: store {} at {}, latest snapshot {}, Ratis applies after index {}", this,
                store.durable() ? "durable" : "in-memory", store.appliedIndex(), snap, getLastAppliedTermIndex());
    }

    private void restoreFrom(SnapshotFiles.Snap snap) throws IOException {
        if (!snap.hasImage()) {
            throw new IOException("cannot rebuild the non-durable store: snapshot " + snap
                    + " holds no store image (was this Raft directory used with a durable engine?)");
        }
        long t0 = System.nanoTime();
        try (InputStream in = snapshots.openImage(snap)) {
            store.restore(in);
        }
        if (store.durable()) {
            store.flush();
        }
        LOG.info("Restored the store from {} in {} ms; store now at {}", snap,
                (System.nanoTime() - t0) / 1_000_000, store.appliedIndex());
        applier.onStoreReset();
    }

    // ------------------------------------------------------------------------------------------------ apply

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        applyThread = Thread.currentThread().getName();
        LogEntryProto entry = trx.getLogEntry();
        long term = entry.getTerm();
        long index = entry.getIndex();
        if (index <= store.appliedIndex().index()) {
            skipped.incrementAndGet();
            advance(term, index);
            return CompletableFuture.completedFuture(EMPTY_OK);
        }
        byte[] command = entry.getStateMachineLogEntry().getLogData().toByteArray();
        byte[] reply;
        try {
            byte[] result = applier.apply(new AppliedIndex(term, index), command);
            reply = frame(REPLY_OK, result == null ? new byte[0] : result);
        } catch (RuntimeException e) {
            // An Error is not caught: Ratis then stops this member (fail-stop) rather than go on after it.
            LOG.error("Applier failed on entry ({}, {}); the entry counts as applied", term, index, e);
            String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
            reply = frame(REPLY_ERROR, msg.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        advance(term, index);
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply)));
    }

    private static byte[] frame(byte status, byte[] body) {
        byte[] out = new byte[body.length + 1];
        out[0] = status;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    /** Configuration and metadata entries (no command): only the position moves. */
    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        advance(term, index);
    }

    private void advance(long term, long index) {
        if (index > getLastAppliedTermIndex().getIndex()) {
            updateLastAppliedTermIndex(term, index);
        }
    }

    /**
     * Ratis truncates the log (under its write lock) when a leader replaces entries this member appended but
     * never saw committed. Committed entries are never replaced, so truncating one this member already applied
     * means its store holds a write the group does not: it can neither undo it nor go on. Failing here makes
     * Ratis refuse every later append, and the owner stops the member (fail-stop, as etcd panics on a
     * conflicting committed entry), instead of serving a diverged state.
     */
    @Override
    public CompletableFuture<Void> truncate(long index) {
        long applied = getLastAppliedTermIndex().getIndex();
        if (index > applied) {
            return CompletableFuture.completedFuture(null);
        }
        String detail = String.format("%s: the log is being truncated from index %d, but entries up to %d were"
                + " already applied (store at %s): this member's state diverged from the cluster", this, index,
                applied, store.appliedIndex());
        LOG.error(detail);
        events.diverged(detail);
        return CompletableFuture.failedFuture(new IOException(detail));
    }

    /** Only reached by linearizable barrier rounds, after Ratis applied up to the read index. */
    @Override
    public CompletableFuture<Message> query(Message request) {
        readRounds.incrementAndGet();
        return CompletableFuture.completedFuture(Message.EMPTY);
    }

    // ------------------------------------------------------------------------------------------------ snapshots

    /**
     * Runs on the StateMachineUpdater thread after every earlier apply completed (Ratis 3.3.0
     * StateMachineUpdater.takeSnapshot waits for the apply futures), so the store is exactly at the last applied
     * entry; the snapshot is labelled with Ratis's applied position, which may be a configuration entry after the
     * store's last command.
     */
    @Override
    public long takeSnapshot() throws IOException {
        snapshotThread = Thread.currentThread().getName();
        TermIndex ti = getLastAppliedTermIndex();
        if (ti == null || ti.getIndex() <= 0) {
            return RaftLog.INVALID_LOG_INDEX;
        }
        SnapshotFiles.Snap cur = snapshots.latest();
        if (cur != null && cur.termIndex.getIndex() >= ti.getIndex()) {
            return cur.termIndex.getIndex();
        }
        long t0 = System.nanoTime();
        SnapshotFiles.Snap s;
        try {
            if (store.durable()) {
                AppliedIndex flushed = store.appliedIndex();
                store.flush();
                s = snapshots.writeMarker(ti, flushed.term(), flushed.index());
            } else {
                s = snapshots.writeImage(ti, store::writeSnapshot);
            }
        } catch (RuntimeException e) {
            // Ratis treats an IOException as "no snapshot this time" (it retries at the next trigger); any other
            // exception would stop the server.
            throw new IOException("snapshot at " + ti + " failed", e);
        }
        LOG.info("Took {} in {} ms (store at {})", s, (System.nanoTime() - t0) / 1_000_000, store.appliedIndex());
        return ti.getIndex();
    }

    /** A snapshot from the leader is about to replace the state machine directory. */
    @Override
    public void pause() {
        LifeCycle lc = getLifeCycle();
        if (lc.getCurrentState() == LifeCycle.State.RUNNING) {
            lc.transition(LifeCycle.State.PAUSING);
            lc.transition(LifeCycle.State.PAUSED);
        }
    }

    private final java.util.concurrent.atomic.AtomicLong installs = new java.util.concurrent.atomic.AtomicLong();

    /** How many snapshots this member installed from a leader since it started. */
    long snapshotInstalls() {
        return installs.get();
    }

    /** Loads the snapshot Ratis installed from the leader; on the updater thread (StateMachineUpdater.reload). */
    @Override
    public void reinitialize() throws IOException {
        SnapshotFiles.Snap snap = snapshots.reload();
        if (snap == null) {
            throw new IOException("no snapshot found after installation in " + snapshots.dir());
        }
        LOG.info("Installing {} received from the leader", snap);
        restoreFrom(snap);
        installs.incrementAndGet();
        setLastAppliedTermIndex(snap.termIndex);
        LifeCycle lc = getLifeCycle();
        if (lc.getCurrentState() == LifeCycle.State.PAUSED) {
            lc.transition(LifeCycle.State.STARTING);
            lc.transition(LifeCycle.State.RUNNING);
        }
    }

    // ------------------------------------------------------------------------------------------------ events

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        events.leaderChanged(newLeaderId, currentTerm());
    }

    @Override
    public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
        events.localLeadershipLost(currentTerm());
    }

    @Override
    public void notifyExtendedNoLeader(RoleInfoProto roleInfoProto) {
        LOG.warn("{}: no leader for a long time: {}", this, roleInfoProto.getRole());
    }

    private long currentTerm() {
        try {
            return getServer().join().getDivision(getGroupId()).getInfo().getCurrentTerm();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        // The store belongs to its owner: nothing to release here.
    }
}
