package io.metastore.storage;

/** Sizes for Maintenance.Status and the quota: physical bytes on disk (or in memory) and logical bytes in use. */
public record StoreStats(long sizeBytes, long sizeInUseBytes, long keys) {}
