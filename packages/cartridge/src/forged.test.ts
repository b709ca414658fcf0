import { describe, expect, it } from 'vitest'
import { MemoryPageStore } from '@cartridge/pager'
import { Cartridge } from './index.js'
import { Engine, buildChunkMap, chunksOf, RecordKind, decodeFileRecord, encodeFileRecord, MAX_PROBLEMS } from '@cartridge/engine'
import { bytes } from './testing/helpers.js'

/**
 * Containers forged as an attacker would: structures changed through the engine, so every
 * page checksum and every pointer's checksum is recomputed (CRC-32 is not a MAC), and an empty
 * commit on top so open does not re-verify the forged pages. Each must end in a coded error or
 * a check report, promptly, never a hang, a flood or an uncoded error.
 */
async function forged(setup: (c: Cartridge) => Promise<void>, forge: (e: Engine) => void): Promise<MemoryPageStore> {
  const store = new MemoryPageStore()
  const cart = await Cartridge.fromStore(store, { create: { slug: 'forged' } })
  await setup(cart)
  await cart.close()
  const copy = new MemoryPageStore(store.snapshot())
  const e = Engine.open(copy)
  e.apply(() => forge(e))
  e.commit(true)
  e.commit(true)
  return copy
}

/** Rewrites the chunk map of `path` with `change` applied to its chunk records. */
function changeChunks(e: Engine, path: string, change: (chunks: ReturnType<typeof chunksOf>) => void): void {
  const r = decodeFileRecord(e.catalog.get(path)!, path)
  const chunks = chunksOf(e, r)
  change(chunks)
  if (r.kind === RecordKind.DIRECT) e.catalog.put(path, encodeFileRecord({ ...r, chunks }))
  else e.catalog.put(path, encodeFileRecord({ ...r, map: buildChunkMap(e, chunks) }))
}

const open = (store: MemoryPageStore) => Cartridge.fromStore(new MemoryPageStore(store.snapshot()), {})

describe('forged containers', () => {
  it('a chunk at page 2^55 is CARTRIDGE_CORRUPT for read and one problem for check (once a hang)', async () => {
    for (const size of [100_000, 2_000_000]) {
      const store = await forged(
        (c) => c.write('/f', bytes(size, 1)),
        (e) => changeChunks(e, '/f', (ch) => (ch[1] = { ...ch[1], page: 2 ** 55 })),
      )
      const cart = await open(store)
      await expect(cart.read('/f')).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', path: '/f' })
      const report = await cart.check({ data: true })
      expect(report.ok).toBe(false)
      // The forged place, and the pages of the real chunk 1 that nothing references any more.
      expect(report.problems.length).toBeLessThan(40)
      expect(report.problems.join('\n')).toMatch(/\(\/f\) lie outside the container/)
      await cart.close()
    }
  })

  it('a chunk whose place lies past the end of the file is CARTRIDGE_CORRUPT, not an I/O error', async () => {
    const store = await forged(
      (c) => c.write('/f', bytes(300_000, 2)),
      (e) => changeChunks(e, '/f', (ch) => (ch[0] = { ...ch[0], page: e.alloc.totalPages + 10 })),
    )
    const cart = await open(store)
    await expect(cart.read('/f')).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', path: '/f' })
    await expect(cart.read('/f', { offset: 10, length: 5 })).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
    await cart.close()
  })

  it('a chunk-map pointer past the end of the file is CARTRIDGE_CORRUPT', async () => {
    const store = await forged(
      (c) => c.write('/f', bytes(5_000_000, 3)),
      (e) => {
        const r = decodeFileRecord(e.catalog.get('/f')!, '/f')
        e.catalog.put('/f', encodeFileRecord({ ...r, map: { ...r.map!, page: 2 ** 40 } }))
      },
    )
    const cart = await open(store)
    await expect(cart.read('/f')).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
    expect((await cart.check()).ok).toBe(false)
    await cart.close()
  })

  it(`a huge stored length is one problem, and no report lists more than ${MAX_PROBLEMS} (once ~1M lines)`, async () => {
    const store = await forged(
      (c) => c.write('/f', bytes(2_000_000, 4)),
      (e) => changeChunks(e, '/f', (ch) => (ch[3] = { ...ch[3], storedLength: 2 ** 32 - 2 })),
    )
    const cart = await open(store)
    const report = await cart.check({ data: true })
    expect(report.ok).toBe(false)
    expect(report.problems.length).toBeLessThan(5)
    await cart.close()
    // Twenty files sharing one another's chunks: thousands of double owners, listed up to the cap.
    const twins = await forged(
      async (c) => {
        for (let i = 0; i < 20; i++) await c.write(`/t${i}`, bytes(1_000_000, 10 + i))
      },
      (e) => {
        const value = e.catalog.get('/t0')!
        for (let i = 1; i < 20; i++) e.catalog.put(`/t${i}`, value)
      },
    )
    const many = await (await open(twins)).check()
    expect(many.problems.length).toBe(MAX_PROBLEMS)
    expect(many.omittedProblems).toBeGreaterThan(0)
  })

  it('check({ data: true }) verifies content that only a snapshot holds (once skipped)', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 's' } })
    await cart.write('/old', bytes(200_000, 5))
    await cart.createSnapshot('keep')
    await cart.delete('/old')
    await cart.close()
    // Flip a byte in the content of /old, which now only the snapshot holds.
    const image = store.snapshot()
    const needle = Buffer.from(bytes(200_000, 5).subarray(0, 64))
    const at = Buffer.from(image.buffer, image.byteOffset, image.length).indexOf(needle)
    expect(at).toBeGreaterThan(0)
    image[at + 100] ^= 0xff
    const broken = await Cartridge.fromStore(new MemoryPageStore(image), {})
    await expect(broken.snapshot('keep').read('/old')).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM' })
    expect((await broken.check()).ok).toBe(true)
    const report = await broken.check({ data: true })
    expect(report.ok).toBe(false)
    expect(report.problems.join('\n')).toMatch(/snapshot 1: \/old/)
    await broken.close()
  })

  it('a damaged subtree is reported once, with what lies under it, not as thousands of leaks', async () => {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'd' } })
    await cart.write('/big', bytes(8_000_000, 6))
    await cart.write('/small', 'x')
    await cart.close()
    const e = Engine.open(new MemoryPageStore(store.snapshot()))
    const r = decodeFileRecord(e.catalog.get('/big')!, '/big')
    // Damage the root of /big's chunk map: everything under it becomes unreachable.
    const image = store.snapshot()
    image[r.map!.page * 4096 + 100] ^= 0xff
    const broken = await Cartridge.fromStore(new MemoryPageStore(image), {})
    const report = await broken.check({ data: true })
    expect(report.ok).toBe(false)
    expect(report.problems.filter((p) => /nothing references it/.test(p))).toEqual([])
    expect(report.problems.length).toBeLessThan(5)
    expect(report.problems.join('\n')).toMatch(/not reachable past the damage/)
    expect(await broken.readText('/small')).toBe('x')
    await broken.close()
  })
})
