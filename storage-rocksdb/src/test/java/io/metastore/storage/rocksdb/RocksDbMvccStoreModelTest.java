package io.metastore.storage.rocksdb;

import io.metastore.storage.MvccStoreModelTest;
import io.metastore.storage.spi.MvccBackend;

import java.nio.file.Path;

/** Randomised store operations checked against a reference model, over the RocksDB engine. */
class RocksDbMvccStoreModelTest extends MvccStoreModelTest {
    @Override
    protected MvccBackend openBackend(Path dir) {
        return RocksDbBackend.open(dir);
    }
}
