package io.metastore.storage.memory;

import io.metastore.storage.MvccStoreModelTest;
import io.metastore.storage.spi.MvccBackend;

import java.nio.file.Path;

class MemoryMvccStoreModelTest extends MvccStoreModelTest {
    @Override
    protected MvccBackend openBackend(Path dir) {
        return MemoryBackend.open();
    }
}
