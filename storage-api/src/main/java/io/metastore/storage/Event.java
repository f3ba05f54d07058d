package io.metastore.storage;

/**
 * A change at one revision. For DELETE, {@code kv} carries only the key and the deletion revision as
 * mod_revision (what etcd sends to watchers). {@code prevKv} is the version the change replaced, or null
 * when the key did not exist (or, for history replays, when that version has been compacted away).
 */
public record Event(Type type, KeyValue kv, KeyValue prevKv) {
    public enum Type { PUT, DELETE }

    public long revision() {
        return kv.modRevision();
    }
}
