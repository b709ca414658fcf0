import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runPageStoreSuite } from './test.js'
import { MemoryPageStore } from './memory-page-store.js'
import { FilePageStore } from './file-page-store.js'
import { FaultyPageStore } from './faulty-page-store.js'
import { Pager } from './pager.js'
import { NULL_PTR } from './block-pointer.js'
import { PAGE_SIZE, PageType, sealPage, verifyPage } from './page-format.js'
import { decodeMeta, encodeMeta, type Meta } from './meta-page.js'

const dir = mkdtempSync(join(tmpdir(), 'cart-pager-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

runPageStoreSuite('MemoryPageStore', () => new MemoryPageStore())
runPageStoreSuite('FilePageStore', () => FilePageStore.open(join(dir, `s${n++}.bin`), { create: true }))
runPageStoreSuite('FaultyPageStore (no fault armed)', () => new FaultyPageStore())

const meta = (txn: number): Meta => ({
  txn, baseTxn: txn - 1, totalPages: 3, fileCount: txn, created: 1, maxPages: 0, growthThresholdPercent: 10,
  uuid: new Uint8Array(16).fill(4), catalogRoot: NULL_PTR, freeMapRoot: NULL_PTR, snapshotsRoot: NULL_PTR, slug: 's', title: 't', codec: 0, codecLevel: 0,
})

describe('pages', () => {
  it('a sealed page verifies and any flipped byte is a CARTRIDGE_CHECKSUM naming the page', () => {
    const p = new Uint8Array(PAGE_SIZE)
    p[100] = 42
    const checksum = sealPage(p, { type: PageType.CATALOG_LEAF, level: 0, count: 1, txn: 5, pageNo: 9, used: 10 })
    const ptr = { page: 9, txn: 5, checksum, aux: 0 }
    expect(verifyPage(p, ptr, PageType.CATALOG_LEAF).count).toBe(1)
    for (const at of [0, 5, 100, 4095]) {
      const bad = p.slice()
      bad[at] ^= 1
      expect(() => verifyPage(bad, ptr, PageType.CATALOG_LEAF)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CHECKSUM', page: 9 }))
    }
    expect(() => verifyPage(p, { ...ptr, page: 8 }, PageType.CATALOG_LEAF)).toThrow(/claims to be page 9/)
    expect(() => verifyPage(p, { ...ptr, txn: 4 }, PageType.CATALOG_LEAF)).toThrow(/not the version/)
  })

  it('meta pages round-trip and reject damage', () => {
    const m = meta(7)
    const page = encodeMeta(m)
    const d = decodeMeta(page)
    expect(d.ok && d.meta.txn).toBe(7)
    expect(d.ok && d.meta.title).toBe('t')
    page[20] ^= 0xff
    expect(decodeMeta(page)).toEqual({ ok: false, reason: 'checksum' })
  })
})

describe('Pager', () => {
  it('recovers the newest meta, and the older one when the newest is rejected', () => {
    const store = new MemoryPageStore()
    const pager = new Pager(store)
    pager.initialize(meta(1))
    pager.commit(meta(2), { sync: true })
    pager.commit(meta(3), { sync: true })
    expect(new Pager(store).recover(() => {}).txn).toBe(3)
    expect(new Pager(store).recover((m) => { if (m.txn === 3) throw new Error('pages missing') }).txn).toBe(2)
  })

  it('unsynced commits never overwrite the durable meta slot', () => {
    const store = new FaultyPageStore()
    const pager = new Pager(store)
    pager.initialize(meta(1))
    pager.commit(meta(2), { sync: true })
    pager.commit(meta(3), { sync: false })
    pager.commit(meta(4), { sync: false })
    store.cut()
    const after = new MemoryPageStore(store.crashImage('drop'))
    expect(new Pager(after).recover(() => {}).txn).toBe(2)
  })

  it('an empty or foreign file is CARTRIDGE_CORRUPT', () => {
    expect(() => new Pager(new MemoryPageStore()).recover(() => {})).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    const junk = new MemoryPageStore(new Uint8Array(3 * PAGE_SIZE).fill(0x41))
    expect(() => new Pager(junk).recover(() => {})).toThrow(/wrong magic/)
  })
})

describe('FileLock via FilePageStore', () => {
  it('a second writer in the same process is refused, readers are not', () => {
    const f = join(dir, 'locked.bin')
    const a = FilePageStore.open(f, { create: true })
    expect(() => FilePageStore.open(f)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_LOCKED' }))
    const r = FilePageStore.open(f, { readOnly: true })
    r.close()
    a.close()
    FilePageStore.open(f).close()
  })
})

import { CoalescingPageStore } from './coalescing-page-store.js'
runPageStoreSuite('CoalescingPageStore over MemoryPageStore', () => new CoalescingPageStore(new MemoryPageStore(), 3 * PAGE_SIZE))

describe('CoalescingPageStore', () => {
  it('merges back-to-back writes and writes before reads', () => {
    const inner = new FaultyPageStore()
    const s = new CoalescingPageStore(inner, 16 * PAGE_SIZE)
    for (let i = 0; i < 8; i++) s.write(10 + i, new Uint8Array(PAGE_SIZE).fill(i))
    expect(inner.writes).toBe(0)
    const out = new Uint8Array(PAGE_SIZE)
    s.read(13, out)
    expect(inner.writes).toBe(1)
    expect(out[0]).toBe(3)
    s.write(30, new Uint8Array(100).fill(9))
    s.write(31, new Uint8Array(PAGE_SIZE))
    s.sync()
    expect(inner.writes).toBe(3)
  })
})
