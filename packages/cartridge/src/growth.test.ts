import { statSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge, MemoryPageStore } from './index.js'
import { bytes, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

const MiB = 1024 * 1024

/** Spec §15: sizes follow 12 KiB × 2^k up to the step, writes of known size end in a file sized to them, vacuum keeps headroom. */
describe('growth', () => {
  it('a container grows through 12 KiB × 2^k, then by one step at a time', async () => {
    const cart = await Cartridge.fromStore(new MemoryPageStore(), { create: { slug: 'g' }, maxGrowthPages: 64 })
    const sizes = [(await cart.info()).totalBlocks]
    for (let i = 0; i < 120; i++) {
      await cart.write(`/f${i}`, bytes(3000 + (i % 7) * 1000, i))
      const total = (await cart.info()).totalBlocks
      if (total !== sizes[sizes.length - 1]) sizes.push(total)
    }
    expect(sizes.slice(0, 6)).toEqual([3, 6, 12, 24, 48, 96])
    for (let i = 6; i < sizes.length; i++) expect(sizes[i] - sizes[i - 1]).toBe(64)
    await cart.close()
  })

  it('a 52.5 MiB put into a new container leaves about 10 % free, not a third', async () => {
    const path = tmp.path('bulk.cart')
    const cart = await Cartridge.create('bulk', 'Bulk', { path })
    await cart.write('/big', bytes(52.5 * MiB, 1))
    const info = await cart.info()
    expect(info.sizeBytes).toBeLessThan(52.5 * MiB * 1.12)
    expect(info.freeBlocks / info.totalBlocks).toBeLessThan(0.12)
    await cart.close()
    expect(statSync(path).size).toBe(info.sizeBytes)
  })

  it('after vacuum, small writes and a snapshot delete that frees nothing do not grow the file', async () => {
    const path = tmp.path('vac.cart')
    const cart = await Cartridge.create('vac', 'Vac', { path })
    for (let i = 0; i < 40; i++) await cart.write(`/f${i}`, bytes(1 * MiB, i))
    await cart.createSnapshot('s')
    await cart.delete('/f1')
    for (let i = 20; i < 40; i++) await cart.delete(`/f${i}`)
    await cart.vacuum()
    const vacuumed = statSync(path).size
    const info = await cart.info()
    // What it keeps free is the headroom, about 10 %, and info no longer counts it as reclaimable.
    expect(info.freeBlocks / info.totalBlocks).toBeLessThan(0.12)
    expect(info.reclaimableBytes).toBeLessThan(0.02 * vacuumed)
    await cart.write('/tiny', 'abc')
    expect(statSync(path).size).toBe(vacuumed)
    await cart.deleteSnapshot('s')
    expect(statSync(path).size).toBe(vacuumed)
    for (let i = 0; i < 10; i++) await cart.write(`/more${i}`, bytes(20_000, i))
    expect(statSync(path).size).toBe(vacuumed)
    await cart.close()
  })
})
