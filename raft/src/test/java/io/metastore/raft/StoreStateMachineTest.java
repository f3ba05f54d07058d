package io.metastore.raft;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccStoreImpl;
import io.metastore.storage.memory.MemoryBackend;
import org.apache.ratis.protocol.RaftPeerId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreStateMachineTest {
    private final List<String> divergences = new ArrayList<>();

    private StoreStateMachine stateMachine(MvccStore store) {
        CommandApplier applier = new CommandApplier() {
            @Override
            public byte[] apply(AppliedIndex at, byte[] command) {
                return new byte[0];
            }

            @Override
            public void onStoreReset() {}
        };
        return new StoreStateMachine(store, applier, new StoreStateMachine.Events() {
            @Override
            public void leaderChanged(RaftPeerId leader, long term) {}

            @Override
            public void localLeadershipLost(long term) {}

            @Override
            public void diverged(String detail) {
                divergences.add(detail);
            }
        });
    }

    @Test
    void truncatingPastTheAppliedIndexIsNormalRaft() throws Exception {
        try (MvccStore store = MvccStoreImpl.open(new MemoryBackend())) {
            StoreStateMachine sm = stateMachine(store);
            sm.notifyTermIndexUpdated(1, 7);
            sm.truncate(8).get(); // an uncommitted tail replaced by a new leader
            assertTrue(divergences.isEmpty());
        }
    }

    @Test
    void truncatingAnAppliedEntryStopsTheMember() throws Exception {
        try (MvccStore store = MvccStoreImpl.open(new MemoryBackend())) {
            StoreStateMachine sm = stateMachine(store);
            sm.notifyTermIndexUpdated(1, 8);
            var f = sm.truncate(8);
            assertTrue(f.isCompletedExceptionally(), "Ratis must refuse further appends");
            assertEquals(1, divergences.size());
            assertTrue(divergences.get(0).contains("truncated from index 8"), divergences.get(0));
        }
    }
}
