package io.metastore.storage.rocksdb;

import io.metastore.storage.KeyValue;
import io.metastore.storage.spi.BackendBatch;
import io.metastore.storage.spi.StoredVersion;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Child-JVM half of {@link RocksDbBackendTest#committedBatchSurvivesKill9}: commits batches, reports it on
 * stdout and then waits, never closing the backend, until the parent kills it with SIGKILL.
 */
public final class CrashWriter {
    public static void main(String[] args) throws Exception {
        RocksDbBackend backend = RocksDbBackend.open(Path.of(args[0]));
        int revisions = Integer.parseInt(args[1]);
        for (int rev = 1; rev <= revisions; rev++) {
            try (BackendBatch batch = backend.newBatch()) {
                byte[] key = ("crash/" + (rev % 7)).getBytes(StandardCharsets.UTF_8);
                byte[] value = ("value-" + rev).getBytes(StandardCharsets.UTF_8);
                batch.putVersion(new StoredVersion(new KeyValue(key, value, rev, rev, 1, 0), 0, false));
                batch.putMeta("applied".getBytes(StandardCharsets.UTF_8), Long.toString(rev).getBytes(StandardCharsets.UTF_8));
                batch.commit();
            }
        }
        System.out.println("COMMITTED " + revisions);
        System.out.flush();
        Thread.sleep(120_000); // the parent kills us long before
        System.exit(3);
    }
}
