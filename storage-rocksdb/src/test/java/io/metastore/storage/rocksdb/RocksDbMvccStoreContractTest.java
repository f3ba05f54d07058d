package io.metastore.storage.rocksdb;

import io.metastore.storage.MvccStoreContractTest;
import io.metastore.storage.spi.MvccBackend;

import java.nio.file.Path;

/** The engine-independent MVCC contract, run over the RocksDB engine (each store in its own @TempDir dir). */
class RocksDbMvccStoreContractTest extends MvccStoreContractTest {
    @Override
    protected MvccBackend openBackend(Path dir) {
        return RocksDbBackend.open(dir);
    }
}
