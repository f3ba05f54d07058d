package io.metastore.server.launcher;

import io.metastore.server.ServerConfig;
import io.metastore.server.SnapshotRestore;

import java.nio.file.Path;

/** `scripts/metastore snapshot restore FILE --data-dir DIR [--storage-engine rocksdb|memory] [--name NAME]`. */
public final class SnapshotRestoreCommand {
    private SnapshotRestoreCommand() {}

    public static void main(String[] args) {
        String file = null;
        String dataDir = null;
        String name = "default";
        ServerConfig.StorageEngine engine = ServerConfig.StorageEngine.ROCKSDB;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("-") && eq > 0) {
                    value = a.substring(eq + 1);
                    a = a.substring(0, eq);
                }
                switch (a.replaceFirst("^--?", "--")) {
                    case "--data-dir" -> dataDir = value != null ? value : args[++i];
                    case "--name" -> name = value != null ? value : args[++i];
                    case "--storage-engine" -> engine = ServerConfig.StorageEngine.valueOf(
                            (value != null ? value : args[++i]).toUpperCase());
                    default -> {
                        if (a.startsWith("-")) {
                            throw new IllegalArgumentException("unknown flag: " + a);
                        }
                        if (file != null) {
                            throw new IllegalArgumentException("more than one snapshot file given");
                        }
                        file = a;
                    }
                }
            }
            if (file == null) {
                throw new IllegalArgumentException("snapshot restore requires a snapshot file");
            }
            Path dir = Path.of(dataDir != null ? dataDir : name + ".etcd");
            SnapshotRestore.restore(Path.of(file), dir, engine);
            System.out.println("restored snapshot " + file + " into " + dir);
        } catch (Exception e) {
            System.err.println("metastore snapshot restore: " + e.getMessage());
            System.exit(1);
        }
    }
}
