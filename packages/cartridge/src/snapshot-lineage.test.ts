import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { MemoryPageStore } from '@cartridge/pager'
import { exclusivePages } from '@cartridge/snapshot'
import { Cartridge } from './index.js'
import { Engine, walkBlocks } from '@cartridge/engine'
import { bytes, rng, sameBytes } from './testing/helpers.js'

type Files = Map<string, Uint8Array>

/** The reference: each snapshot's exclusive pages by one walk over every root (what listSnapshots did before birth txns). */
function walkedExclusive(store: MemoryPageStore): Map<number, number> {
  const e = Engine.open(new MemoryPageStore(store.snapshot()))
  const snaps = e.snapshots
  const only = exclusivePages([e.cleanRoot, ...snaps.map((s) => s.catalogRoot)], (root, v) => walkBlocks(e.catalogFactory, e, root, v), e.alloc.totalPages)
  return new Map(snaps.map((s, i) => [s.id, only[i + 1] * 4096]))
}

async function same(view: Pick<Cartridge, 'list' | 'read'>, want: Files, where: string): Promise<void> {
  expect(new Set(await view.list('/')), where).toEqual(new Set(want.keys()))
  for (const [p, data] of want) expect(sameBytes(await view.read(p), data), `${where} ${p}`).toBe(true)
}

/**
 * Random sequences of writes, overwrites, deletes, snapshot creates, deletes and (in half of the
 * sequences) restores, against a model. After every step: every snapshot and the live state read
 * back as the model says (a page freed too early and reused would show), `check` finds nothing,
 * and without a restore no used page is left unreferenced (a page freed too late would show).
 * Every listing is compared with the walk over all roots.
 */
describe('deleting and listing snapshots by birth txns', () => {
  const SIZES = [100, 3000, 70_000, 300_000]
  for (let seed = 1; seed <= 40; seed++) {
    const restores = seed % 2 === 0
    it(`sequence ${seed}${restores ? ' (with restores)' : ''}`, async () => {
      const r = rng(seed * 7919)
      const store = new MemoryPageStore()
      const cart = await Cartridge.fromStore(store, { create: { slug: 'lineage' } })
      const live: Files = new Map()
      const snaps = new Map<number, { name: string; files: Files }>()
      let restored = false
      let n = 0
      try {
        for (let step = 0; step < 60; step++) {
          const roll = r()
          const paths = [...live.keys()]
          const ids = [...snaps.keys()]
          let what: string
          if (roll < 0.4 || paths.length === 0) {
            const path = paths.length > 0 && r() < 0.4 ? paths[Math.floor(r() * paths.length)] : `/d${Math.floor(r() * 3)}/f${n++}`
            const data = bytes(SIZES[Math.floor(r() * SIZES.length)], seed * 1000 + step)
            await cart.write(path, data)
            live.set(path, data)
            what = `write ${path}`
          } else if (roll < 0.55) {
            const path = paths[Math.floor(r() * paths.length)]
            await cart.delete(path)
            live.delete(path)
            what = `delete ${path}`
          } else if (roll < 0.72 && snaps.size < 6) {
            const s = await cart.createSnapshot(`s${step}`)
            snaps.set(s.id, { name: s.name, files: new Map(live) })
            what = `snapshot ${s.id}`
          } else if (roll < 0.86 && ids.length > 0) {
            const id = ids[Math.floor(r() * ids.length)]
            const before = (await cart.listSnapshots()).find((s) => s.id === id)!
            const { freedBytes } = await cart.deleteSnapshot(id)
            snaps.delete(id)
            // What listing said deleting it would free is what it frees (after a restore, a sweep
            // may free more: pages the restore left that nothing reaches).
            if (restored) expect(freedBytes, `delete snapshot ${id}`).toBeGreaterThanOrEqual(before.exclusiveBytes)
            else expect(freedBytes, `delete snapshot ${id}`).toBe(before.exclusiveBytes)
            what = `delete snapshot ${id}`
          } else if (restores && roll < 0.95 && ids.length > 0) {
            const id = ids[Math.floor(r() * ids.length)]
            await cart.restoreSnapshot(id)
            live.clear()
            for (const [p, d] of snaps.get(id)!.files) live.set(p, d)
            restored = true
            what = `restore ${id}`
          } else {
            const listed = await cart.listSnapshots()
            const walked = walkedExclusive(store)
            // Without a restore the birth-txn answer is exact; with one, listing walks every root.
            expect(new Map(listed.map((s) => [s.id, s.exclusiveBytes])), `list at step ${step}`).toEqual(walked)
            what = 'list'
          }
          await same(cart, live, `after ${what}: live`)
          for (const [id, s] of snaps) await same(cart.snapshot(id), s.files, `after ${what}: snapshot ${id}`)
          const report = await cart.check()
          expect(report.problems, `after ${what}`).toEqual([])
          if (!restored) expect(report.unreferencedPages, `after ${what}`).toBe(0)
        }
      } finally {
        await cart.close()
      }
    })
  }

  it('a snapshot restored after a newer one was taken is deleted without freeing what the live state holds again', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'restored' } })
    try {
      await cart.write('/a', bytes(300_000, 1))
      await cart.createSnapshot('s')
      await cart.write('/a', bytes(300_000, 2))
      await cart.createSnapshot('n')
      await cart.restoreSnapshot('s')
      // The next newer snapshot no longer holds the first /a, but the live state does again.
      await cart.deleteSnapshot('s')
      expect((await cart.check()).problems).toEqual([])
      for (let i = 0; i < 8; i++) await cart.write(`/fill${i}`, bytes(300_000, 10 + i))
      expect(sameBytes(await cart.read('/a'), bytes(300_000, 1))).toBe(true)
      expect(sameBytes(await cart.snapshot('n').read('/a'), bytes(300_000, 2))).toBe(true)
      expect((await cart.check({ data: true })).problems).toEqual([])
    } finally {
      await cart.close()
    }
  })

  it('a container whose history this version cannot know (written as 1.3) deletes snapshots by marking from every root', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'old' } })
    await cart.write('/a', bytes(70_000, 1))
    await cart.createSnapshot('one')
    await cart.write('/a', bytes(70_000, 2))
    await cart.close()
    // Rewrite both meta slots as a 1.3 writer would have left them: minor 3, offset 208 zero.
    const image = store.snapshot()
    for (const slot of [0, 4096]) {
      const page = image.subarray(slot, slot + 4096)
      if (page[0] === 0) continue
      page[10] = 3
      page.fill(0, 208, 216)
      Buffer.from(page.buffer, page.byteOffset, 4096).writeUInt32LE(crc32(page.subarray(0, 4092)) >>> 0, 4092)
    }
    const e = Engine.open(new MemoryPageStore(image))
    expect(e.meta.restoreTxn).toBe(e.meta.txn)
    expect(e.restoreLineageAfter(e.snapshots[0].txn)).toBe(true)
    const old = await Cartridge.fromStore(new MemoryPageStore(image), {})
    const { freedBytes } = await old.deleteSnapshot('one')
    // The first version of /a (18 content pages) is held by the snapshot alone.
    expect(freedBytes).toBeGreaterThanOrEqual(18 * 4096)
    expect((await old.check()).unreferencedPages).toBe(0)
    expect(sameBytes(await old.read('/a'), bytes(70_000, 2))).toBe(true)
    await old.close()
  })
})
