package io.metastore.storage.memory;

import io.metastore.storage.MvccStoreContractTest;
import io.metastore.storage.spi.MvccBackend;

import java.nio.file.Path;

class MemoryMvccStoreContractTest extends MvccStoreContractTest {
    @Override
    protected MvccBackend openBackend(Path dir) {
        return MemoryBackend.open();
    }
}
