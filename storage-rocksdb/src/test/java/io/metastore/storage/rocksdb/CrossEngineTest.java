package io.metastore.storage.rocksdb;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.HashResult;
import io.metastore.storage.KeyValue;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccStoreImpl;
import io.metastore.storage.MvccWriteTxn;
import io.metastore.storage.RangeQuery;
import io.metastore.storage.memory.MemoryBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Members of one cluster may run different engines: the same history must give the same HashKV at every
 * revision, and a snapshot image taken from one engine must restore into the other.
 */
class CrossEngineTest {

    @Test
    void sameHistoryGivesSameHashOnBothEnginesAndImagesMoveBetweenThem(@TempDir Path dir) throws Exception {
        try (MvccStore memory = MvccStoreImpl.open(MemoryBackend.open());
             MvccStore rocks = MvccStoreImpl.open(RocksDbBackend.open(dir.resolve("a")))) {
            Random rnd = new Random(42);
            long index = 0;
            for (int i = 0; i < 600; i++) {
                index++;
                byte[] key = ("k" + rnd.nextInt(40)).getBytes(StandardCharsets.UTF_8);
                byte[] value = ("v" + i).getBytes(StandardCharsets.UTF_8);
                boolean delete = rnd.nextInt(5) == 0;
                for (MvccStore s : new MvccStore[] {memory, rocks}) {
                    try (MvccWriteTxn txn = s.beginWrite()) {
                        if (delete) {
                            txn.deleteRange(key, KeyValue.EMPTY);
                        } else {
                            txn.put(key, value, 0);
                        }
                        txn.commit(new AppliedIndex(1, index));
                    }
                }
                if (i == 300) {
                    long c = memory.currentRevision() - 50;
                    memory.compact(c, new AppliedIndex(1, ++index)).get();
                    rocks.compact(c, new AppliedIndex(1, index)).get();
                }
            }
            assertEquals(memory.currentRevision(), rocks.currentRevision());
            for (long rev = memory.compactRevision(); rev <= memory.currentRevision(); rev += 37) {
                HashResult a = memory.hashKv(rev);
                HashResult b = rocks.hashKv(rev);
                assertEquals(a, b, "HashKV at revision " + rev);
            }
            ByteArrayOutputStream image = new ByteArrayOutputStream();
            rocks.writeSnapshot(image);
            try (MvccStore restored = MvccStoreImpl.open(MemoryBackend.open())) {
                restored.restore(new ByteArrayInputStream(image.toByteArray()));
                assertEquals(rocks.hashKv(0), restored.hashKv(0));
                RangeQuery all = RangeQuery.of(new byte[] {0}, new byte[] {0});
                assertEquals(rocks.range(all).kvs(), restored.range(all).kvs());
                assertEquals(rocks.appliedIndex(), restored.appliedIndex());
            }
        }
    }
}
