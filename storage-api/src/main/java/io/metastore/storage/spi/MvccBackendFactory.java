package io.metastore.storage.spi;

import java.nio.file.Path;

/** Opens an engine in a data directory (created if absent). */
@FunctionalInterface
public interface MvccBackendFactory {
    MvccBackend open(Path dir);
}
