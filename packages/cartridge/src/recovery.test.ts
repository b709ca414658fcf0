import { describe, expect, it } from 'vitest'
import { PAGE_SIZE, decodeMeta } from '@cartridge/pager'
import { Cartridge, MemoryPageStore } from './index.js'
import { bytes, sameBytes } from './testing/helpers.js'

/** A container image after two synced commits (`/a`, then `/b`), with the txn of each. */
async function twoCommits(): Promise<{ image: Uint8Array; first: number; second: number }> {
  const store = new MemoryPageStore()
  const cart = await Cartridge.fromStore(store, { create: { slug: 'r' } })
  await cart.write('/a', bytes(3000, 1))
  const first = (await cart.info()).txn
  await cart.write('/b', bytes(200_000, 2))
  const second = (await cart.info()).txn
  return { image: store.snapshot(), first, second }
}

/** The meta slot (0 or 1) holding commit `txn` in `image`. */
function slotOf(image: Uint8Array, txn: number): number {
  for (const slot of [0, 1]) {
    const m = decodeMeta(image.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE))
    if (m.ok && m.meta.txn === txn) return slot
  }
  throw new Error(`no meta page holds txn ${txn}`)
}

describe('open reports what recovery skipped', () => {
  it('a clean open, and a new container whose second meta page is blank, report nothing', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'r' } })
    expect(cart.recovery).toBeUndefined()
    const fresh = await Cartridge.fromStore(new MemoryPageStore(store.snapshot()))
    expect(fresh.recovery).toBeUndefined()
    const { image } = await twoCommits()
    const again = await Cartridge.fromStore(new MemoryPageStore(image))
    expect(again.recovery).toBeUndefined()
  })

  it('a damaged newest commit opens the previous one and says so', async () => {
    const { image, first, second } = await twoCommits()
    const meta = decodeMeta(image.subarray(slotOf(image, second) * PAGE_SIZE))
    if (!meta.ok) throw new Error('meta')
    // Damage the catalog root the newest commit wrote.
    image[meta.meta.catalogRoot.page * PAGE_SIZE + 100] ^= 0xff
    const cart = await Cartridge.fromStore(new MemoryPageStore(image))
    expect(cart.recovery).toMatchObject({ txn: first, skippedTxn: second })
    expect(cart.recovery!.reason).toContain(`newest commit (${second})`)
    expect(cart.recovery!.cause).toMatchObject({ code: 'CARTRIDGE_CHECKSUM' })
    expect(await cart.list('/')).toEqual(['/a'])
    expect(sameBytes(await cart.read('/a'), bytes(3000, 1))).toBe(true)
  })

  it('a damaged meta page is reported even when the other one opens', async () => {
    const { image, first, second } = await twoCommits()
    image[slotOf(image, first) * PAGE_SIZE + 40] ^= 0x01
    const cart = await Cartridge.fromStore(new MemoryPageStore(image))
    expect(cart.recovery).toMatchObject({ txn: second })
    expect(cart.recovery!.skippedTxn).toBeUndefined()
    expect(cart.recovery!.reason).toMatch(/meta page \d is damaged/)
    expect(await cart.list('/')).toEqual(['/a', '/b'])
  })
})
