package io.metastore.storage;

/** HashKV: CRC32-C over the retained history up to {@code hashRevision}. */
public record HashResult(int hash, long compactRevision, long hashRevision) {}
