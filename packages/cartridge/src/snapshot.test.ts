import { statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Cartridge, MemoryPageStore } from './index.js'
import { Engine } from '@cartridge/engine'
import { bytes, readAll, sameBytes, sameFiles, tempDir } from './testing/helpers.js'

const text = (s: string) => new TextEncoder().encode(s)
const memory = () => Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 'snap' } })

async function expectClean(cart: Cartridge, unreferenced = 0): Promise<void> {
  const report = await cart.check({ data: true })
  expect(report.problems).toEqual([])
  expect(report.unreferencedPages).toBe(unreferenced)
}

describe('snapshots', () => {
  it('v1/v2/v3 restored in any order give the matching contents, and restoring twice changes nothing', async () => {
    const cart = await memory()
    const versions: Map<string, Uint8Array>[] = []
    const ids: number[] = []
    for (let v = 1; v <= 3; v++) {
      await cart.write('/config.json', `{"v":${v}}`)
      await cart.write(`/only-in-v${v}.bin`, bytes(70_000 * v, v))
      if (v === 2) await cart.delete('/only-in-v1.bin')
      versions.push(await readAll(cart))
      ids.push((await cart.createSnapshot(`v${v}`)).id)
    }
    for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0], [0, 2, 1]]) {
      for (const i of order) {
        await cart.restoreSnapshot(ids[i])
        expect(sameFiles(await readAll(cart), versions[i])).toBe(true)
        const txn = (await cart.info()).txn
        await cart.restoreSnapshot(`v${i + 1}`)
        expect(sameFiles(await readAll(cart), versions[i])).toBe(true)
        expect((await cart.info()).txn).toBe(txn + 1)
      }
    }
    await expectClean(cart, (await cart.check()).unreferencedPages)
    await cart.close()
  })

  it('1 MiB of 0xAB overwritten with 0xCD, then restored, reads all 0xAB; the old version stays readable before that', async () => {
    const cart = await memory()
    await cart.write('/big.bin', new Uint8Array(1 << 20).fill(0xab))
    const s = await cart.createSnapshot('before')
    await cart.write('/big.bin', new Uint8Array(1 << 20).fill(0xcd))
    expect((await cart.read('/big.bin')).every((b) => b === 0xcd)).toBe(true)
    expect((await cart.snapshot(s.id).read('/big.bin')).every((b) => b === 0xab)).toBe(true)
    await expectClean(cart)
    await cart.restoreSnapshot(s.id)
    const back = await cart.read('/big.bin')
    expect(back.length).toBe(1 << 20)
    expect(back.every((b) => b === 0xab)).toBe(true)
    await cart.close()
  })

  it('10 files, snapshot, delete 5, restore: 10 files again', async () => {
    const cart = await memory()
    for (let i = 0; i < 10; i++) await cart.write(`/f/${i}`, bytes(1000 * i, i))
    const s = await cart.createSnapshot('ten')
    for (let i = 0; i < 5; i++) await cart.delete(`/f/${i}`)
    expect((await cart.list('/')).length).toBe(5)
    expect((await cart.snapshot('ten').list('/')).length).toBe(10)
    await cart.restoreSnapshot(s.id)
    const files = await cart.list('/')
    expect(files.length).toBe(10)
    for (let i = 0; i < 10; i++) expect(sameBytes(await cart.read(`/f/${i}`), bytes(1000 * i, i))).toBe(true)
    expect((await cart.info()).fileCount).toBe(10)
    await cart.close()
  })

  it('deleting a snapshot frees exactly what only it held, never what the live state or another snapshot uses', async () => {
    const cart = await memory()
    await cart.write('/shared.bin', bytes(300_000, 1))
    await cart.write('/a.bin', bytes(200_000, 2))
    const s1 = await cart.createSnapshot('s1')
    await cart.delete('/a.bin') // now only s1 holds a.bin
    await cart.write('/b.bin', bytes(200_000, 3))
    const s2 = await cart.createSnapshot('s2')
    await cart.delete('/b.bin') // only s2 holds b.bin
    await expectClean(cart)
    const listed = await cart.listSnapshots()
    expect(listed.map((s) => s.name)).toEqual(['s1', 's2'])
    // a.bin is 200,000 bytes = 4 chunks (4 × 16 pages, the last 1 page short) plus catalog pages only s1 has.
    const aPages = Math.ceil(200_000 / 4096)
    expect(listed[0].exclusiveBytes).toBeGreaterThanOrEqual(aPages * 4096)
    expect(listed[0].exclusiveBytes).toBeLessThanOrEqual((aPages + 4) * 4096)
    const before = await cart.info()
    const { freedBytes } = await cart.deleteSnapshot(s1.id)
    expect(freedBytes).toBe(listed[0].exclusiveBytes)
    const after = await cart.info()
    expect(after.freeBlocks - before.freeBlocks).toBeGreaterThanOrEqual(freedBytes / 4096 - 2)
    await expectClean(cart)
    // s2 and the live state are untouched.
    expect(sameBytes(await cart.snapshot(s2.id).read('/b.bin'), bytes(200_000, 3))).toBe(true)
    expect(sameBytes(await cart.snapshot(s2.id).read('/shared.bin'), bytes(300_000, 1))).toBe(true)
    expect(sameBytes(await cart.read('/shared.bin'), bytes(300_000, 1))).toBe(true)
    await expect(cart.snapshot(s1.id).read('/a.bin')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await cart.deleteSnapshot('s2')
    await expectClean(cart)
    expect(await cart.listSnapshots()).toEqual([])
    await cart.close()
  })

  it('a snapshot costs a few pages: snapshot a 100 MiB container, change one 4 KiB file, the file grows by a few pages', async () => {
    const t = tempDir()
    try {
      const cart = await Cartridge.create('big', 'big', { path: t.path('big.cart') })
      const mib = bytes(1 << 20, 7)
      for (let i = 0; i < 100; i++) await cart.write(`/data/${i}.bin`, mib)
      for (let i = 0; i < 50; i++) await cart.write(`/small/${i}.txt`, bytes(4096, i))
      const before = await cart.info()
      await cart.createSnapshot('full')
      await cart.write('/small/7.txt', bytes(4096, 999))
      const after = await cart.info()
      const grown = after.usedBlocks - before.usedBlocks
      // New: the 4 KiB chunk, a catalog leaf, the branch above it, the snapshot table page, free-map pages.
      expect(grown).toBeGreaterThan(0)
      expect(grown).toBeLessThanOrEqual(8)
      expect(after.sizeBytes).toBe(before.sizeBytes)
      await cart.close()
      expect(statSync(t.path('big.cart')).size).toBe(after.sizeBytes)
    } finally {
      t.cleanup()
    }
  })

  it('snapshots survive close and reopen, readable and restorable', async () => {
    const t = tempDir()
    try {
      let cart = await Cartridge.create('reopen', 'r', { path: t.path('r.cart') })
      await cart.write('/doc.txt', 'first')
      const s = await cart.createSnapshot('first')
      await cart.write('/doc.txt', 'second')
      await cart.close()
      cart = await Cartridge.open(t.path('r.cart'))
      expect((await cart.listSnapshots()).map((x) => [x.id, x.name])).toEqual([[s.id, 'first']])
      expect(await cart.snapshot('first').readText('/doc.txt')).toBe('first')
      expect(await cart.readText('/doc.txt')).toBe('second')
      await cart.restoreSnapshot('first')
      await cart.close()
      cart = await Cartridge.open(t.path('r.cart'))
      expect(await cart.readText('/doc.txt')).toBe('first')
      await expectClean(cart)
      await cart.close()
    } finally {
      t.cleanup()
    }
  })

  it('restore can keep the state it replaces, so it can be undone', async () => {
    const cart = await memory()
    await cart.write('/x', 'old')
    await cart.createSnapshot('old')
    await cart.write('/x', 'new')
    await cart.restoreSnapshot('old', { saveCurrentAs: 'undo' })
    expect(await cart.readText('/x')).toBe('old')
    await cart.restoreSnapshot('undo')
    expect(await cart.readText('/x')).toBe('new')
    await cart.close()
  })

  it('views are read-only, names are checked, ids are never reused, and errors carry codes', async () => {
    const cart = await memory()
    await cart.write('/a', 'a')
    const s1 = await cart.createSnapshot('one')
    await expect(cart.snapshot(s1.id).write('/a', 'b')).rejects.toMatchObject({ code: 'CARTRIDGE_READ_ONLY' })
    await expect(cart.createSnapshot('one')).rejects.toMatchObject({ code: 'CARTRIDGE_EXISTS' })
    for (const bad of ['', '123', ' pad', 'a\nb', 'x'.repeat(256)]) {
      await expect(cart.createSnapshot(bad)).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    }
    await expect(cart.restoreSnapshot('nope')).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await expect(cart.deleteSnapshot(99)).rejects.toMatchObject({ code: 'CARTRIDGE_NOT_FOUND' })
    await cart.deleteSnapshot(s1.id)
    const s2 = await cart.createSnapshot()
    expect(s2.id).toBeGreaterThan(s1.id)
    expect(s2.name).toBe(`snapshot-${s2.id}`)
    expect(await cart.readText('/a')).toBe('a')
    await cart.close()
  })

  it('a snapshot includes writes issued before it, not after it', async () => {
    const cart = await memory()
    const w1 = cart.write('/before', '1')
    const snap = cart.createSnapshot('mid')
    const w2 = cart.write('/after', '2')
    await Promise.all([w1, snap, w2])
    expect(await cart.snapshot('mid').list('/')).toEqual(['/before'])
    expect(await cart.list('/')).toEqual(['/after', '/before'])
    await cart.close()
  })

  it('diff lists added, removed and changed paths', async () => {
    const cart = await memory()
    await cart.write('/keep', 'k')
    await cart.write('/change', 'c1')
    await cart.write('/remove', 'r')
    await cart.createSnapshot('a')
    await cart.write('/change', 'c2')
    await cart.delete('/remove')
    await cart.write('/add', 'n')
    await cart.createSnapshot('b')
    const expected = [
      { path: '/add', change: 'added' }, { path: '/change', change: 'changed' }, { path: '/remove', change: 'removed' },
    ]
    expect(await cart.diffSnapshots('a', 'b')).toEqual(expected)
    expect(await cart.diffSnapshots('a')).toEqual(expected)
    expect(await cart.diffSnapshots('b')).toEqual([])
    await cart.close()
  })

  it("recovery verifies a snapshot of a commit that was never synced (durability 'none')", async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'nosync' }, durability: 'none' })
    await cart.write('/a', bytes(5000, 1))
    await cart.createSnapshot('s')
    await cart.delete('/a')
    await cart.close() // one synced commit, built on the last durable one from before the snapshot
    const image = store.snapshot()
    const e = Engine.open(new MemoryPageStore(image))
    const [snap] = e.snapshots
    expect(snap.txn).toBeGreaterThan(e.meta.baseTxn)
    // The snapshot's catalog page never reached the disk: the newest commit must not be accepted.
    const damaged = new MemoryPageStore(image)
    damaged.write(snap.catalogRoot.page, new Uint8Array(4096))
    const reopened = await Cartridge.fromStore(damaged)
    expect(await reopened.listSnapshots()).toEqual([])
    expect((await reopened.check({ data: true })).problems).toEqual([])
    await reopened.close()
  })

  it("a snapshot commit whose meta-page write fails (durability 'none') leaves memory and disk at the same commit", async () => {
    /** Fails the next write of a meta page once (an EIO while the commit's last buffered write goes out). */
    class FlakyStore extends MemoryPageStore {
      failMeta = false
      override write(pageNo: number, data: Uint8Array): void {
        if (this.failMeta && pageNo < 2) {
          this.failMeta = false
          throw Object.assign(new Error('EIO'), { code: 'EIO' })
        }
        super.write(pageNo, data)
      }
    }
    const store = new FlakyStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'flaky' }, durability: 'none' })
    await cart.write('/a', bytes(300_000, 1))
    await cart.write('/b', bytes(300_000, 5))
    store.failMeta = true
    await expect(cart.createSnapshot('lost')).rejects.toThrow('EIO')
    expect(await cart.listSnapshots()).toEqual([])
    await cart.createSnapshot('s1')
    await cart.write('/a', bytes(300_000, 2))
    store.failMeta = true
    await expect(cart.deleteSnapshot('s1')).rejects.toThrow('EIO')
    expect((await cart.listSnapshots()).map((x) => x.name)).toEqual(['s1'])
    await cart.delete('/b')
    for (let i = 0; i < 6; i++) await cart.write(`/f${i}`, bytes(70_000, 10 + i))
    await expectClean(cart)
    await cart.close()
    const reopened = await Cartridge.fromStore(new MemoryPageStore(store.snapshot()))
    expect((await reopened.listSnapshots()).map((x) => x.name)).toEqual(['s1'])
    expect(sameBytes(await reopened.snapshot('s1').read('/b'), bytes(300_000, 5))).toBe(true)
    expect(sameBytes(await reopened.snapshot('s1').read('/a'), bytes(300_000, 1))).toBe(true)
    await expectClean(reopened)
    await reopened.close()
  })
})
