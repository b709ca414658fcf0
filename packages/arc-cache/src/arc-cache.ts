import { checkCapacity, type Cache, type CacheStats } from './cache.js'

/** Oldest key of an insertion-ordered `Map` or `Set`. Callers check the collection is not empty. */
function lru<K>(list: Map<K, unknown> | Set<K>): K {
  return list.keys().next().value as K
}

/**
 * Adaptive Replacement Cache (Megiddo & Modha, FAST 2003). Resident entries live in T1 (seen once
 * recently) and T2 (seen at least twice); ghost lists B1 and B2 remember the keys recently evicted
 * from each. A `set` of a key found in B1 grows the target size `p` of T1, one found in B2 shrinks
 * it, so the cache balances recency against frequency and resists one-time scans.
 *
 * Each list is an insertion-ordered `Map`/`Set` (oldest first; delete + set moves a key to the MRU
 * end), so every operation is O(1). Bounds: `|T1| + |T2| ≤ c`, `|T1| + |B1| ≤ c`, and all four
 * lists together hold at most `2c` keys.
 *
 * A `get` on a ghost key is a plain miss: the ghost hit is counted, and `p` adapted, when the
 * caller `set`s the value it fetched.
 */
export class ArcCache<K, V> implements Cache<K, V> {
  readonly capacity: number
  #t1 = new Map<K, V>()
  #t2 = new Map<K, V>()
  #b1 = new Set<K>()
  #b2 = new Set<K>()
  #p = 0
  #stats: CacheStats = { hits: 0, misses: 0, evictions: 0 }

  /** @param capacity maximum resident entries; a positive integer, else `RangeError` */
  constructor(capacity: number) {
    checkCapacity(capacity)
    this.capacity = capacity
  }

  get size(): number {
    return this.#t1.size + this.#t2.size
  }

  get stats(): CacheStats {
    return { ...this.#stats }
  }

  /** The adaptive target size of T1, between 0 and `capacity`. For tests and benchmarks. */
  get target(): number {
    return this.#p
  }

  /** Number of ghost keys (B1 + B2), at most `capacity`. For tests and benchmarks. */
  get ghostCount(): number {
    return this.#b1.size + this.#b2.size
  }

  get(key: K): V | undefined {
    // One lookup per list (values are never undefined: that is what a miss returns).
    let value = this.#t1.get(key)
    if (value !== undefined) this.#t1.delete(key)
    else {
      value = this.#t2.get(key)
      if (value === undefined) {
        this.#stats.misses++
        return undefined
      }
      this.#t2.delete(key)
    }
    this.#t2.set(key, value)
    this.#stats.hits++
    return value
  }

  peek(key: K): V | undefined {
    // Not `??`: a resident null value must be returned as is.
    const value = this.#t1.get(key)
    return value !== undefined ? value : this.#t2.get(key)
  }

  set(key: K, value: V): void {
    const c = this.capacity
    if (this.#t1.delete(key) || this.#t2.delete(key)) {
      // Case I: resident. Replacing is an access: move to the MRU end of T2.
    } else if (this.#b1.has(key)) {
      // Case II: recency ghost hit. T1 was too small: grow its target.
      this.#p = Math.min(c, this.#p + Math.max(this.#b2.size / this.#b1.size, 1))
      this.#b1.delete(key)
      this.#replace(false)
    } else if (this.#b2.has(key)) {
      // Case III: frequency ghost hit. T2 was too small: shrink T1's target.
      this.#p = Math.max(0, this.#p - Math.max(this.#b1.size / this.#b2.size, 1))
      this.#b2.delete(key)
      this.#replace(true)
    } else {
      // Case IV: a new key enters T1.
      const l1 = this.#t1.size + this.#b1.size
      if (l1 >= c) {
        if (this.#t1.size < c) {
          this.#b1.delete(lru(this.#b1))
          this.#replace(false)
        } else {
          this.#t1.delete(lru(this.#t1))
          this.#stats.evictions++
        }
      } else if (l1 + this.#t2.size + this.#b2.size >= c) {
        if (l1 + this.#t2.size + this.#b2.size >= 2 * c) this.#b2.delete(lru(this.#b2))
        this.#replace(false)
      }
      this.#t1.set(key, value)
      return
    }
    this.#t2.set(key, value)
  }

  delete(key: K): boolean {
    this.#b1.delete(key)
    this.#b2.delete(key)
    return this.#t1.delete(key) || this.#t2.delete(key)
  }

  clear(): void {
    this.#t1.clear()
    this.#t2.clear()
    this.#b1.clear()
    this.#b2.clear()
    this.#p = 0
  }

  /**
   * REPLACE from the paper: if the cache is full, demote the LRU of T1 to B1 when T1 exceeds its
   * target (or meets it on a B2 hit), else the LRU of T2 to B2. A no-op while there is room, which
   * only happens after `delete`s.
   */
  #replace(inB2: boolean): void {
    if (this.size < this.capacity) return
    const t1 = this.#t1.size
    if (t1 > 0 && (this.#t2.size === 0 || t1 > this.#p || (inB2 && t1 === this.#p))) {
      const k = lru(this.#t1)
      this.#t1.delete(k)
      this.#b1.add(k)
    } else {
      const k = lru(this.#t2)
      this.#t2.delete(k)
      this.#b2.add(k)
    }
    this.#stats.evictions++
  }
}
