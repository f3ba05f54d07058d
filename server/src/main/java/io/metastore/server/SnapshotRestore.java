package io.metastore.server;

import io.metastore.server.maintenance.SnapshotImage;
import io.metastore.storage.AppliedIndex;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccStoreImpl;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.memory.MemoryBackend;
import io.metastore.storage.rocksdb.RocksDbBackend;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds a fresh data directory from a file written by `etcdctl snapshot save`, as `etcdutl snapshot
 * restore` does: the key space, its history and leases are kept; the Raft history starts anew (applied
 * index reset), so the member boots as a new single-member cluster.
 */
public final class SnapshotRestore {
    /** For the memory engine: the image it loads at start until Raft has taken a snapshot of its own. */
    public static final String SEED_FILE = "seed.snapshot";

    private SnapshotRestore() {}

    public static void restore(Path snapshotFile, Path dataDir, ServerConfig.StorageEngine engine) throws IOException {
        if (Files.exists(dataDir)) {
            throw new IOException("data-dir \"" + dataDir + "\" exists");
        }
        Path member = dataDir.resolve("member");
        Files.createDirectories(member);
        MvccStore store = engine == ServerConfig.StorageEngine.MEMORY
                ? MvccStoreImpl.open(new MemoryBackend())
                : MvccStoreImpl.open(RocksDbBackend.open(member.resolve("store")));
        try (store; InputStream in = SnapshotImage.openVerified(snapshotFile)) {
            store.restore(in);
            try (MvccWriteTxn txn = store.beginWrite()) {
                txn.commit(AppliedIndex.NONE);
            }
            if (engine == ServerConfig.StorageEngine.MEMORY) {
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(member.resolve(SEED_FILE)))) {
                    store.writeSnapshot(out);
                }
            } else {
                store.flush();
            }
        }
    }
}
