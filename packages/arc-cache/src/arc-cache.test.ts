import { describe, expect, it } from 'vitest'
import { ArcCache } from './arc-cache.js'
import { LruCache } from './lru-cache.js'
import { seededRandom } from '@cartridge/core'
import { runCacheSuite } from './test.js'
import { replayTrace, scanPollutedTrace, slidingWindowTrace } from './workloads.js'

runCacheSuite('ArcCache', (capacity) => new ArcCache(capacity))

/** The paper's pseudo-code on plain arrays (index 0 = LRU): hit or miss per request. */
function referenceArc(c: number, trace: number[]): boolean[] {
  const [t1, t2, b1, b2]: number[][] = [[], [], [], []]
  let p = 0
  const drop = (list: number[], x: number) => list.splice(list.indexOf(x), 1)
  const replace = (x: number) => {
    if (t1.length > 0 && (t1.length > p || (b2.includes(x) && t1.length === p))) b1.push(t1.shift()!)
    else b2.push(t2.shift()!)
  }
  return trace.map((x) => {
    if (t1.includes(x) || t2.includes(x)) {
      drop(t1.includes(x) ? t1 : t2, x)
      t2.push(x)
      return true
    }
    if (b1.includes(x)) {
      p = Math.min(c, p + Math.max(b2.length / b1.length, 1))
      replace(x)
      drop(b1, x)
      t2.push(x)
    } else if (b2.includes(x)) {
      p = Math.max(0, p - Math.max(b1.length / b2.length, 1))
      replace(x)
      drop(b2, x)
      t2.push(x)
    } else {
      const total = t1.length + t2.length + b1.length + b2.length
      if (t1.length + b1.length === c) {
        if (t1.length < c) {
          b1.shift()
          replace(x)
        } else t1.shift()
      } else if (total >= c) {
        if (total === 2 * c) b2.shift()
        replace(x)
      }
      t1.push(x)
    }
    return false
  })
}

describe('ArcCache', () => {
  it('matches the paper pseudo-code request by request', () => {
    for (const [seed, c, keys] of [[1, 1, 3], [2, 4, 12], [3, 10, 40], [4, 32, 100]]) {
      const rand = seededRandom(seed)
      const trace = Array.from({ length: 4000 }, () => Math.floor(rand() * rand() * keys))
      const cache = new ArcCache<number, number>(c)
      const hits = trace.map((x) => cache.get(x) !== undefined || (cache.set(x, x), false))
      expect(hits).toEqual(referenceArc(c, trace))
    }
  })

  it('keeps the directory bounded (resident ≤ c, ghosts ≤ c) with deletes', () => {
    const rand = seededRandom(7)
    const c = 16
    const cache = new ArcCache<number, number>(c)
    for (let i = 0; i < 10_000; i++) {
      const key = Math.floor(rand() * rand() * 64)
      if (rand() < 0.1) cache.delete(key)
      else if (cache.get(key) === undefined) cache.set(key, key)
      expect(cache.size).toBeLessThanOrEqual(c)
      expect(cache.ghostCount).toBeLessThanOrEqual(c)
      expect(cache.target).toBeGreaterThanOrEqual(0)
      expect(cache.target).toBeLessThanOrEqual(c)
    }
  })

  it('adapts p: a B1 ghost hit grows it, a B2 ghost hit shrinks it', () => {
    const cache = new ArcCache<string, number>(2)
    cache.set('a', 1)
    cache.get('a') // T2 = {a}
    cache.set('b', 2)
    cache.set('c', 3) // b → B1
    expect(cache.peek('b')).toBeUndefined()
    expect(cache.target).toBe(0)
    cache.set('b', 2) // B1 hit; a → B2
    expect(cache.target).toBe(1)
    expect(cache.peek('a')).toBeUndefined()
    cache.set('a', 1) // B2 hit
    expect(cache.target).toBe(0)
    expect(cache.ghostCount).toBe(1)
  })

  it('keeps a twice-used key through a scan longer than the cache', () => {
    const cache = new ArcCache<string, number>(4)
    cache.set('hot', 1)
    cache.get('hot')
    for (let i = 0; i < 100; i++) cache.set(`scan${i}`, i)
    expect(cache.peek('hot')).toBe(1)
  })

  it('removes a deleted key from the ghost lists too', () => {
    const cache = new ArcCache<string, number>(2)
    cache.set('a', 1)
    cache.get('a')
    cache.set('b', 2)
    cache.set('c', 3) // b → B1
    expect(cache.ghostCount).toBe(1)
    expect(cache.delete('b')).toBe(false)
    expect(cache.ghostCount).toBe(0)
  })

  it('beats LRU by ≥ 10 points on a scan-polluted 80/20 workload', () => {
    const trace = scanPollutedTrace(42, 60_000)
    const arc = replayTrace(new ArcCache(100), trace)
    const lru = replayTrace(new LruCache(100), trace)
    expect(arc - lru).toBeGreaterThanOrEqual(0.1)
  })

  it('stays within 5 points of LRU on a recency-friendly workload', () => {
    const trace = slidingWindowTrace(42, 60_000)
    const arc = replayTrace(new ArcCache(100), trace)
    const lru = replayTrace(new LruCache(100), trace)
    expect(Math.abs(arc - lru)).toBeLessThanOrEqual(0.05)
  })
})
