import { checkCapacity, type Cache, type CacheStats } from './cache.js'

/**
 * Least-recently-used cache: one `Map` in recency order (oldest first); `get` and `set` move the key
 * to the end, and a full `set` evicts the first key. The simple baseline for {@link ArcCache}.
 */
export class LruCache<K, V> implements Cache<K, V> {
  readonly capacity: number
  #map = new Map<K, V>()
  #stats: CacheStats = { hits: 0, misses: 0, evictions: 0 }

  /** @param capacity maximum resident entries; a positive integer, else `RangeError` */
  constructor(capacity: number) {
    checkCapacity(capacity)
    this.capacity = capacity
  }

  get size(): number {
    return this.#map.size
  }

  get stats(): CacheStats {
    return { ...this.#stats }
  }

  get(key: K): V | undefined {
    // One lookup (values are never undefined: that is what a miss returns).
    const value = this.#map.get(key)
    if (value === undefined) {
      this.#stats.misses++
      return undefined
    }
    this.#map.delete(key)
    this.#map.set(key, value)
    this.#stats.hits++
    return value
  }

  peek(key: K): V | undefined {
    return this.#map.get(key)
  }

  set(key: K, value: V): void {
    if (!this.#map.delete(key) && this.#map.size >= this.capacity) {
      this.#map.delete(this.#map.keys().next().value as K)
      this.#stats.evictions++
    }
    this.#map.set(key, value)
  }

  delete(key: K): boolean {
    return this.#map.delete(key)
  }

  clear(): void {
    this.#map.clear()
  }
}
