package io.metastore.server;

class RocksDbKvIntegrationTest extends KvIntegrationTest {
    @Override
    ServerConfig.StorageEngine engine() {
        return ServerConfig.StorageEngine.ROCKSDB;
    }
}
