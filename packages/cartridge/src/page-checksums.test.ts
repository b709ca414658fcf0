import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { Engine, chunksOf, FLAG_PAGE_SUMS, decodeFileRecord, encodeFileRecord, pageSumsOf } from '@cartridge/engine'
import { MemoryPageStore } from '@cartridge/pager'
import { bytes, flipByte, sameBytes, tempDir } from './testing/helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

const KiB = 1024


/** The newest meta slot's minor version. */
function minorOf(path: string): number {
  const image = readFileSync(path)
  const txn = (at: number) => image.readBigUInt64LE(at + 16)
  return image.readUInt16LE(txn(4096) > txn(0) ? 4096 + 10 : 10)
}

/** Byte offset in the container file of the first page of content that starts with `data`'s first 64 bytes. */
function contentOffset(path: string, data: Uint8Array): number {
  const at = readFileSync(path).indexOf(Buffer.from(data.subarray(0, 64)))
  expect(at % 4096).toBe(0)
  return at
}

describe('page checksums (format 1.4)', () => {
  it('range reads return exactly the model bytes, for DIRECT and MAP files of any length, raw and compressed', async () => {
    const cases = [
      { name: 'raw', options: {} },
      { name: 'zstd', options: { compression: { codec: 'zstd' as const } } },
    ]
    for (const { name, options } of cases) {
      const path = tmp.path(`ranges-${name}.cart`)
      const cart = await Cartridge.create('ranges', 'R', { path, ...options })
      // Lengths around page, chunk and DIRECT/MAP boundaries, half compressible (zstd makes mixed files).
      const files = new Map<string, Uint8Array>()
      for (const [i, n] of [513, 4095, 4097, 65_535, 65_536, 65_537, 200_000, 262_144, 262_145, 2_400_000 + 123].entries()) {
        const data = bytes(n, i + 1)
        if (i % 2) data.fill(7, 0, n >> 1)
        files.set(`/f${i}`, data)
        await cart.write(`/f${i}`, data)
      }
      const paths = [...files.keys()]
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.nat(), fc.nat(), async (p, a, b) => {
          const data = files.get(p)!
          const offset = a % (data.length + 10)
          const length = b % (3 * 65_536)
          const got = await cart.read(p, { offset, length })
          expect(sameBytes(got, data.subarray(offset, offset + length))).toBe(true)
        }),
        { numRuns: 600, seed: 20261204 },
      )
      await cart.close()
    }
  })

  it('a container with raw files is written as 1.4 with 112-byte records; one with inline files only stays 1.2', async () => {
    const path = tmp.path('minor.cart')
    const cart = await Cartridge.create('minor', 'M', { path })
    await cart.write('/tiny', 'inline')
    await cart.flush()
    expect(minorOf(path)).toBe(2)
    await cart.write('/big', bytes(300_000, 3))
    await cart.close()
    expect(minorOf(path)).toBe(4)
    const e = Engine.open(new MemoryPageStore(new Uint8Array(readFileSync(path))))
    const value = e.catalog.get('/big')!
    expect(value[2]).toBe(FLAG_PAGE_SUMS)
    const r = decodeFileRecord(value, '/big')
    const chunks = chunksOf(e, r)
    expect(chunks).toHaveLength(5)
    // Entry k is the running CRC-32 of the chunk's first k + 1 pages; the last is the chunk's checksum.
    const data = bytes(300_000, 3)
    chunks.forEach((c, i) => {
      const sums = pageSumsOf(data.subarray(i * 65_536, Math.min(data.length, (i + 1) * 65_536)))
      expect([...c.pageSums!]).toEqual([...sums])
      expect(c.pageSums![Math.ceil(c.storedLength / 4096) - 1]).toBe(c.checksum)
    })
  })

  it('a flipped byte fails only reads that return its page: the other pages of its chunk still read, whole reads and check do not', async () => {
    const path = tmp.path('flip.cart')
    const data = bytes(400 * KiB, 9)
    const cart = await Cartridge.create('flip', 'F', { path })
    await cart.write('/victim', data)
    await cart.close()
    const base = contentOffset(path, data)
    // Byte 100 of page 5 of chunk 2 of the file.
    const bad = 2 * 65_536 + 5 * 4096 + 100
    flipByte(path, base + bad)
    const re = await Cartridge.open(path)
    const page = base / 4096 + bad / 4096
    // A whole-chunk read finds the chunk bad, and its page checksums name the damaged page.
    await expect(re.read('/victim')).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', path: '/victim', page: Math.floor(page) })
    await expect(re.read('/victim', { offset: bad - 10, length: 20 })).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', page: Math.floor(page) })
    await expect(re.read('/victim', { offset: 2 * 65_536, length: 65_536 })).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM' })
    // Neighbouring pages of the same chunk, and the same offsets of other chunks, read and are right.
    for (const [offset, length] of [[2 * 65_536, 5 * 4096], [2 * 65_536 + 6 * 4096, 10 * 4096], [bad - 10 + 65_536, 20], [0, 2 * 65_536]]) {
      expect(sameBytes(await re.read('/victim', { offset, length }), data.subarray(offset, offset + length))).toBe(true)
    }
    const report = await re.check({ data: true })
    expect(report.problems).toHaveLength(1)
    expect(report.problems[0]).toMatch(/victim.*checksum/)
    await re.close()
  })

  /** A container holding `/f`, then a commit that rewrites chunk record 1 of `/f` through `edit`, then `extra` empty commits. */
  async function forged(
    size: number, edit: (sums: Uint32Array, checksum: number) => { sums: Uint32Array; checksum: number }, extra: number, reborn = false,
  ): Promise<MemoryPageStore> {
    const store = new MemoryPageStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'forged' } })
    await cart.write('/f', bytes(size, 4))
    await cart.close()
    const copy = new MemoryPageStore(store.snapshot())
    const e = Engine.open(copy)
    e.apply(() => {
      const r = decodeFileRecord(e.catalog.get('/f')!, '/f')
      const c = r.chunks![1]
      const next = edit(c.pageSums!.slice(), c.checksum)
      // `reborn`: the chunk claims to be new in this commit, so recovery reads it back.
      r.chunks![1] = { ...c, pageSums: next.sums, checksum: next.checksum, txn: reborn ? e.txn : c.txn }
      e.catalog.put('/f', encodeFileRecord(r))
    })
    e.commit(true)
    for (let i = 0; i < extra; i++) e.commit(true)
    return copy
  }
  const open = (store: MemoryPageStore) => Cartridge.fromStore(new MemoryPageStore(store.snapshot()), {})
  const flipSum = (sums: Uint32Array, checksum: number) => {
    sums[3] ^= 1
    return { sums, checksum }
  }

  it('page checksums that disagree with the bytes (the chunk checksum still right): recovery refuses the commit; made durable, check and partial reads find them', async () => {
    const data = bytes(150_000, 4)
    // The forged commit is the newest: recovery reads its new content back, page checksums included, and opens the commit before.
    const newest = await open(await forged(150_000, flipSum, 0, true))
    expect(newest.recovery).toBeDefined()
    expect(sameBytes(await newest.read('/f', { offset: 65_536 + 3 * 4096, length: 4096 }), data.subarray(65_536 + 3 * 4096, 65_536 + 4 * 4096))).toBe(true)
    await newest.close()
    // Under a later durable commit recovery trusts it; the damage is still found where it is read.
    const buried = await open(await forged(150_000, flipSum, 2))
    expect(buried.recovery).toBeUndefined()
    await expect(buried.read('/f', { offset: 65_536 + 3 * 4096, length: 4096 })).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', path: '/f' })
    expect(sameBytes(await buried.read('/f', { offset: 65_536, length: 3 * 4096 }), data.subarray(65_536, 65_536 + 3 * 4096))).toBe(true)
    // Entry 3 also seeds page 4's check (running CRCs); page 5 on does not depend on it.
    await expect(buried.read('/f', { offset: 65_536 + 4 * 4096, length: 4096 })).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', path: '/f' })
    expect(sameBytes(await buried.read('/f', { offset: 65_536 + 5 * 4096, length: 4096 }), data.subarray(65_536 + 5 * 4096, 65_536 + 6 * 4096))).toBe(true)
    const report = await buried.check({ data: true })
    expect(report.problems.join('\n')).toMatch(/\/f.*checksum/)
    await buried.close()
  })

  it('a record whose last page checksum is not its chunk checksum, or with entries past its last page, is corrupt', async () => {
    // Chunk 1 of a 100,000-byte file holds 34,464 bytes: 9 pages, so entries 9..15 are zero.
    const edits = [
      (sums: Uint32Array, checksum: number) => ({ sums, checksum: checksum ^ 1 }),
      (sums: Uint32Array, checksum: number) => {
        sums[15] = 0xdead
        return { sums, checksum }
      },
    ]
    for (const edit of edits) {
      const cart = await open(await forged(100_000, edit, 2))
      await expect(cart.read('/f', { offset: 65_536, length: 10 })).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', path: '/f' })
      await expect(cart.read('/f')).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT', path: '/f' })
      expect(sameBytes(await cart.read('/f', { offset: 0, length: 65_536 }), bytes(100_000, 4).subarray(0, 65_536))).toBe(true)
      expect((await cart.check({ data: true })).problems.join('\n')).toMatch(/\/f.*page checksums/)
      await cart.close()
    }
  })
})
