import { describe, expect, it } from 'vitest'
import { LruCache } from './lru-cache.js'
import { runCacheSuite } from './test.js'

runCacheSuite('LruCache', (capacity) => new LruCache(capacity))

describe('LruCache', () => {
  it('evicts the least recently used key, where get refreshes and peek does not', () => {
    const c = new LruCache<string, number>(2)
    c.set('a', 1)
    c.set('b', 2)
    c.get('a')
    c.set('c', 3)
    expect(c.peek('b')).toBeUndefined()
    c.peek('a')
    c.set('d', 4)
    expect(c.peek('a')).toBeUndefined()
    expect(c.peek('c')).toBe(3)
  })
})
