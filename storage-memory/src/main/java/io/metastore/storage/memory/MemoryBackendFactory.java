package io.metastore.storage.memory;

import io.metastore.storage.spi.MvccBackend;
import io.metastore.storage.spi.MvccBackendFactory;

import java.nio.file.Path;

/** Opens a fresh {@link MemoryBackend}; the directory is ignored since nothing is written to disk. */
public final class MemoryBackendFactory implements MvccBackendFactory {
    @Override
    public MvccBackend open(Path dir) {
        return MemoryBackend.open();
    }
}
