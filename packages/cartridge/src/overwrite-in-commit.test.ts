import { afterAll, describe, expect, it } from 'vitest'
import { PageType, writeNode } from '@cartridge/pager'
import { Cartridge, MemoryPageStore } from './index.js'
import { Engine } from '@cartridge/engine'
import { bytes, readAll, sameBytes, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
let n = 0
const fresh = () => Cartridge.create(`o${n++}`, 'overwrite', { path: tmp.path(`o${n}.cart`) })

/**
 * A page staged in a commit (a chunk-map or catalog page) that the same commit frees and hands
 * to content must not be written over that content when the commit lands.
 */
describe('overwrites inside one growing commit', () => {
  it('a transaction writing the same 1 MB path four times leaves the last version readable', async () => {
    const cart = await fresh()
    await cart.transaction(async (tx) => {
      for (let i = 0; i < 4; i++) await tx.write('/same', new Uint8Array(1_000_000).fill(65 + i))
    })
    const got = await cart.read('/same')
    expect(got.length).toBe(1_000_000)
    expect(got.every((b) => b === 68)).toBe(true)
    expect((await cart.check({ data: true })).problems).toEqual([])
    const path = cart.path!
    await cart.close()
    const again = await Cartridge.open(path)
    expect((await again.read('/same')).every((b) => b === 68)).toBe(true)
    await again.close()
  })

  it('same-tick batches of overwrites and other files all read back', async () => {
    for (let round = 0; round < 8; round++) {
      const cart = await Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 'b' } })
      const a = bytes(1_000_000, round)
      const b = bytes(1_000_000 + round * 4096, round + 100)
      const c = bytes(700_000 + round * 70_001, round + 200)
      const small = bytes(5000, round + 300)
      await Promise.all([cart.write('/a', a), cart.write('/a', small), cart.write('/b', b), cart.write('/c', c), cart.write('/b', b)])
      const files = await readAll(cart)
      expect([...files.keys()]).toEqual(['/a', '/b', '/c'])
      expect(sameBytes(files.get('/a')!, small)).toBe(true)
      expect(sameBytes(files.get('/b')!, b)).toBe(true)
      expect(sameBytes(files.get('/c')!, c)).toBe(true)
      expect((await cart.check({ data: true })).problems).toEqual([])
      await cart.close()
    }
  })

  it('an operation that fails after staging pages leaves nothing staged over later content', () => {
    const e = Engine.create(new MemoryPageStore(), { slug: 'f', title: 'f', initialPages: 64 })
    // Stage a chunk-map page, then fail: the page is free again, and its image must not land.
    expect(() =>
      e.apply(() => {
        writeNode(e, PageType.CHUNK_MAP_LEAF, 0, 0, 0, () => {})
        throw new Error('op failed')
      }),
    ).toThrow('op failed')
    const big = bytes(200_000, 7)
    e.apply(() => e.files.writeFile('/big', big))
    e.commit(true)
    expect(sameBytes(e.files.readFile('/big', e.committed), big)).toBe(true)
  })
})
