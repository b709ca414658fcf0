import { seededRandom, utf8 } from '@cartridge/core'
import { MemoryPageIO, NULL_PTR, isNullPtr, type BlockPtr } from '@cartridge/pager'
import { describe, expect, it } from 'vitest'
import type { Catalog, CatalogEntriesOptions } from './catalog.js'
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.js'
import type { CatalogFactory, CatalogOpenOptions } from './catalog-factory.js'

/**
 * A {@link MemoryPageIO} whose frees wait for `commit()`, so a test can undo the frees made since a
 * savepoint, as the engine's allocator does on rollback. Freeing a page twice throws at once.
 */
class UndoablePageIO extends MemoryPageIO {
  #pending: BlockPtr[] = []
  #pendingPages = new Set<number>()

  override free(ptr: BlockPtr): void {
    if (!this.live.has(ptr.page) || this.#pendingPages.has(ptr.page)) throw new Error(`double free of page ${ptr.page}`)
    this.#pending.push(ptr)
    this.#pendingPages.add(ptr.page)
  }

  mark(): number {
    return this.#pending.length
  }

  undo(mark: number): void {
    for (const p of this.#pending.splice(mark)) this.#pendingPages.delete(p.page)
  }

  override commit(): void {
    const pending = this.#pending
    this.#pending = []
    this.#pendingPages.clear()
    for (const p of pending) super.free(p)
    super.commit()
  }
}

const hex = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString('hex'))

/** Sorts keys by their UTF-8 bytes, independently of the implementation's comparator. */
function byteSorted(keys: Iterable<string>): string[] {
  return [...keys]
    .map((k) => ({ k, b: Buffer.from(k, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((x) => x.k)
}

function dump(it: Iterable<[string, Uint8Array]>): string[] {
  const out: string[] = []
  for (const [k, v] of it) out.push(`${k}=${hex(v)}`)
  return out
}

/** The keys a catalog holding `keys` lists for `prefix` and `from`, in UTF-8 byte order. */
function modelKeys(keys: Iterable<string>, prefix = '', from = ''): string[] {
  const fromBytes = Buffer.from(from)
  return byteSorted(keys).filter((k) => k.startsWith(prefix) && Buffer.compare(Buffer.from(k), fromBytes) >= 0)
}

function dumpModel(model: Map<string, Uint8Array>, prefix = '', from = ''): string[] {
  return modelKeys(model.keys(), prefix, from).map((k) => `${k}=${hex(model.get(k))}`)
}

/** The keys `cat.entries(options)` yields, in order. */
function keysOf(cat: Catalog, options?: CatalogEntriesOptions): string[] {
  return [...cat.entries(options)].map(([k]) => k)
}

/** Pages reachable from `root` (each must be reached once). */
function reachablePages(factory: CatalogFactory, io: MemoryPageIO, root: BlockPtr): number[] {
  const pages = new Set<number>()
  factory.visit(io, root, {
    onNode(ptr) {
      if (pages.has(ptr.page)) throw new Error(`page ${ptr.page} is reachable twice`)
      pages.add(ptr.page)
    },
  })
  return [...pages].sort((a, b) => a - b)
}

/** Commits and checks that the live pages are exactly the reachable ones (no leak, no double use). */
function commitAndCheckPages(factory: CatalogFactory, io: UndoablePageIO, root: BlockPtr): void {
  io.commit()
  expect([...io.live].sort((a, b) => a - b)).toEqual(reachablePages(factory, io, root))
}

function randomKey(rand: () => number, i: number): string {
  const alphabet = ['a', 'b', 'z', '.', '-', '_', 'é', 'ß', '中', '\uE000', '\uFFFD', '\u{1F600}', '\u{10000}', '~']
  let name = ''
  const len = 1 + Math.floor(rand() * 12)
  for (let j = 0; j < len; j++) name += alphabet[Math.floor(rand() * alphabet.length)]
  return `/d${Math.floor(rand() * 40)}/${name}${i}`
}

function randomValue(rand: () => number): Uint8Array {
  const len = rand() < 0.05 ? 200 + Math.floor(rand() * (MAX_VALUE_BYTES - 199)) : Math.floor(rand() * 40)
  const v = new Uint8Array(len)
  for (let i = 0; i < len; i++) v[i] = Math.floor(rand() * 256)
  return v
}

const invalidArgument = expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' })

/**
 * Conformance suite for {@link CatalogFactory} implementations: the {@link Catalog} each opens,
 * and the walks and page moves the container makes without opening one. The `io` passed is a
 * `MemoryPageIO` whose frees take effect at `commit()` (so the suite can undo them on rollback,
 * as the engine's allocator does); after each flush and commit the suite checks that the live
 * pages are exactly those `factory.visit` reaches. `options` gives the open options for an `io`
 * (for example a node cache).
 */
export function runCatalogSuite(name: string, factory: CatalogFactory, options?: (io: MemoryPageIO) => CatalogOpenOptions): void {
  const make = (io: MemoryPageIO): Catalog => factory.open(io, NULL_PTR, options?.(io))
  const reopen = (io: MemoryPageIO, root: BlockPtr): Catalog => factory.open(io, root, options?.(io))
  /** Flush, commit, check pages, reopen. */
  const cycle = (io: UndoablePageIO, cat: Catalog): Catalog => {
    const root = cat.flush()
    expect(cat.dirty).toBe(false)
    commitAndCheckPages(factory, io, root)
    return reopen(io, root)
  }
  const fill = (cat: Catalog, model: Map<string, Uint8Array>, keys: Iterable<string>, rand: () => number): void => {
    for (const k of keys) {
      const v = randomValue(rand)
      cat.put(k, v)
      model.set(k, v)
    }
  }
  const expectModel = (cat: Catalog, model: Map<string, Uint8Array>): void => {
    expect(dump(cat.entries())).toEqual(dumpModel(model))
  }

  describe(`Catalog conformance: ${name}`, () => {
    it('starts empty', () => {
      const io = new UndoablePageIO()
      const cat = make(io)
      expect(cat.get('/a')).toBeUndefined()
      expect([...cat.entries()]).toEqual([])
      expect(cat.delete('/a')).toBe(false)
      expect(cat.dirty).toBe(false)
      expect(isNullPtr(cat.flush())).toBe(true)
      expect(io.live.size).toBe(0)
    })

    it('puts, gets, replaces and deletes', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      cat.put('/a', utf8('one'))
      cat.put('/b', utf8('two'))
      cat.put('/c', new Uint8Array(0))
      expect(cat.dirty).toBe(true)
      cat.put('/b', utf8('two, longer'))
      expect(cat.get('/b')).toEqual(utf8('two, longer'))
      expect(cat.get('/c')).toEqual(new Uint8Array(0))
      expect(cat.delete('/a')).toBe(true)
      expect(cat.delete('/a')).toBe(false)
      expect(cat.get('/a')).toBeUndefined()
      cat = cycle(io, cat)
      expect(cat.dirty).toBe(false)
      expect(dump(cat.entries())).toEqual([`/b=${hex(utf8('two, longer'))}`, '/c='])
      cat.put('/b', utf8('2'))
      expect(cat.delete('/c')).toBe(true)
      cat = cycle(io, cat)
      expect(dump(cat.entries())).toEqual([`/b=${hex(utf8('2'))}`])
    })

    it('copies values in and out', () => {
      const cat = make(new UndoablePageIO())
      const v = utf8('abc')
      cat.put('/k', v)
      v[0] = 0
      const got = cat.get('/k')!
      expect(got).toEqual(utf8('abc'))
      got[1] = 0
      expect(cat.get('/k')).toEqual(utf8('abc'))
      const [[, fromIter]] = [...cat.entries()]
      fromIter[2] = 0
      expect(cat.get('/k')).toEqual(utf8('abc'))
    })

    it('iterates in key order, with prefix and from, lazily', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const keys = ['/a', '/a/b', '/a/c', '/ab', '/b', '/a/b/c', '/a0', '/a.', '/']
      for (const k of keys) cat.put(k, utf8(k))
      const check = (c: Catalog): void => {
        expect(keysOf(c)).toEqual(byteSorted(keys))
        expect(keysOf(c, { prefix: '/a/' })).toEqual(['/a/b', '/a/b/c', '/a/c'])
        expect(keysOf(c, { prefix: '/a/', from: '/a/b/z' })).toEqual(['/a/c'])
        expect(keysOf(c, { prefix: '/a/', from: '/a/c' })).toEqual(['/a/c'])
        expect(keysOf(c, { prefix: '/a/', from: '/' })).toEqual(['/a/b', '/a/b/c', '/a/c'])
        expect(keysOf(c, { prefix: '/a/', from: '/b' })).toEqual([])
        expect(keysOf(c, { from: '/a0' })).toEqual(['/a0', '/ab', '/b'])
        expect(keysOf(c, { from: '/zzz' })).toEqual([])
        expect(keysOf(c, { prefix: '/q' })).toEqual([])
        expect(keysOf(c, { prefix: '/a' })).toEqual(['/a', '/a.', '/a/b', '/a/b/c', '/a/c', '/a0', '/ab'])
        const it = c.entries({ prefix: '/a/' })
        expect(it[Symbol.iterator]()).toBe(it)
        expect(it.next().value?.[0]).toBe('/a/b')
      }
      check(cat)
      cat = cycle(io, cat)
      check(cat)
    })

    it('orders characters above U+FFFF like their UTF-8 bytes', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(7)
      const keys = new Set(['/a\uFFFF', '/a\u{10000}', '/a\uE000', '/a~', '/a\u00e9', '/a\u{1F600}', '/a\uFFFD', '/a\uD7FF'])
      for (let i = 0; i < 3000; i++) keys.add([...randomKey(rand, i)].slice(0, 6 + (i % 5)).join(''))
      for (const k of keys) cat.put(k, utf8(k))
      const expected = byteSorted(keys)
      expect(keysOf(cat)).toEqual(expected)
      cat = cycle(io, cat)
      expect(keysOf(cat)).toEqual(expected)
      for (const k of keys) expect(cat.get(k)).toEqual(utf8(k))
      expect(keysOf(cat, { from: '/a\uE000', prefix: '/a' })).toEqual(modelKeys(keys, '/a', '/a\uE000'))
    })

    it('matches a model over 10,000 random keys across flush, commit and reopen cycles', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(42)
      const model = new Map<string, Uint8Array>()
      const pool = Array.from({ length: 10_000 }, (_, i) => randomKey(rand, i))
      const rounds = [
        { ops: 12_000, put: 0.9 },
        { ops: 8_000, put: 0.55 },
        { ops: 10_000, put: 0.2 },
        { ops: 8_000, put: 0.7 },
        { ops: 12_000, put: 0.1 },
      ]
      for (const { ops, put } of rounds) {
        for (let n = 0; n < ops; n++) {
          const key = pool[Math.floor(rand() * pool.length)]
          if (rand() < put) {
            const v = randomValue(rand)
            cat.put(key, v)
            model.set(key, v)
          } else {
            expect(cat.delete(key)).toBe(model.delete(key))
          }
        }
        expectModel(cat, model)
        cat = cycle(io, cat)
        expectModel(cat, model)
        for (let n = 0; n < 500; n++) {
          const key = pool[Math.floor(rand() * pool.length)]
          expect(hex(cat.get(key))).toBe(hex(model.get(key)))
        }
        const prefix = '/d7/'
        expect(dump(cat.entries({ prefix }))).toEqual(dumpModel(model, prefix))
      }
    })

    it('returns exactly the keys of a prefix among 20,000', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const all: string[] = []
      for (let i = 0; i < 20_000; i++) {
        const key = `/dir${i % 100}/file${i}`
        all.push(key)
        cat.put(key, utf8(String(i)))
      }
      cat = cycle(io, cat)
      for (const prefix of ['/dir7/', '/dir70/', '/dir99/', '/dir1', '/nothing/']) {
        expect(keysOf(cat, { prefix })).toEqual(modelKeys(all, prefix))
      }
      expect(keysOf(cat, { prefix: '/dir7/', from: '/dir7/file5' })).toEqual(modelKeys(all, '/dir7/', '/dir7/file5'))
    })

    it('enforces the key and value size limits', () => {
      const cat = make(new UndoablePageIO())
      const value = new Uint8Array(1)
      cat.put('/' + 'k'.repeat(MAX_KEY_BYTES - 1), value)
      cat.put('é'.repeat(MAX_KEY_BYTES / 2), value)
      cat.put('\u{1F600}'.repeat(MAX_KEY_BYTES / 4), value)
      expect(() => cat.put('/' + 'k'.repeat(MAX_KEY_BYTES), value)).toThrow(invalidArgument)
      expect(() => cat.put('é'.repeat(MAX_KEY_BYTES / 2 + 1), value)).toThrow(invalidArgument)
      expect(() => cat.put('\u{1F600}'.repeat(MAX_KEY_BYTES / 4) + 'x', value)).toThrow(invalidArgument)
      expect(() => cat.put('/lone\uD800', value)).toThrow(invalidArgument)
      cat.put('/v', new Uint8Array(MAX_VALUE_BYTES))
      expect(() => cat.put('/w', new Uint8Array(MAX_VALUE_BYTES + 1))).toThrow(invalidArgument)
      expect(cat.get('/w')).toBeUndefined()
      expect([...cat.entries()].length).toBe(4)
    })

    it('stores large keys and values', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const model = new Map<string, Uint8Array>()
      const rand = seededRandom(3)
      const big = (i: number, spread: boolean): string => {
        const id = String(i).padStart(5, '0')
        return spread ? `/big/${id}/`.padEnd(MAX_KEY_BYTES, 'x') : '/same/'.padEnd(MAX_KEY_BYTES - 5, 'y') + id
      }
      for (let i = 0; i < 600; i++) {
        const key = big(i, i % 2 === 0)
        const v = new Uint8Array(i % 3 === 0 ? 5 : MAX_VALUE_BYTES).map(() => Math.floor(rand() * 256))
        cat.put(key, v)
        model.set(key, v)
      }
      for (let i = 0; i < 300; i++) {
        const key = `/small/${i}`
        const v = new Uint8Array(MAX_VALUE_BYTES).fill(i & 0xff)
        cat.put(key, v)
        model.set(key, v)
      }
      expectModel(cat, model)
      cat = cycle(io, cat)
      expectModel(cat, model)
      for (const k of [...model.keys()].filter((_, i) => i % 2 === 0)) {
        expect(cat.delete(k)).toBe(true)
        model.delete(k)
      }
      expectModel(cat, model)
      cat = cycle(io, cat)
      expectModel(cat, model)
      for (const k of [...model.keys()]) cat.delete(k)
      expect(isNullPtr(cat.flush())).toBe(true)
      io.commit()
      expect(io.live.size).toBe(0)
    })

    it('savepoint and rollback restore exactly, across splits and merges', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(11)
      const model = new Map<string, Uint8Array>()
      fill(cat, model, Array.from({ length: 5000 }, (_, i) => randomKey(rand, i)), rand)
      const unflushed = cat.savepoint()
      const before0 = dump(cat.entries())
      for (const k of [...model.keys()].slice(0, 2000)) cat.delete(k)
      cat.rollback(unflushed)
      expect(dump(cat.entries())).toEqual(before0)

      cat = cycle(io, cat)
      const before = dump(cat.entries())
      const sp1 = cat.savepoint()
      const m1 = io.mark()
      fill(cat, model, Array.from({ length: 3000 }, (_, i) => randomKey(rand, 10_000 + i)), rand)
      const middle = dump(cat.entries())
      expect(middle).toEqual(dumpModel(model))
      const sp2 = cat.savepoint()
      const m2 = io.mark()
      for (const k of [...model.keys()].filter((_, i) => i % 10 !== 0)) cat.delete(k)
      expect(dump(cat.entries()).length).toBe(Math.ceil(model.size / 10))
      cat.rollback(sp2)
      io.undo(m2)
      expect(dump(cat.entries())).toEqual(middle)
      cat.rollback(sp1)
      io.undo(m1)
      expect(dump(cat.entries())).toEqual(before)
      expect(cat.dirty).toBe(false)
      for (const k of [...model.keys()].slice(0, 2500)) cat.delete(k)
      cat.put('/new', utf8('x'))
      cat.rollback(sp1)
      io.undo(m1)
      expect(dump(cat.entries())).toEqual(before)
      cat.put('/after', utf8('rollback'))
      cat = cycle(io, cat)
      expect(cat.get('/after')).toEqual(utf8('rollback'))
      expect(dump(cat.entries()).length).toBe(before.length + 1)
    })

    it('per-operation savepoints with random rollbacks free each page once', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(99)
      const model = new Map<string, Uint8Array>()
      const pool = Array.from({ length: 4000 }, (_, i) => randomKey(rand, i))
      fill(cat, model, pool.slice(0, 3000), rand)
      cat = cycle(io, cat)
      for (let round = 0; round < 4; round++) {
        for (let n = 0; n < 1500; n++) {
          const sp = cat.savepoint()
          const mark = io.mark()
          const undo: [string, Uint8Array | undefined][] = []
          const steps = 1 + Math.floor(rand() * 6)
          for (let s = 0; s < steps; s++) {
            const key = pool[Math.floor(rand() * pool.length)]
            undo.push([key, model.get(key)])
            if (rand() < 0.5) {
              const v = randomValue(rand)
              cat.put(key, v)
              model.set(key, v)
            } else {
              expect(cat.delete(key)).toBe(model.delete(key))
            }
          }
          if (rand() < 0.35) {
            cat.rollback(sp)
            io.undo(mark)
            for (const [k, v] of undo.reverse()) {
              if (v === undefined) model.delete(k)
              else model.set(k, v)
            }
          }
        }
        expectModel(cat, model)
        cat = cycle(io, cat)
        expectModel(cat, model)
      }
    })

    it('version tokens keep reading their state while the working state changes', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(5)
      const model = new Map<string, Uint8Array>()
      fill(cat, model, Array.from({ length: 4000 }, (_, i) => randomKey(rand, i)), rand)
      cat = cycle(io, cat)
      const v1 = cat.version()
      const snap1 = dumpModel(model)
      const gets1 = [...model.keys()].slice(0, 200).map((k) => [k, hex(model.get(k))])
      for (const k of [...model.keys()].slice(0, 3000)) {
        cat.delete(k)
        model.delete(k)
      }
      fill(cat, model, Array.from({ length: 2000 }, (_, i) => randomKey(rand, 5000 + i)), rand)
      expect(dump(cat.entries({ at: v1 }))).toEqual(snap1)
      for (const [k, v] of gets1) expect(hex(cat.get(k!, v1))).toBe(v)
      expectModel(cat, model)
      const v2 = cat.version()
      const snap2 = dumpModel(model)
      for (const k of [...model.keys()].slice(0, 1500)) {
        cat.delete(k)
        model.delete(k)
      }
      cat.put('/late', utf8('late'))
      model.set('/late', utf8('late'))
      expect(dump(cat.entries({ at: v2 }))).toEqual(snap2)
      expect(dump(cat.entries({ at: v1 }))).toEqual(snap1)
      expect(cat.get('/late', v2)).toBeUndefined()
      expect(dump(cat.entries({ at: v1, prefix: '/d3/' }))).toEqual(snap1.filter((e) => e.startsWith('/d3/')))
      expectModel(cat, model)

      const iter = cat.entries()
      const first = iter.next().value!
      for (const k of [...model.keys()].slice(0, 500)) cat.delete(k)
      cat.put('/zzz-added-during-iteration', utf8('x'))
      expect([first, ...iter].map(([k]) => k)).toEqual(byteSorted(model.keys()))
      cat = cycle(io, cat)
    })

    it('walks and moves its pages as the container does (refs, readPage, copyPage)', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(5)
      const model = new Map<string, Uint8Array>()
      fill(cat, model, Array.from({ length: 4000 }, (_, i) => randomKey(rand, i)), rand)
      cat = cycle(io, cat)
      const root = cat.flush()
      // refs: a fast walk reaches the same pages and the same values as the verifying one.
      const viaRefs: number[] = []
      const values: string[] = []
      const walk = (ptr: BlockPtr): void => {
        viaRefs.push(ptr.page)
        const r = factory.refs(io, ptr)
        if (r.leaf) for (const v of r.values) values.push(hex(v)!)
        else for (const c of r.children) walk(c)
      }
      walk(root)
      expect(viaRefs.sort((a, b) => a - b)).toEqual(reachablePages(factory, io, root))
      expect(values.sort()).toEqual([...model.values()].map((v) => hex(v)!).sort())
      // readPage + copyPage: every page moved to a fresh page number, each leaf value replaced by
      // one of the same length; the moved tree reads back with the new values.
      const moved = new Map<string, Uint8Array>()
      const move = (ptr: BlockPtr): BlockPtr => {
        const page = factory.readPage(io, ptr)
        const to = io.allocate(1)
        if (page.leaf) {
          const next = page.values.map((v) => v.map((b) => b ^ 0x5a))
          page.keys.forEach((k, i) => moved.set(k, next[i]))
          return factory.copyPage((n, bytes) => io.stage(n, bytes), page, ptr, to, next)
        }
        return factory.copyPage((n, bytes) => io.stage(n, bytes), page, ptr, to, page.children.map(move))
      }
      const root2 = move(root)
      io.commit()
      expect(root2.txn).toBe(root.txn)
      expect(dump(reopen(io, root2).entries())).toEqual(dumpModel(moved))
      expect(dumpModel(moved)).toEqual(dumpModel(new Map([...model].map(([k, v]) => [k, v.map((b) => b ^ 0x5a)]))))
      expect(() => factory.copyPage(() => {}, factory.readPage(io, root2), root2, 9999, [])).toThrow(invalidArgument)
    })

    it('tracks dirty state, and deleting everything gives the null root and frees every page', () => {
      const io = new UndoablePageIO()
      let cat = make(io)
      const rand = seededRandom(1)
      const model = new Map<string, Uint8Array>()
      fill(cat, model, Array.from({ length: 6000 }, (_, i) => randomKey(rand, i)), rand)
      cat = cycle(io, cat)
      expect(cat.dirty).toBe(false)
      const sp = cat.savepoint()
      const mark = io.mark()
      cat.put('/x', utf8('x'))
      expect(cat.dirty).toBe(true)
      cat.rollback(sp)
      io.undo(mark)
      expect(cat.dirty).toBe(false)
      const keys = [...model.keys()]
      for (let i = keys.length - 1; i >= 0; i -= 2) cat.delete(keys[i])
      cat = cycle(io, cat)
      for (const k of keys) cat.delete(k)
      expect([...cat.entries()]).toEqual([])
      const root = cat.flush()
      expect(isNullPtr(root)).toBe(true)
      io.commit()
      expect(io.live.size).toBe(0)
      cat = reopen(io, root)
      expect(cat.get(keys[0])).toBeUndefined()
      cat.put('/again', utf8('a'))
      cat = cycle(io, cat)
      expect(cat.get('/again')).toEqual(utf8('a'))
    })
  })
}
