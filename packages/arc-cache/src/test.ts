import { describe, expect, it } from 'vitest'
import type { Cache } from './cache.js'
import { seededRandom } from '@cartridge/core'

/**
 * Conformance suite for {@link Cache} implementations. Call it inside a vitest file with a factory
 * that returns a fresh, empty cache of the given capacity (throwing `RangeError` for a bad one).
 */
export function runCacheSuite(name: string, make: (capacity: number) => Cache<unknown, unknown>): void {
  describe(`Cache conformance: ${name}`, () => {
    it('starts empty', () => {
      const c = make(4)
      expect(c.capacity).toBe(4)
      expect(c.size).toBe(0)
      expect(c.peek('a')).toBeUndefined()
      expect(c.stats).toEqual({ hits: 0, misses: 0, evictions: 0 })
    })

    it('gets and peeks what was set, by identity', () => {
      const c = make(4)
      const value = { page: 1 }
      c.set('a', value)
      expect(c.size).toBe(1)
      expect(c.get('a')).toBe(value)
      expect(c.peek('a')).toBe(value)
    })

    it('replaces in place, keeping the size', () => {
      const c = make(2)
      c.set('a', 1)
      c.set('b', 2)
      c.set('a', 3)
      expect(c.size).toBe(2)
      expect(c.get('a')).toBe(3)
      expect(c.get('b')).toBe(2)
      expect(c.stats.evictions).toBe(0)
    })

    it('counts hits and misses on get only', () => {
      const c = make(4)
      c.set('a', 1)
      c.get('a')
      c.get('a')
      c.get('b')
      c.peek('a')
      c.peek('b')
      expect(c.stats).toEqual({ hits: 2, misses: 1, evictions: 0 })
    })

    it('deletes: returns whether it was resident, and the key then misses', () => {
      const c = make(4)
      c.set('a', 1)
      expect(c.delete('a')).toBe(true)
      expect(c.delete('a')).toBe(false)
      expect(c.size).toBe(0)
      expect(c.get('a')).toBeUndefined()
      expect(c.stats.misses).toBe(1)
      c.set('a', 2)
      expect(c.get('a')).toBe(2)
    })

    it('clears every entry and keeps the stats', () => {
      const c = make(4)
      for (const k of ['a', 'b', 'c']) c.set(k, k)
      c.get('a')
      c.clear()
      expect(c.size).toBe(0)
      for (const k of ['a', 'b', 'c']) expect(c.peek(k)).toBeUndefined()
      expect(c.stats.hits).toBe(1)
      c.set('d', 4)
      expect(c.get('d')).toBe(4)
    })

    it('evicts one entry per insert beyond capacity', () => {
      const c = make(3)
      for (let k = 0; k < 10; k++) {
        c.set(k, k)
        expect(c.peek(k)).toBe(k)
      }
      expect(c.size).toBe(3)
      expect(c.stats.evictions).toBe(7)
    })

    it('works with capacity 1', () => {
      const c = make(1)
      c.set('a', 1)
      expect(c.get('a')).toBe(1)
      c.set('b', 2)
      expect(c.size).toBe(1)
      expect(c.peek('a')).toBeUndefined()
      expect(c.get('b')).toBe(2)
      c.set('a', 3)
      expect(c.get('a')).toBe(3)
      expect(c.stats.evictions).toBe(2)
    })

    it('throws RangeError for a capacity that is not a positive integer', () => {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => make(bad)).toThrow(RangeError)
      }
    })

    it('never exceeds capacity nor returns a stale value under random workloads', () => {
      for (const [seed, capacity, keys] of [[1, 1, 4], [2, 8, 32], [3, 16, 20], [4, 50, 400]]) {
        const rand = seededRandom(seed)
        const c = make(capacity)
        const latest = new Map<number, object>()
        let hits = 0
        let gets = 0
        for (let i = 0; i < 5000; i++) {
          const key = Math.floor(rand() * keys)
          const op = rand()
          if (op < 0.45) {
            const got = c.get(key)
            gets++
            if (got !== undefined) {
              hits++
              expect(got).toBe(latest.get(key))
            }
          } else if (op < 0.9) {
            const value = { key, i }
            c.set(key, value)
            latest.set(key, value)
            expect(c.peek(key)).toBe(value)
          } else if (op < 0.97) {
            const resident = c.peek(key) !== undefined
            expect(c.delete(key)).toBe(resident)
            latest.delete(key)
          } else {
            const got = c.peek(key)
            if (got !== undefined) expect(got).toBe(latest.get(key))
          }
          expect(c.size).toBeLessThanOrEqual(capacity)
        }
        let resident = 0
        for (let k = 0; k < keys; k++) if (c.peek(k) !== undefined) resident++
        expect(c.size).toBe(resident)
        expect(c.stats.hits).toBe(hits)
        expect(c.stats.misses).toBe(gets - hits)
      }
    })
  })
}
