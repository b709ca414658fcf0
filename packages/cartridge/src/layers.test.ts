import { closeSync, existsSync, openSync, readSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { PageStore } from '@cartridge/pager'
import {
  Cartridge, CartridgeBuilder, MemoryPageStore, bitmapAllocator, btreeCatalog, defaultStore, prefixCatalog,
  type AllocatorFactory, type CatalogFactory, type StoreFactory,
} from './index.js'
import { bytes, sameBytes, tempDir } from './testing/helpers.js'

// The seams of the layers a container records (catalog, allocator) and of the store it opens:
// the id each implementation writes into the meta page, how opening picks the implementation
// back, and the errors when it is missing or wrong. The alternative implementations themselves
// run the whole container suite in layer-suite.test.ts.

const tmp = tempDir('cart-layers-')
afterAll(() => tmp.cleanup())
let n = 0
const nextPath = () => tmp.path(`l${n++}.cart`)

/** The reference implementations under other ids: the same pages, recorded as a different writer. */
const renamedCatalog: CatalogFactory = { ...btreeCatalog, id: 'btree-renamed' }
const renamedAllocator: AllocatorFactory = { ...bitmapAllocator, id: 'bitmap-renamed' }

/** Bytes of the newer meta page of a container file (the one with the higher txn). */
function newestMeta(path: string): Buffer {
  const fd = openSync(path, 'r')
  try {
    const pages = [0, 1].map((slot) => {
      const page = Buffer.alloc(4096)
      readSync(fd, page, 0, 4096, slot * 4096)
      return page
    })
    const txn = (p: Buffer) => (p.toString('latin1', 0, 8) === 'CARTRIDG' ? Number(p.readBigUInt64LE(16)) : -1)
    return txn(pages[0]) >= txn(pages[1]) ? pages[0] : pages[1]
  } finally {
    closeSync(fd)
  }
}

const idAt = (meta: Buffer, off: number) => meta.toString('latin1', off, off + 16).replace(/\0+$/, '')

describe('layer ids in the meta page', () => {
  it('the reference implementations record no id and keep the 1.4 minor', async () => {
    const path = nextPath()
    const cart = await Cartridge.create('plain', 'p', { path })
    await cart.write('/a', bytes(100, 1))
    await cart.close()
    const meta = newestMeta(path)
    expect(meta.subarray(216, 256).every((b) => b === 0)).toBe(true)
    expect(meta.readUInt16LE(10)).toBeLessThanOrEqual(4)
  })

  for (const [layer, impl] of [['catalog', renamedCatalog], ['catalog', prefixCatalog], ['allocator', renamedAllocator]] as const) {
    it(`records the ${layer} id (${impl.id}), opens with that ${layer} only, and names it when it is missing`, async () => {
      const path = nextPath()
      const cart = await Cartridge.create('layered', 'l', { path, [layer]: impl })
      const files = new Map<string, Uint8Array>()
      for (let i = 0; i < 200; i++) {
        const data = bytes(50 + i * 37, i)
        files.set(`/d${i % 7}/f${i}`, data)
        await cart.write(`/d${i % 7}/f${i}`, data)
      }
      await cart.close()
      const meta = newestMeta(path)
      expect(meta.readUInt16LE(10)).toBe(5)
      expect(idAt(meta, layer === 'catalog' ? 216 : 232)).toBe(impl.id)
      expect(idAt(meta, layer === 'catalog' ? 232 : 216)).toBe('')

      // Without it, or with another implementation of the layer: unsupported, naming both.
      for (const options of [{}, { readOnly: true }, { [layer]: { ...impl, id: 'something-else' } }]) {
        const err = await Cartridge.open(path, options).catch((e: unknown) => e)
        expect(err).toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
        expect((err as Error).message).toContain(layer)
        expect((err as Error).message).toContain(`'${impl.id}'`)
      }
      // With it: every file as written, and later commits keep the id.
      const again = await Cartridge.open(path, { [layer]: impl })
      for (const [p, data] of files) expect(sameBytes(await again.read(p), data)).toBe(true)
      await again.write('/later', bytes(10, 9))
      expect((await again.check({ data: true })).ok).toBe(true)
      await again.close()
      expect(idAt(newestMeta(path), layer === 'catalog' ? 216 : 232)).toBe(impl.id)
    })
  }

  it('a container written with the reference opens whatever implementation is offered', async () => {
    const path = nextPath()
    const cart = await Cartridge.create('ref', 'r', { path })
    await cart.write('/x', bytes(10, 1))
    await cart.close()
    const again = await Cartridge.open(path, { catalog: renamedCatalog, allocator: renamedAllocator })
    expect(sameBytes(await again.read('/x'), bytes(10, 1))).toBe(true)
    await again.write('/y', bytes(10, 2))
    await again.close()
    // It stays a reference container: the offer is not a conversion.
    expect(newestMeta(path).subarray(216, 248).every((b) => b === 0)).toBe(true)
  })

  it('refuses implementations without a valid id, or with the reference id', async () => {
    const bad: Array<[string, unknown]> = [
      ['catalog', { ...btreeCatalog, id: '' }],
      ['catalog', { ...btreeCatalog, id: 'BTree' }],
      ['catalog', { ...btreeCatalog, id: 'x'.repeat(17) }],
      ['catalog', { ...btreeCatalog, id: 'btree' }],
      ['catalog', { ...btreeCatalog, id: 7 }],
      ['allocator', { ...bitmapAllocator, id: 'bitmap' }],
      ['allocator', { ...bitmapAllocator, id: 'a b' }],
    ]
    for (const [layer, impl] of bad) {
      const path = nextPath()
      await expect(Cartridge.create('bad', 'b', { path, [layer]: impl as CatalogFactory })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      expect(existsSync(path)).toBe(false)
    }
  })

  it('the builder passes the catalog, allocator and store through', async () => {
    const path = nextPath()
    const opened: Array<{ create: boolean; readOnly: boolean }> = []
    const counting: StoreFactory = (p, how) => {
      opened.push(how)
      return defaultStore(p, how)
    }
    const cart = await new CartridgeBuilder().slug('built').path(path).catalog(renamedCatalog).allocator(renamedAllocator).store(counting).build()
    await cart.write('/f', bytes(5000, 3))
    await cart.close()
    expect(opened).toEqual([{ create: true, readOnly: false }])
    const meta = newestMeta(path)
    expect([idAt(meta, 216), idAt(meta, 232)]).toEqual(['btree-renamed', 'bitmap-renamed'])
    const ro = await Cartridge.open(path, { readOnly: true, store: counting, catalog: renamedCatalog, allocator: renamedAllocator })
    expect(sameBytes(await ro.read('/f'), bytes(5000, 3))).toBe(true)
    await ro.close()
    expect(opened).toEqual([{ create: true, readOnly: false }, { create: false, readOnly: true }])
  })

  it('a store factory that is not a function or returns no store fails clearly, and creates no file', async () => {
    for (const store of [42, () => undefined, () => ({})] as unknown as StoreFactory[]) {
      const path = nextPath()
      await expect(Cartridge.create('s', 's', { path, store })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      expect(existsSync(path)).toBe(false)
    }
  })

  it('fromStore takes the layers too (memory store)', async () => {
    let store: PageStore = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'mem' }, catalog: renamedCatalog })
    await cart.write('/m', bytes(300, 4))
    await cart.close()
    store = new MemoryPageStore((store as MemoryPageStore).snapshot())
    await expect(Cartridge.fromStore(store)).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    const again = await Cartridge.fromStore(store, { catalog: renamedCatalog })
    expect(sameBytes(await again.read('/m'), bytes(300, 4))).toBe(true)
    await again.close()
  })
})
