import { seededRandom } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { MemoryPageIO, type BlockPtr, type PageIO, type PageType } from '@cartridge/pager'
import type { Allocator, AllocatorFactory } from './allocator.js'

/** A PageIO whose allocation goes through the allocator under test (pages live in a MemoryPageIO). */
export class AllocatorPageIO implements PageIO {
  readonly mem = new MemoryPageIO()
  constructor(readonly alloc: Allocator) {}
  get txn(): number {
    return this.mem.txn
  }
  read(ptr: BlockPtr, type: PageType | readonly PageType[]): Uint8Array {
    return this.mem.read(ptr, type)
  }
  allocate(count: number): number {
    let p = this.alloc.allocate(count)
    if (p === undefined) {
      this.alloc.grow(this.alloc.totalPages * 2 + count)
      p = this.alloc.allocate(count)!
    }
    return p
  }
  free(ptr: BlockPtr): void {
    this.alloc.free(ptr.page, 1, { reusable: ptr.txn === this.txn })
  }
  stage(pageNo: number, page: Uint8Array): void {
    this.mem.stage(pageNo, page)
  }
  commit(durable = true): void {
    this.mem.commit()
    this.alloc.onCommit(durable)
  }
}

/**
 * Conformance suite for {@link AllocatorFactory} implementations: `factory.create(totalPages)` makes
 * a map for a new container (pages 0 and 1 used); `factory.load(io, root, totalPages)` reopens a
 * flushed one.
 */
export function runAllocatorSuite(name: string, factory: AllocatorFactory): void {
  const make = (totalPages: number): Allocator => factory.create(totalPages)
  const load = (io: Pick<PageIO, 'read'>, root: BlockPtr, totalPages: number): Allocator => factory.load(io, root, totalPages)
  describe(`Allocator conformance: ${name}`, () => {
    it('starts with the two meta pages used', () => {
      const a = make(10)
      expect(a.totalPages).toBe(10)
      expect(a.freePages).toBe(8)
      expect(a.isUsed(0) && a.isUsed(1)).toBe(true)
      expect(a.isUsed(2)).toBe(false)
    })

    it('hands out contiguous, disjoint runs and reports exhaustion', () => {
      const a = make(100)
      const runs: Array<[number, number]> = []
      for (const n of [5, 16, 1, 30]) {
        const s = a.allocate(n)!
        runs.push([s, n])
        for (let p = s; p < s + n; p++) expect(a.isUsed(p)).toBe(true)
      }
      const pages = runs.flatMap(([s, n]) => Array.from({ length: n }, (_, i) => s + i))
      expect(new Set(pages).size).toBe(pages.length)
      expect(a.freePages).toBe(98 - 52)
      expect(a.allocate(47)).toBeUndefined()
      a.grow(200)
      expect(a.allocate(47)).toBeGreaterThanOrEqual(2)
    })

    it('holds pages freed from committed state until a durable commit', () => {
      const a = make(8)
      const s = a.allocate(6)!
      a.onCommit(true)
      a.free(s, 6, { reusable: false })
      expect(a.freePages).toBe(6)
      expect(a.allocate(1)).toBeUndefined()
      a.onCommit(false)
      expect(a.allocate(1)).toBeUndefined()
      a.onCommit(true)
      expect(a.allocate(6)).toBe(s)
    })

    it('counts available pages: free minus held and reserved', () => {
      const a = make(20)
      expect(a.availablePages).toBe(18)
      const s = a.allocate(6)!
      a.onCommit(true)
      a.free(s, 4, { reusable: false })
      expect({ free: a.freePages, available: a.availablePages }).toEqual({ free: 16, available: 12 })
      const r = a.reserve(5)!
      expect(a.availablePages).toBe(7)
      a.unreserve(r, 5)
      a.onCommit(true)
      expect(a.availablePages).toBe(16)
      expect(a.flushPages).toBeGreaterThanOrEqual(1)
    })

    it('reports the pages its persisted map takes (mapPages, mapPagesFor), the same after loading', () => {
      for (const total of [3, 100, 40_000, 200_000]) {
        const a = make(total)
        const io = new AllocatorPageIO(a)
        const root = a.flush(io)
        io.mem.commit()
        const pages = a.mapPages.map((p) => p.page).sort((x, y) => x - y)
        expect(pages.length).toBeGreaterThanOrEqual(1)
        expect(pages.length).toBeLessThanOrEqual(a.mapPagesFor(total))
        expect(a.mapPagesFor(total)).toBeLessThanOrEqual(a.flushPages)
        expect(a.mapPagesFor(total)).toBeLessThanOrEqual(a.mapPagesFor(total * 4))
        for (const p of pages) expect(a.isUsed(p)).toBe(true)
        expect(pages.includes(root.page)).toBe(true)
        const b = load(io, root, total)
        expect(b.mapPages.map((p) => p.page).sort((x, y) => x - y)).toEqual(pages)
      }
    })

    it('releaseBefore frees what earlier unsynced commits held, and keeps this transaction\'s frees held', () => {
      const a = make(12)
      const s = a.allocate(10)!
      a.onCommit(true)
      a.free(s, 3, { reusable: false }) // freed by a commit that is not durable yet
      a.onCommit(false)
      const txnStart = a.mark()
      a.free(s + 3, 2, { reusable: false }) // freed by the transaction being built
      expect(a.availablePages).toBe(0)
      const op = a.mark()
      expect(a.releaseBefore(txnStart)).toBe(3)
      expect(a.releaseBefore(txnStart)).toBe(0)
      expect(a.availablePages).toBe(3)
      const got = a.allocate(3)!
      expect(got).toBe(s)
      expect(a.allocate(1)).toBeUndefined()
      // Rolling back after an early release keeps the release (the commits before are durable)
      // and undoes what came after the mark exactly.
      a.rollback(op)
      expect(a.isUsed(s)).toBe(false)
      expect(a.availablePages).toBe(3)
      a.rollback(txnStart)
      expect(a.isUsed(s + 3)).toBe(true)
      expect(a.availablePages).toBe(3)
      // A later durable commit releases only what is still held, once.
      a.free(s + 3, 2, { reusable: false })
      a.onCommit(true)
      expect(a.availablePages).toBe(5)
    })

    it('reuses pages freed within the same transaction at once', () => {
      const a = make(4)
      const s = a.allocate(2)!
      a.free(s, 2, { reusable: true })
      expect(a.allocate(2)).toBe(s)
    })

    it('rolls back allocations, frees, growth and claims exactly', () => {
      const a = make(16)
      const kept = a.allocate(3)!
      a.onCommit(true)
      const m = a.mark()
      a.allocate(4)
      a.free(kept, 3, { reusable: false })
      a.grow(64)
      a.allocate(40)
      a.rollback(m)
      expect(a.totalPages).toBe(16)
      expect(a.freePages).toBe(11)
      for (let p = kept; p < kept + 3; p++) expect(a.isUsed(p)).toBe(true)
    })

    it('reservations stay out of allocation and out of the persisted map until claimed', () => {
      const a = make(40)
      const r = a.reserve(10)!
      const other = a.allocate(10)!
      expect(other >= r + 10 || other + 10 <= r).toBe(true)
      expect(a.isUsed(r)).toBe(false)
      const m = a.mark()
      a.claim(r, 10)
      expect(a.isUsed(r)).toBe(true)
      a.rollback(m)
      expect(a.isUsed(r)).toBe(false)
      a.unreserve(r, 10)
      expect(a.allocate(10)).toBeDefined()
    })

    it('allocateBelow hands out the lowest free run that ends by the limit, never a held page', () => {
      const a = make(64)
      const first = a.allocate(40)!
      a.onCommit(true)
      a.free(first + 4, 3, { reusable: false }) // held until a durable commit
      a.free(first + 20, 8, { reusable: true })
      expect(a.allocateBelow(2, 64)).toBe(first + 20)
      expect(a.allocateBelow(8, first + 28)).toBeUndefined() // only 6 left in that hole
      expect(a.allocateBelow(6, first + 28)).toBe(first + 22)
      expect(a.allocateBelow(1, first + 20)).toBeUndefined()
      a.onCommit(true)
      expect(a.allocateBelow(3, 64)).toBe(first + 4)
      expect(a.usedFrom(first + 40)).toBe(0)
      expect(a.usedFrom(0)).toBe(64 - a.freePages)
      expect(a.highestUsed()).toBe(first + 39)
    })

    it('highWater is one past the highest page used, held or reserved, through random operations', () => {
      const rand = seededRandom(11)
      const a = make(512)
      // The model: which pages are taken (used, held until a durable commit, or reserved).
      const taken = new Set<number>([0, 1])
      const used: Array<[number, number]> = []
      const held: Array<[number, number]> = []
      const reserved: Array<[number, number]> = []
      const expected = () => Math.max(...taken) + 1
      for (let step = 0; step < 2000; step++) {
        const r = rand()
        if (r < 0.35) {
          const n = 1 + Math.floor(rand() * 6)
          const p = a.allocate(n)
          if (p !== undefined) {
            used.push([p, n])
            for (let i = 0; i < n; i++) taken.add(p + i)
          }
        } else if (r < 0.45) {
          const n = 1 + Math.floor(rand() * 6)
          const p = a.reserve(n)
          if (p !== undefined) {
            reserved.push([p, n])
            for (let i = 0; i < n; i++) taken.add(p + i)
          }
        } else if (r < 0.55 && reserved.length > 0) {
          const [p, n] = reserved.splice(Math.floor(rand() * reserved.length), 1)[0]
          a.unreserve(p, n)
          for (let i = 0; i < n; i++) taken.delete(p + i)
        } else if (r < 0.85 && used.length > 0) {
          const [p, n] = used.splice(Math.floor(rand() * used.length), 1)[0]
          const reusable = rand() < 0.5
          a.free(p, n, { reusable })
          if (reusable) for (let i = 0; i < n; i++) taken.delete(p + i)
          else held.push([p, n])
        } else {
          a.onCommit(true)
          for (const [p, n] of held.splice(0)) for (let i = 0; i < n; i++) taken.delete(p + i)
        }
        expect(a.highWater()).toBe(expected())
        for (let p = a.highWater(); p < a.totalPages; p++) expect(a.isUsed(p)).toBe(false)
      }
    })

    it('shrinks to a size whose tail is free, persists the smaller map, and rolls a shrink back', () => {
      const a = make(100_000)
      const io = new AllocatorPageIO(a)
      a.flush(io)
      io.commit()
      const s = io.allocate(10)
      const tail = io.allocate(5)
      expect(() => a.shrink(tail + 2)).toThrow(/in use/)
      a.free(tail, 5, { reusable: true })
      const m = a.mark()
      a.shrink(s + 10 + 64)
      expect(a.totalPages).toBe(s + 74)
      a.rollback(m)
      expect(a.totalPages).toBe(100_000)
      a.shrink(s + 10 + 64)
      a.rewind()
      a.relocateMap(0)
      const root = a.flush(io)
      io.commit()
      const b = load(io.mem, root, a.totalPages)
      expect(b.totalPages).toBe(s + 74)
      expect(b.freePages).toBe(a.freePages)
      for (let p = s; p < s + 10; p++) expect(b.isUsed(p)).toBe(true)
      expect(a.highestUsed()).toBeLessThan(s + 74)
    })

    it('persists through flush and reloads bit-exact, across growth and many cycles', () => {
      const a = make(3)
      const io = new AllocatorPageIO(a)
      let root = a.flush(io)
      io.commit()
      const rand = seededRandom(7)
      const owned: Array<[number, number]> = []
      for (let round = 0; round < 30; round++) {
        for (let i = 0; i < 20; i++) {
          const n = 1 + Math.floor(rand() * 40)
          owned.push([io.allocate(n), n])
        }
        for (let i = 0; i < 10 && owned.length; i++) {
          const [s, n] = owned.splice(Math.floor(rand() * owned.length), 1)[0]
          a.free(s, n, { reusable: false })
        }
        root = a.flush(io)
        io.commit()
        const b = load(io.mem, root, a.totalPages)
        expect(b.totalPages).toBe(a.totalPages)
        expect(b.freePages).toBe(a.freePages)
        for (let p = 0; p < a.totalPages; p++) if (a.isUsed(p) !== b.isUsed(p)) throw new Error(`bit ${p} differs after reload`)
        for (const [s, n] of owned) for (let p = s; p < s + n; p++) expect(b.isUsed(p)).toBe(true)
      }
      expect(a.totalPages).toBeGreaterThan(3000)
    })
  })
}
