package io.metastore.storage.rocksdb;

import io.metastore.storage.MvccStoreModelTest;
import io.metastore.storage.spi.*;
import java.nio.file.Path;
import java.util.function.*;

class TmpDebugModelTest extends MvccStoreModelTest {
    @Override
    protected MvccBackend openBackend(Path dir) {
        RocksDbBackend d = RocksDbBackend.open(dir);
        return new MvccBackend() {
            public StoredVersion latest(byte[] key, long r) { return d.latest(key, r); }
            public void scanLatest(byte[] s, byte[] e, long r, Predicate<StoredVersion> v) { d.scanLatest(s, e, r, v); }
            public void scanKeyHistory(byte[] k, long m, Predicate<StoredVersion> v) { d.scanKeyHistory(k, m, v); }
            public void scanRevisions(long f, long t, Predicate<StoredVersion> v) {
                System.err.println("DBG " + dir.getFileName() + " scanRevisions " + f + ".." + t);
                d.scanRevisions(f, t, x -> { System.err.println("DBG    -> " + x.kv() + " sub " + x.sub() + " tomb " + x.tombstone()); return v.test(x); });
            }
            public byte[] getMeta(byte[] k) { return d.getMeta(k); }
            public void scanMeta(byte[] p, BiConsumer<byte[], byte[]> v) { d.scanMeta(p, v); }
            public BackendBatch newBatch() {
                BackendBatch b = d.newBatch();
                return new BackendBatch() {
                    public void putVersion(StoredVersion v) { System.err.println("DBG " + dir.getFileName() + " put " + v.kv() + " sub " + v.sub() + " tomb " + v.tombstone()); b.putVersion(v); }
                    public void removeVersion(byte[] k, long m, long s) { System.err.println("DBG " + dir.getFileName() + " remove " + new String(k) + "@" + m + "." + s); b.removeVersion(k, m, s); }
                    public void putMeta(byte[] k, byte[] v) { b.putMeta(k, v); }
                    public void deleteMeta(byte[] k) { b.deleteMeta(k); }
                    public void commit() { System.err.println("DBG commit"); b.commit(); }
                    public void close() { b.close(); }
                };
            }
            public BackendView openView() { System.err.println("DBG openView"); return d.openView(); }
            public long sizeBytes() { return d.sizeBytes(); }
            public long sizeInUseBytes() { return d.sizeInUseBytes(); }
            public void defragment() { d.defragment(); }
            public void flush() { d.flush(); }
            public boolean durable() { return true; }
            public void clear() { System.err.println("DBG clear"); d.clear(); }
            public void close() { d.close(); }
        };
    }
}
