/** Hit, miss and eviction counters of a {@link Cache}. Cumulative: `clear()` does not reset them. */
export interface CacheStats {
  /** `get` calls that found the key resident. */
  hits: number
  /** `get` calls that did not. */
  misses: number
  /** Entries pushed out by the replacement policy to make room in `set` (not `delete` or `clear`). */
  evictions: number
}

/**
 * A bounded in-memory cache of pages (or any values), keyed by `K`. Every page cache implements it;
 * `runCacheSuite` from `@cartridge/arc-cache/test` checks the contract.
 */
export interface Cache<K, V> {
  /** Maximum number of resident entries; a positive integer fixed at construction. */
  readonly capacity: number
  /** Number of resident entries, never above `capacity`. */
  readonly size: number
  /** Returns the value for `key` (`undefined` on a miss, so values are never `undefined`), counting a hit or a miss and updating the policy (recency, frequency). */
  get(key: K): V | undefined
  /** Returns the value for `key` without touching stats or the policy. */
  peek(key: K): V | undefined
  /** Inserts or replaces `key`, evicting per policy first if full; `key` is resident afterwards. */
  set(key: K, value: V): void
  /** Removes `key` (and any history the policy keeps for it); returns whether it was resident. */
  delete(key: K): boolean
  /** Removes every entry and all policy history; keeps `stats`. */
  clear(): void
  /** A snapshot of the counters. */
  readonly stats: CacheStats
}

/**
 * Throws a `RangeError` unless `capacity` is a positive safe integer. For implementations'
 * constructors.
 */
export function checkCapacity(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`cache capacity must be a positive integer, got ${String(capacity)}`)
  }
}
