/**
 * The building blocks of {@link io.metastore.storage.MvccStoreImpl}: one class per job (bookkeeping,
 * range evaluation, the write overlay, history replay, hashing, compaction, the snapshot codec).
 * Public only because Java packages leave no other choice; not an API for other modules.
 */
package io.metastore.storage.internal;
