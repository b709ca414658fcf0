import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CartridgeError, ErrorCodes, seededBytes, seededRandom } from '@cartridge/core'
import { runPageStoreSuite } from './test.js'
import type { PageStore } from './page-store.js'
import { SECTOR_SIZE } from './page-store.js'
import { ImagePageStore } from './image-page-store.js'
import { CoalescingPageStore } from './coalescing-page-store.js'
import { MemoryPageStore } from './memory-page-store.js'
import { FilePageStore } from './file-page-store.js'
import { FaultyPageStore, type CrashMode } from './faulty-page-store.js'
import { PAGE_SIZE } from './page-format.js'

const dir = mkdtempSync(join(tmpdir(), 'cart-image-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

runPageStoreSuite('ImagePageStore over MemoryPageStore', () => new ImagePageStore(new MemoryPageStore()))
runPageStoreSuite('ImagePageStore over FilePageStore', () => new ImagePageStore(FilePageStore.open(join(dir, `s${n++}.bin`), { create: true })))

/**
 * A store over a MemoryPageStore that logs every call it gets, can fail its next write(s) or
 * sync, and prewrites zeros (as a file store does).
 */
class LoggingStore implements PageStore {
  readonly pageSize = PAGE_SIZE
  readonly readOnly = false
  readonly mem: MemoryPageStore
  reads = 0
  syncs = 0
  closed = false
  writes: [page: number, pages: number][] = []
  prewrites: [page: number, count: number][] = []
  /** Writes to let through before the next one throws (undefined: none throws). */
  failWriteAfter: number | undefined
  failNextSync = false

  constructor(image?: Uint8Array) {
    this.mem = new MemoryPageStore(image)
  }
  pageCount(): number {
    return this.mem.pageCount()
  }
  read(pageNo: number, into: Uint8Array): void {
    this.reads++
    this.mem.read(pageNo, into)
  }
  write(pageNo: number, data: Uint8Array): void {
    if (this.failWriteAfter !== undefined && this.failWriteAfter-- === 0) {
      this.failWriteAfter = undefined
      throw new CartridgeError(ErrorCodes.IO, 'injected write failure')
    }
    this.writes.push([pageNo, data.length / PAGE_SIZE])
    this.mem.write(pageNo, data)
  }
  prewrite(pageNo: number, count: number): void {
    this.prewrites.push([pageNo, count])
    const end = Math.min(pageNo + count, this.mem.pageCount())
    if (end > pageNo) this.mem.write(pageNo, new Uint8Array((end - pageNo) * PAGE_SIZE))
  }
  sync(): void {
    if (this.failNextSync) {
      this.failNextSync = false
      throw new CartridgeError(ErrorCodes.IO, 'injected sync failure')
    }
    this.syncs++
  }
  resizes: number[] = []
  resize(pageCount: number): void {
    this.resizes.push(pageCount)
    this.mem.resize(pageCount)
  }
  close(): void {
    this.closed = true
    this.mem.close()
  }
}

const page = (fill: number, pages = 1) => new Uint8Array(pages * PAGE_SIZE).fill(fill)

/** Every byte the store holds. */
function contents(s: PageStore): Uint8Array {
  const out = new Uint8Array(s.pageCount() * PAGE_SIZE)
  s.read(0, out)
  return out
}

/** Byte-for-byte equality (fast: the power-cut test compares whole images after every step). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

describe('ImagePageStore', () => {
  it('loads the container once and serves every read from memory', () => {
    // 300 pages: more than one 1 MiB load chunk.
    const bytes = seededBytes(300 * PAGE_SIZE, 11)
    const inner = new LoggingStore(bytes)
    const s = new ImagePageStore(inner)
    const loadReads = inner.reads
    expect(s.pageCount()).toBe(300)
    expect(same(contents(s), bytes)).toBe(true)
    // Partial pages, spans and reads past the end.
    for (const [p, len] of [[0, 1], [7, 100], [12, 3 * PAGE_SIZE + 5], [299, 2 * PAGE_SIZE], [400, 10]]) {
      const out = new Uint8Array(len).fill(0xaa)
      s.read(p, out)
      const expected = new Uint8Array(len)
      expected.set(bytes.subarray(Math.min(p * PAGE_SIZE, bytes.length), Math.min(p * PAGE_SIZE + len, bytes.length)))
      expect(out).toEqual(expected)
    }
    s.write(3, page(5))
    s.sync()
    s.resize(310)
    const out = new Uint8Array(PAGE_SIZE)
    s.read(3, out)
    expect(out).toEqual(page(5))
    s.read(305, out)
    expect(out).toEqual(page(0))
    expect(inner.reads).toBe(loadReads)
  })

  it('writes through to the wrapped store at once, in call order; sync syncs it', () => {
    const inner = new LoggingStore()
    const s = new ImagePageStore(inner)
    for (const p of [20, 8, 4]) s.write(p, page(p))
    s.write(100, seededBytes(3 * PAGE_SIZE, 3))
    expect(inner.writes).toEqual([[20, 1], [8, 1], [4, 1], [100, 3]])
    expect(inner.syncs).toBe(0)
    expect(same(contents(inner.mem), contents(s))).toBe(true)
    s.sync()
    expect(inner.syncs).toBe(1)
    expect(inner.writes).toHaveLength(4)
  })

  it('a shrink cuts both; growing again reads zeros', () => {
    const inner = new LoggingStore()
    const s = new ImagePageStore(inner)
    s.write(2, page(2))
    s.write(9, page(9))
    s.resize(5)
    expect(inner.pageCount()).toBe(5)
    s.resize(10)
    const out = new Uint8Array(PAGE_SIZE)
    s.read(9, out)
    expect(same(out, page(0))).toBe(true)
    expect(same(contents(inner.mem), contents(s))).toBe(true)
  })

  it('a failed write or sync of the wrapped store throws and leaves the image as it was', () => {
    const inner = new LoggingStore()
    const s = new ImagePageStore(inner)
    s.write(0, page(1, 3))
    inner.failWriteAfter = 0
    expect(() => s.write(10, page(2, 3))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_IO' }))
    expect(s.pageCount()).toBe(3)
    expect(same(contents(s), page(1, 3))).toBe(true)
    inner.failNextSync = true
    expect(() => s.sync()).toThrow(/injected sync failure/)
    s.write(10, page(2, 3))
    s.sync()
    expect(same(contents(inner.mem), contents(s))).toBe(true)
  })

  it('passes prewrite on (clamped to the store) and zeros the image there too; has none over a store without', () => {
    const inner = new LoggingStore(page(0x11, 20))
    const s = new ImagePageStore(inner)
    s.prewrite!(3, 30) // past the end: clamped to the 20 pages there are
    expect(inner.prewrites).toEqual([[3, 17]])
    const expected = page(0x11, 20)
    expected.fill(0, 3 * PAGE_SIZE)
    expect(same(contents(inner.mem), expected)).toBe(true)
    expect(same(contents(s), expected)).toBe(true)
    // Without a prewrite in the wrapped store it has none either (the engine then does not prewrite).
    expect(new ImagePageStore(new MemoryPageStore(page(0x22, 4))).prewrite).toBeUndefined()
    expect(new CoalescingPageStore(new MemoryPageStore()).prewrite).toBeUndefined()
  })

  it('a size the image cannot hold is CARTRIDGE_FULL and reaches neither the image nor the wrapped store', () => {
    const inner = new LoggingStore(page(0x33, 5))
    const s = new ImagePageStore(inner)
    expect(() => s.resize(2 ** 40)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_FULL' }))
    expect(() => s.write(2 ** 40, page(1))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_FULL' }))
    expect(inner.resizes).toEqual([])
    expect(inner.writes).toEqual([])
    expect(inner.pageCount()).toBe(5)
    expect(s.pageCount()).toBe(5)
    expect(same(contents(inner), page(0x33, 5))).toBe(true)
    expect(same(contents(s), page(0x33, 5))).toBe(true)
    s.write(6, page(4))
    expect(same(contents(inner), contents(s))).toBe(true)
  })

  it('over a file: another reader sees every write before any sync, as with the file itself', () => {
    const f = join(dir, `through${n++}.bin`)
    const s = new ImagePageStore(FilePageStore.open(f, { create: true }))
    s.write(0, page(1, 4))
    s.write(2, page(7))
    const expected = page(1, 4)
    expected.set(page(7), 2 * PAGE_SIZE)
    expect(same(new Uint8Array(readFileSync(f)), expected)).toBe(true)
    s.close()
  })

  it('mirrors a read-only store and refuses writes with CARTRIDGE_READ_ONLY', () => {
    const f = join(dir, `ro${n++}.bin`)
    const w = new ImagePageStore(FilePageStore.open(f, { create: true }))
    w.write(1, page(7))
    w.sync()
    w.close()
    const r = new ImagePageStore(FilePageStore.open(f, { readOnly: true }))
    expect(r.readOnly).toBe(true)
    expect(contents(r)).toEqual(Uint8Array.from([...page(0), ...page(7)]))
    for (const call of [() => r.write(0, page(1)), () => r.resize(1), () => r.sync(), () => r.prewrite!(0, 1)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'CARTRIDGE_READ_ONLY' }))
    }
    r.close()
  })

  it('close closes the wrapped store; later calls throw CARTRIDGE_CLOSED', () => {
    const inner = new LoggingStore()
    const s = new ImagePageStore(inner)
    s.write(0, page(1))
    s.close()
    expect(inner.closed).toBe(true)
    expect(inner.syncs).toBe(0)
    for (const call of [() => s.pageCount(), () => s.read(0, new Uint8Array(1)), () => s.write(0, page(1)), () => s.sync()]) {
      expect(call).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CLOSED' }))
    }
    s.close()
  })

  it('a power cut at any point keeps every page synced before it (random histories)', () => {
    const modes: CrashMode[] = ['drop', 'random', 'drop-or-tear']
    let cutsInSync = 0
    for (let seed = 1; seed <= 150; seed++) {
      const rnd = seededRandom(seed)
      const inner = new FaultyPageStore(undefined, { random: rnd, crashInSync: true })
      inner.failAfter(1 + Math.floor(rnd() * 60))
      const s = new ImagePageStore(inner)
      const current = new MemoryPageStore()
      let synced: Uint8Array = new Uint8Array(0)
      let touched = new Set<number>()
      let floor = Infinity // the smallest size a resize since the last sync set
      // Every state written since the last sync: writes go through, so a torn sector may hold any of them.
      let since: Uint8Array[] = []
      for (let op = 0; op < 60 && !inner.crashed; op++) {
        const r = rnd()
        try {
          if (r < 0.6) {
            const p = Math.floor(rnd() * 40)
            const data = seededBytes((1 + Math.floor(rnd() * 3)) * PAGE_SIZE, seed * 1000 + op)
            s.write(p, data)
            current.write(p, data)
            since.push(current.snapshot())
            for (let i = 0; i < data.length / PAGE_SIZE; i++) touched.add(p + i)
          } else if (r < 0.75) {
            const pages = Math.floor(rnd() * 45)
            s.resize(pages)
            current.resize(pages)
            floor = Math.min(floor, pages)
          } else {
            s.sync()
            synced = current.snapshot()
            since = []
            touched = new Set()
            floor = Infinity
          }
        } catch (err) {
          expect(err).toMatchObject({ code: 'CARTRIDGE_IO' })
          expect(inner.crashed).toBe(true)
          cutsInSync++
        }
        expect(same(contents(s), current.snapshot())).toBe(true)
      }
      inner.cut()
      for (const mode of modes) {
        const after = new ImagePageStore(new MemoryPageStore(inner.crashImage(mode)))
        const got = contents(after)
        // Nothing unsynced survives a drop; otherwise pages untouched since the sync are intact,
        // and a touched page holds, per sector, what was synced, what any write since put there, or zeros.
        if (mode === 'drop') {
          expect(same(got, synced), `seed ${seed} drop`).toBe(true)
          continue
        }
        const now = current.snapshot()
        const syncedPages = synced.length / PAGE_SIZE
        for (let p = 0; p < syncedPages; p++) {
          if (!touched.has(p) && p < floor) {
            expect(same(got.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), synced.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE)), `seed ${seed} ${mode} page ${p}`).toBe(true)
          }
        }
        for (let at = 0; at < got.length; at += SECTOR_SIZE) {
          const sector = got.subarray(at, at + SECTOR_SIZE)
          const holds = (from: Uint8Array) => at < from.length && same(sector, from.subarray(at, at + SECTOR_SIZE))
          expect(holds(synced) || holds(now) || since.some(holds) || sector.every((b) => b === 0), `seed ${seed} ${mode} byte ${at}`).toBe(true)
        }
      }
    }
    expect(cutsInSync).toBeGreaterThan(50)
  })
})
