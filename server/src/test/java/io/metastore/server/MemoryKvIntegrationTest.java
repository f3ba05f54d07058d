package io.metastore.server;

class MemoryKvIntegrationTest extends KvIntegrationTest {
    @Override
    ServerConfig.StorageEngine engine() {
        return ServerConfig.StorageEngine.MEMORY;
    }
}
