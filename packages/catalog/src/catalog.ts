import type { BlockPtr } from '@cartridge/pager'

/**
 * An opaque token for reading one state of a catalog (from {@link Catalog.version} or
 * {@link Catalog.savepoint}). `BTreeCatalog` also accepts `{ root: BlockPtr }` for a committed root.
 */
export interface CatalogVersion {
  readonly root: unknown
}

/** Options of {@link Catalog.entries}. */
export interface CatalogEntriesOptions {
  /** First key to return (inclusive). Default: the first key. */
  from?: string
  /** Only keys that start with this string; iteration stops at the first key past it. Default `''`. */
  prefix?: string
  /** Iterate this state instead of the working state. */
  at?: CatalogVersion
}

/**
 * An ordered map from keys (normalized path strings, ordered by their UTF-8 bytes) to small binary
 * values, kept in checksummed pages and written copy-on-write.
 *
 * Values are copied on the way in and on the way out: callers own the arrays they pass and receive.
 */
export interface Catalog {
  /** The value stored under `key` in the working state (or in `at`), or `undefined`. */
  get(key: string, at?: CatalogVersion): Uint8Array | undefined
  /**
   * Inserts or replaces the value of `key`.
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` when the key is longer than
   * `MAX_KEY_BYTES` UTF-8 bytes or not well-formed, or the value is longer than `MAX_VALUE_BYTES`.
   */
  put(key: string, value: Uint8Array): void
  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean
  /**
   * Sorted iteration of entries with key >= `from` (default: first) whose key starts with `prefix`
   * (default `''`). Stops at the first key past the prefix. Lazy; costs O(log n + k).
   * Without `at` it iterates the working state as it was when `entries()` was called.
   */
  entries(options?: CatalogEntriesOptions): IterableIterator<[string, Uint8Array]>
  /** Version token of the current (working) state; stays readable until the next flush() that follows a mutation. */
  version(): CatalogVersion
  /** Savepoint for one operation; `rollback(token)` restores the tree exactly to that point. */
  savepoint(): CatalogVersion
  /**
   * Restores the working state of a savepoint taken since the last flush that wrote pages.
   * Frees made since the savepoint are the caller's allocator's to undo.
   */
  rollback(to: CatalogVersion): void
  /**
   * Writes every dirty node bottom-up through the page IO (children before parents, since parent
   * pointers carry the child's checksum and txn) and returns the new root pointer (`NULL_PTR` when
   * empty). Afterwards nothing is dirty.
   */
  flush(): BlockPtr
  /** True when there are unflushed changes. */
  readonly dirty: boolean
  /**
   * Levels of the working state's tree (0 when empty): how many pages a change to one key
   * rewrites at most. The container keeps room for two such paths so a delete can commit when
   * everything else is full.
   */
  readonly height: number
}
