import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { describe, expect, it } from 'vitest'
import { FaultyPageStore, MemoryPageStore, PAGE_SIZE } from '@cartridge/pager'
import { Cartridge } from './index.js'
import { Engine } from '@cartridge/engine'
import { bytes, readAll, rng, sameBytes, sameFiles, tempDir } from './testing/helpers.js'

/**
 * A store whose prewrite fills the pages with 0xEE instead of zeros, and remembers every page it
 * ever wrote. Prewriting a page anything references would destroy it where a check or a read-back
 * sees it; zeros could pass unnoticed over a page that happened to be zero.
 */
class HostilePrewriteStore extends MemoryPageStore {
  prewrites = 0
  prewrittenPages = 0
  /** Pages written by anything, and how many commit writes landed on a page never written before. */
  readonly written = new Set<number>()
  freshWrites = 0
  #inPrewrite = false

  override write(pageNo: number, data: Uint8Array): void {
    const pages = Math.ceil(data.length / PAGE_SIZE)
    for (let p = pageNo; p < pageNo + pages; p++) {
      if (!this.#inPrewrite && !this.written.has(p)) this.freshWrites++
      this.written.add(p)
    }
    super.write(pageNo, data)
  }

  override resize(pageCount: number): void {
    // Cut pages are gone: when the store grows back they are new again.
    for (const p of this.written) if (p >= pageCount) this.written.delete(p)
    super.resize(pageCount)
  }

  prewrite(pageNo: number, count: number): void {
    const end = Math.min(pageNo + count, this.pageCount())
    if (end <= pageNo) return
    this.prewrites++
    this.prewrittenPages += end - pageNo
    this.#inPrewrite = true
    try {
      this.write(pageNo, new Uint8Array((end - pageNo) * PAGE_SIZE).fill(0xee))
    } finally {
      this.#inPrewrite = false
    }
  }
}

/** A fault-injecting store whose prewrite writes 0xEE (a crash point like any write). */
class HostileFaultyStore extends FaultyPageStore {
  prewrites = 0
  override prewrite(pageNo: number, count: number): void {
    const end = Math.min(pageNo + count, this.pageCount())
    if (end <= pageNo) return
    this.prewrites++
    this.write(pageNo, new Uint8Array((end - pageNo) * PAGE_SIZE).fill(0xee))
  }
}

describe('pages written ahead of small commits (PageStore.prewrite)', () => {
  it('a power cut at any write, prewrites included, opens at the commit before the cut operation or the one after', async () => {
    const random = rng(4242)
    let prewrites = 0
    for (let trial = 0; trial < 60; trial++) {
      const store = new HostileFaultyStore(undefined, { random, crashInSync: true })
      const cart = await Cartridge.fromStore(store, { create: { slug: 'cut' }, durability: 'full' })
      const model = new Map<string, Uint8Array>()
      // A history of small writes and deletes (prewrites happen along the way) ...
      const steps = 20 + Math.floor(random() * 60)
      for (let step = 0; step < steps; step++) {
        const path = `/f${Math.floor(random() * 10)}`
        if (random() < 0.75 || !model.has(path)) {
          const data = bytes(Math.floor(random() * 9000), trial * 100 + step)
          await cart.write(path, data)
          model.set(path, data)
        } else {
          await cart.delete(path)
          model.delete(path)
        }
      }
      // ... then one more operation, cut at one of its writes or its sync.
      const before = new Map(model)
      const path = `/f${Math.floor(random() * 10)}`
      const data = bytes(Math.floor(random() * 9000), trial * 100 + 99)
      store.failAfter(1 + Math.floor(random() * 6))
      const ok = await cart.write(path, data).then(() => true, () => false)
      const after = new Map(before).set(path, data)
      prewrites += store.prewrites
      store.cut()
      const reopened = await Cartridge.fromStore(new MemoryPageStore(store.crashImage(trial % 2 === 0 ? 'random' : 'drop-or-tear')))
      expect((await reopened.check({ data: true })).problems).toEqual([])
      const files = await readAll(reopened)
      const matches = (m: Map<string, Uint8Array>) => sameFiles(m, files)
      // An acknowledged write survives; an interrupted one is there whole or not at all.
      if (ok) expect(matches(after)).toBe(true)
      else expect(matches(before) || matches(after)).toBe(true)
      await reopened.close()
    }
    expect(prewrites).toBeGreaterThan(10)
  }, 60_000)


  for (const durability of ['full'] as const) {
    it(`never touch a page any commit or snapshot references: random operations, reopens and checks (durability '${durability}')`, async () => {
      let prewrites = 0
      for (let seed = 1; seed <= 6; seed++) {
        const random = rng(seed * 7919)
        let store = new HostilePrewriteStore()
        let cart = await Cartridge.fromStore(store, { create: { slug: 'pre' }, durability })
        const model = new Map<string, Uint8Array>()
        const snaps = new Map<string, Map<string, Uint8Array>>()
        for (let step = 0; step < 120; step++) {
          const r = random()
          const path = `/d${Math.floor(random() * 3)}/f${Math.floor(random() * 12)}`
          if (r < 0.55) {
            // Mostly small files (the commits that prewrite), some past a chunk.
            const size = random() < 0.8 ? Math.floor(random() * 9000) : Math.floor(random() * 300_000)
            const data = bytes(size, seed * 1000 + step)
            await cart.write(path, data)
            model.set(path, data)
          } else if (r < 0.75) {
            if (model.has(path)) {
              await cart.delete(path)
              model.delete(path)
            }
          } else if (r < 0.82) {
            const name = `s${step}`
            await cart.createSnapshot(name)
            snaps.set(name, new Map(model))
          } else if (r < 0.87 && snaps.size > 0) {
            const name = [...snaps.keys()][Math.floor(random() * snaps.size)]
            await cart.deleteSnapshot(name)
            snaps.delete(name)
          } else if (r < 0.93) {
            // Reopen (what the last commits left) and go on writing into a store that prewrites.
            await cart.close()
            prewrites += store.prewrites
            store = new HostilePrewriteStore(store.snapshot())
            cart = await Cartridge.fromStore(store, { durability })
            await checkAgainst(cart, model, snaps)
          }
        }
        await checkAgainst(cart, model, snaps)
        await cart.close()
        const reopened = await Cartridge.fromStore(new MemoryPageStore(store.snapshot()))
        await checkAgainst(reopened, model, snaps)
        await reopened.close()
        prewrites += store.prewrites
      }
      expect(prewrites).toBeGreaterThan(20)
    }, 60_000)
  }

  it('never touch a page an unsynced commit freed: synced and unsynced commits mixed, power cuts after each synced one', () => {
    const random = rng(99)
    let prewrites = 0
    for (let trial = 0; trial < 25; trial++) {
      const store = new HostileFaultyStore(undefined, { random })
      const e = Engine.create(store, { slug: 'mix', title: 'mix' })
      const model = new Map<string, Uint8Array>()
      let durable = new Map<string, Uint8Array>()
      for (let step = 0; step < 60; step++) {
        const path = `/f${Math.floor(random() * 8)}`
        if (random() < 0.7 || !model.has(path)) {
          const data = bytes(Math.floor(random() * 9000), trial * 1000 + step)
          e.apply(() => e.files.writeFile(path, data))
          model.set(path, data)
        } else {
          e.apply(() => e.files.deleteFile(path))
          model.delete(path)
        }
        // Unsynced commits hold the pages they free until a synced one; the synced ones prewrite.
        const sync = random() < 0.3
        e.commit(sync)
        if (sync) durable = new Map(model)
      }
      prewrites += store.prewrites
      // Every write since the last sync may be lost: the disk must still hold the last synced commit.
      store.cut()
      const reopened = Engine.open(new MemoryPageStore(store.crashImage('drop')))
      const files = new Map<string, Uint8Array>()
      for (const [k] of reopened.catalog.entries({ prefix: '/', from: '/' })) files.set(k, reopened.files.readFile(k, undefined))
      expect([...files.keys()].sort()).toEqual([...durable.keys()].sort())
      for (const [k, d] of durable) expect(sameBytes(files.get(k)!, d)).toBe(true)
    }
    expect(prewrites).toBeGreaterThan(10)
  })

  it('a disk too full for the pages written ahead fails no commit that fits (ENOSPC on a prewrite is ignored)', async () => {
    const tmp = tempDir('prewrite-')
    const realWriteSync = fs.writeSync
    let refused = 0
    try {
      const cart = await Cartridge.create('full-disk', 'full disk', { path: tmp.path('a.cart'), durability: 'full' })
      // From here the "disk" has no room for whole 64 KiB runs of zeros (what a prewrite writes).
      const patched = ((fd: number, buffer: Uint8Array, ...rest: unknown[]) => {
        if (ArrayBuffer.isView(buffer) && buffer.byteLength === 65536 && buffer.every((b) => b === 0)) {
          refused++
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' })
        }
        return (realWriteSync as (...a: unknown[]) => number)(fd, buffer, ...rest)
      }) as typeof fs.writeSync
      fs.writeSync = patched
      syncBuiltinESMExports()
      for (let i = 0; i < 300; i++) await cart.write(`/f/${i}`, bytes(4096, i))
      expect(refused).toBeGreaterThan(0)
      fs.writeSync = realWriteSync
      syncBuiltinESMExports()
      await cart.close()
      const reopened = await Cartridge.open(tmp.path('a.cart'))
      for (let i = 0; i < 300; i++) expect(sameBytes(await reopened.read(`/f/${i}`), bytes(4096, i))).toBe(true)
      expect((await reopened.check({ data: true })).problems).toEqual([])
      await reopened.close()
    } finally {
      fs.writeSync = realWriteSync
      syncBuiltinESMExports()
      tmp.cleanup()
    }
  })

  it('runs: after a few hundred small durable commits, commits write over pages the store already has', async () => {
    const store = new HostilePrewriteStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'pre' }, durability: 'full' })
    for (let i = 0; i < 100; i++) await cart.write(`/warm/${i}`, bytes(4096, i))
    const fresh = store.freshWrites
    for (let i = 0; i < 400; i++) await cart.write(`/f/${i}`, bytes(4096, 1000 + i))
    // Each commit writes about five pages: without prewriting, most would be new to the store.
    expect(store.prewrites).toBeGreaterThan(0)
    expect(store.freshWrites - fresh).toBeLessThan(40)
    expect((await cart.check({ data: true })).problems).toEqual([])
    await cart.close()
  })

  it('runs: after a vacuum cut the file, the pages it grows back into are written ahead again', async () => {
    const store = new HostilePrewriteStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'pre' }, durability: 'full' })
    for (let i = 0; i < 300; i++) await cart.write(`/old/${i}`, bytes(4096, i))
    await cart.delete('/old/')
    await cart.vacuum()
    const fresh = store.freshWrites
    for (let i = 0; i < 400; i++) await cart.write(`/f/${i}`, bytes(4096, 1000 + i))
    expect(store.freshWrites - fresh).toBeLessThan(40)
    expect((await cart.check({ data: true })).problems).toEqual([])
    await cart.close()
  })
})

async function checkAgainst(cart: Cartridge, model: Map<string, Uint8Array>, snaps: Map<string, Map<string, Uint8Array>>): Promise<void> {
  expect((await cart.check({ data: true })).problems).toEqual([])
  for (const [path, data] of model) expect(sameBytes(await cart.read(path), data)).toBe(true)
  for (const [name, files] of snaps) {
    const view = cart.snapshot(name)
    for (const [path, data] of files) expect(sameBytes(await view.read(path), data)).toBe(true)
  }
}
