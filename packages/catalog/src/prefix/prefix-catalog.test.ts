import { seededRandom } from '@cartridge/core'
import { MemoryPageIO, NULL_PTR, type BlockPtr } from '@cartridge/pager'
import { describe, expect, it } from 'vitest'
import { btreeCatalog } from '../btree-catalog-factory.js'
import type { Catalog } from '../catalog.js'
import type { CatalogFactory } from '../catalog-factory.js'
import { MAX_VALUE_BYTES } from '../limits.js'
import { runCatalogSuite } from '../test.js'
import { prefixCatalog } from './prefix-catalog-factory.js'
import { checkPrefixLeaves, parsePrefixLeaf } from './prefix-test-pages.js'

runCatalogSuite('prefixCatalog', prefixCatalog)

const caches = new WeakMap<MemoryPageIO, Map<number, unknown>>()
function cacheOf(io: MemoryPageIO): Map<number, unknown> {
  let cache = caches.get(io)
  if (!cache) caches.set(io, (cache = new Map()))
  return cache
}
runCatalogSuite('prefixCatalog with a node cache', prefixCatalog, (io) => ({ cache: cacheOf(io) }))

/** A MemoryPageIO whose frees wait for commit(), so a rollback can undo them (as in the conformance suite). */
class UndoablePageIO extends MemoryPageIO {
  #pending: BlockPtr[] = []
  override free(ptr: BlockPtr): void {
    if (!this.live.has(ptr.page) || this.#pending.some((p) => p.page === ptr.page)) throw new Error(`double free of page ${ptr.page}`)
    this.#pending.push(ptr)
  }
  mark(): number {
    return this.#pending.length
  }
  undo(mark: number): void {
    this.#pending.length = mark
  }
  override commit(): void {
    for (const p of this.#pending.splice(0)) super.free(p)
    super.commit()
  }
}

/** `/logs/YYYY/MM/DD/app-<ISO time>.log` for `n` times from 2026-12-04T10:00Z, `step()` ms apart. */
function logKeys(n: number, step: () => number): string[] {
  let t = Date.UTC(2026, 11, 4, 10)
  return Array.from({ length: n }, () => {
    const iso = new Date((t += step())).toISOString()
    return `/logs/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/app-${iso}.log`
  })
}

const leafSizes = (factory: CatalogFactory, io: MemoryPageIO, root: BlockPtr): number[] => {
  const out: number[] = []
  factory.visit(io, root, { onNode: (_, level, keys) => level === 0 && out.push(keys.length) })
  return out
}

/** Flushes, commits, and checks pages (live = reachable), leaves (canonical prefix, size rule) and contents. */
function settle(io: UndoablePageIO, cat: Catalog, model: Map<string, Uint8Array>): BlockPtr {
  const root = cat.flush()
  io.commit()
  const reachable: number[] = []
  prefixCatalog.visit(io, root, { onNode: (ptr) => reachable.push(ptr.page) })
  expect([...io.live].sort((a, b) => a - b)).toEqual(reachable.sort((a, b) => a - b))
  checkPrefixLeaves(prefixCatalog, io, root)
  const sorted = [...model.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  expect([...cat.entries()].map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`)).toEqual(sorted.map((k) => `${k}=${Buffer.from(model.get(k)!).toString('hex')}`))
  return root
}

describe('prefixCatalog trees', () => {
  it('a split gives both halves a longer prefix than the whole', () => {
    const io = new UndoablePageIO()
    const cat = prefixCatalog.open(io, NULL_PTR)
    const model = new Map<string, Uint8Array>()
    const key = (group: string, i: number): string => `/p/${group.repeat(60)}${String(i).padStart(2, '0')}`
    // 20 b's, then 19 a's before them: one leaf, prefix '/p/', 5 + 39 × 103 = 4022 bytes.
    for (const [g, i] of [...Array.from({ length: 20 }, (_, i) => ['b', i] as const), ...Array.from({ length: 19 }, (_, i) => ['a', i] as const)]) {
      model.set(key(g, i), new Uint8Array(37).fill(i))
      cat.put(key(g, i), model.get(key(g, i))!)
    }
    let root = settle(io, cat, model)
    expect(parsePrefixLeaf(io.pages.get(root.page)!).prefix).toBe('/p/')
    // The 40th entry overflows it; the most even cut is between the groups, each with 63 bytes of prefix.
    model.set(key('a', 19), new Uint8Array(37))
    cat.put(key('a', 19), new Uint8Array(37))
    root = settle(io, cat, model)
    const leaves: string[] = []
    prefixCatalog.visit(io, root, { onNode: (ptr, level) => level === 0 && leaves.push(parsePrefixLeaf(io.pages.get(ptr.page)!).prefix) })
    expect(leaves).toEqual([`/p/${'a'.repeat(60)}`, `/p/${'b'.repeat(60)}`])
  })

  it('merges two leaves only when they fit with the prefix they share, not their own', () => {
    const io = new UndoablePageIO()
    const cat = prefixCatalog.open(io, NULL_PTR)
    const model = new Map<string, Uint8Array>()
    const key = (group: string, i: number): string => `/x/${group.repeat(900)}${String(i).padStart(3, '0')}`
    for (const g of ['a', 'b']) for (let i = 0; i < 30; i++) model.set(key(g, i), new Uint8Array(0))
    for (const k of model.keys()) cat.put(k, new Uint8Array(0))
    let root = settle(io, cat, model)
    expect(leafSizes(prefixCatalog, io, root)).toEqual([30, 30])
    const drop = (k: string): void => {
      expect(cat.delete(k)).toBe(true)
      model.delete(k)
    }
    // Each leaf alone falls far under a quarter page (2 + 904 + n × 6 bytes), but merged their
    // prefix is '/x/' and each entry takes 907 bytes: they fit one page only at 4 entries.
    for (let i = 0; i < 28; i++) drop(key('a', i))
    for (let i = 0; i < 27; i++) drop(key('b', i))
    root = settle(io, cat, model)
    expect(leafSizes(prefixCatalog, io, root)).toEqual([2, 3])
    drop(key('b', 27))
    root = settle(io, cat, model)
    expect(leafSizes(prefixCatalog, io, root)).toEqual([4])
    expect(parsePrefixLeaf(io.pages.get(root.page)!).prefix).toBe('/x/')
  })

  it('entries put at the front or the back of a leaf shrink its prefix, and split it when it no longer fits', () => {
    const io = new UndoablePageIO()
    const cat = prefixCatalog.open(io, NULL_PTR)
    const model = new Map<string, Uint8Array>()
    const put = (k: string): void => {
      model.set(k, new Uint8Array(40).fill(k.length))
      cat.put(k, model.get(k)!)
    }
    for (const k of logKeys(60, () => 1000)) put(k)
    let root = settle(io, cat, model)
    expect(parsePrefixLeaf(io.pages.get(root.page)!).prefix).toBe('/logs/2026/12/04/app-2026-12-04T10:0')
    put('/logs/2026/12/04/app-2026-12-04T10:00:00.000Z.log') // front, same prefix
    put('/logs/2026/12/04/app-2026-12-04T10:09:00.000Z.log') // back, same prefix
    root = settle(io, cat, model)
    expect(parsePrefixLeaf(io.pages.get(root.page)!).prefix).toBe('/logs/2026/12/04/app-2026-12-04T10:0')
    put('/logs/2026/12/04/app-2026-12-04T09:59:59.999Z.log') // front: the prefix loses 2 bytes, still fits
    root = settle(io, cat, model)
    expect(parsePrefixLeaf(io.pages.get(root.page)!).prefix).toBe('/logs/2026/12/04/app-2026-12-04T')
    put('/logs/2026/12/05/app-2026-12-05T00:00:00.000Z.log') // back: 15 bytes of prefix left, 64 × 79 bytes do not fit
    root = settle(io, cat, model)
    expect(leafSizes(prefixCatalog, io, root)).toEqual([63, 1])
    put('/logs/2026/12/03/app-2026-12-03T23:59:59.999Z.log') // front of the first leaf: it splits too
    root = settle(io, cat, model)
    const sizes = leafSizes(prefixCatalog, io, root)
    expect(sizes.length).toBe(3)
    expect(sizes.reduce((a, b) => a + b)).toBe(65)
  })

  it('matches a model under puts, deletes, rotation, savepoints, rollbacks, flushes and reopening', () => {
    for (const seed of [1, 2]) {
      const io = new UndoablePageIO()
      let cat = prefixCatalog.open(io, NULL_PTR)
      const rand = seededRandom(seed)
      const model = new Map<string, Uint8Array>()
      const logs = logKeys(30_000, () => 1 + Math.floor(rand() * 4000))
      let nextLog = 0
      let oldestLog = 0
      const known: string[] = []
      const pick = (): string => known[Math.floor(rand() * known.length)] ?? '/'
      const words = ['src', 'lib', 'données', '中文', '\u{1F600}', 'a'.repeat(200)]
      /** A key beside an existing one: a prefix of it, an extension, or one that diverges at some point. */
      const beside = (k: string): string => {
        const at = Math.floor(rand() * k.length)
        switch (Math.floor(rand() * 4)) {
          case 0: return k.slice(0, at + 1)
          case 1: return `${k}-${Math.floor(rand() * 100)}`
          case 2: return k.slice(0, at) + ['~', '\u00e9', '\u{1F601}', ' '][Math.floor(rand() * 4)] + k.slice(at)
          default: return k.slice(0, at) + String.fromCharCode(0x21 + Math.floor(rand() * 90)) + k.slice(at + 1)
        }
      }
      const newKey = (): string => {
        const r = rand()
        if (r < 0.45 && nextLog < logs.length) return logs[nextLog++]
        if (r < 0.75) return beside(pick())
        let p = ''
        for (let d = Math.floor(rand() * 6); d >= 0; d--) p += '/' + words[Math.floor(rand() * words.length)]
        return `${p}/f${Math.floor(rand() * 1e4)}`
      }
      const value = (): Uint8Array => new Uint8Array(rand() < 0.03 ? MAX_VALUE_BYTES : Math.floor(rand() * 60)).fill(Math.floor(rand() * 256))
      const step = (undo?: [string, Uint8Array | undefined][]): void => {
        const r = rand()
        let k: string
        if (r < 0.6) {
          k = rand() < 0.15 ? pick() : newKey()
          // Cutting keys at random may split a surrogate pair, or make them too long.
          if (/\p{Surrogate}/u.test(k) || Buffer.byteLength(k) > 1024) return
          undo?.push([k, model.get(k)])
          const v = value()
          cat.put(k, v)
          model.set(k, v)
          known.push(k)
          return
        }
        // Deletes: the oldest log (rotation) or a key put before (often gone already).
        k = r < 0.75 && oldestLog < nextLog ? logs[oldestLog++] : pick()
        undo?.push([k, model.get(k)])
        expect(cat.delete(k)).toBe(model.delete(k))
      }
      for (let round = 0; round < 12; round++) {
        for (let n = 0; n < 1500; n++) {
          if (rand() < 0.1) {
            const sp = cat.savepoint()
            const mark = io.mark()
            const undo: [string, Uint8Array | undefined][] = []
            for (let s = 1 + Math.floor(rand() * 8); s > 0; s--) step(undo)
            if (rand() < 0.5) {
              cat.rollback(sp)
              io.undo(mark)
              for (const [k, v] of undo.reverse()) v === undefined ? model.delete(k) : model.set(k, v)
            }
          } else step()
        }
        const root = settle(io, cat, model)
        if (round % 3 === 2) cat = prefixCatalog.open(io, root)
        for (let n = 0; n < 200; n++) {
          const k = pick()
          expect(cat.get(k)).toEqual(model.get(k))
        }
      }
      expect(model.size).toBeGreaterThan(1000)
    }
  })
})

describe('prefixCatalog space', () => {
  /** Pages a catalog of `keys` (in this order, each with a `valueLen`-byte value) takes. */
  const pages = (factory: CatalogFactory, keys: readonly string[], valueLen: number): number => {
    const io = new MemoryPageIO()
    const cat = factory.open(io, NULL_PTR)
    for (const k of keys) cat.put(k, new Uint8Array(valueLen).fill(0x41))
    cat.flush()
    io.commit()
    return io.live.size
  }
  const shuffled = <T>(items: readonly T[], seed: number): T[] => {
    const rand = seededRandom(seed)
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }

  it('takes under 75% of the reference’s pages for 20,000 time-named log files', () => {
    const rand = seededRandom(1)
    const keys = logKeys(20_000, () => 1 + Math.floor(rand() * 2000))
    expect(keys[0]).toMatch(/^\/logs\/2026\/12\/04\/app-2026-12-04T10:00:\d\d\.\d{3}Z\.log$/)
    // Measured: 475 → 293 pages in time order (62%), 691 → 432 shuffled (63%).
    for (const order of [keys, shuffled(keys, 2)]) {
      const [reference, prefix] = [pages(btreeCatalog, order, 40), pages(prefixCatalog, order, 40)]
      expect(prefix).toBeLessThanOrEqual(0.75 * reference)
    }
  })

  it('takes fewer pages for deep directory trees, and at most a few more when keys share nothing', () => {
    const rand = seededRandom(3)
    const words = ['src', 'lib', 'test', 'docs', 'assets', 'images', 'components', 'utils', 'api', 'models', 'views', 'packages']
    const paths = new Set<string>()
    while (paths.size < 20_000) {
      let p = ''
      for (let d = Math.floor(rand() * 5); d >= 0; d--) p += '/' + words[Math.floor(rand() * words.length)]
      paths.add(`${p}/file-${Math.floor(rand() * 1e6).toString(36)}.ts`)
    }
    // Measured: 556 → 477 pages (86%); keys that share nothing: 399 → 394.
    expect(pages(prefixCatalog, [...paths], 40)).toBeLessThanOrEqual(0.9 * pages(btreeCatalog, [...paths], 40))
    const unrelated = Array.from({ length: 20_000 }, () => Math.floor(rand() * 2 ** 52).toString(36))
    expect(pages(prefixCatalog, unrelated, 40)).toBeLessThanOrEqual(1.02 * pages(btreeCatalog, unrelated, 40))
  })
})
