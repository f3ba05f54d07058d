package io.metastore.server.watch;

/**
 * A create request, normalised as etcd's v3rpc does: empty key means "\0", an empty range end means the
 * single key, and "\0" as range end means every key >= key. {@code watchId} 0 = let the server choose.
 */
public record WatchRequestSpec(byte[] key, byte[] rangeEnd, long startRevision, boolean progressNotify,
                               boolean noPut, boolean noDelete, boolean prevKv, long watchId, boolean fragment) {}
