/**
 * Conformance: the independent reader (spec/conformance/reader.ts, written from spec/FORMAT.md)
 * and the reference implementation must read every vector in spec/vectors identically, and the
 * independent reader must detect damage the spec says is detectable.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { crc32 } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from 'cartridge'
import { VECTOR_NAMES, bytes, sha256, summary, type FileSummary } from '../vectors/content.js'
import { ReadError, readContainer } from './reader.js'

const VECTORS = fileURLToPath(new URL('../vectors/', import.meta.url))
const PAGE = 4096

const tmp = mkdtempSync(join(tmpdir(), 'cart-conformance-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A scratch copy of a vector to damage. */
function copyOf(name: string, label: string): string {
  const p = join(tmp, `${name}-${label}.cart`)
  copyFileSync(join(VECTORS, `${name}.cart`), p)
  return p
}

/** Reads every file through the reference implementation, read-only. */
async function referenceRead(path: string): Promise<{ txn: number; files: Map<string, Uint8Array> }> {
  const cart = await Cartridge.open(path, { readOnly: true })
  try {
    const files = new Map<string, Uint8Array>()
    for (const p of await cart.list('/')) files.set(p, await cart.read(p))
    return { txn: (await cart.info()).txn, files }
  } finally {
    await cart.close()
  }
}

describe.each(VECTOR_NAMES)('vector %s', (name) => {
  const file = join(VECTORS, `${name}.cart`)
  const present = existsSync(file)

  it.skipIf(!present)('the independent reader returns exactly the expected files, in key order', () => {
    const expected = JSON.parse(readFileSync(join(VECTORS, `${name}.expected.json`), 'utf8')) as FileSummary[]
    const { meta, files } = readContainer(file)
    expect(summary(files)).toEqual(expected)
    expect(meta.fileCount).toBe(files.size)
    expect(meta.slug).toBe(name)
    expect(meta.snapshotsRoot.page).toBe(0)
  })

  it.skipIf(!present)('the reference implementation returns the same files and picks the same commit', async () => {
    const ours = readContainer(file)
    const ref = await referenceRead(file)
    expect(summary(ref.files)).toEqual(summary(ours.files))
    expect(ref.txn).toBe(ours.meta.txn)
  })
})

describe('the vectors exercise what they claim', () => {
  it('churned has a branch catalog root, free pages, and a newest commit that recovery must verify', () => {
    const file = join(VECTORS, 'churned.cart')
    const { meta } = readContainer(file)
    const image = readFileSync(file)
    expect(image[meta.catalogRoot.page * PAGE + 4]).toBe(3) // CATALOG_BRANCH
    expect(meta.freeMapRoot.aux).toBe(0) // one FREEMAP_LEAF
    const leaf = image.subarray(meta.freeMapRoot.page * PAGE + 32)
    let free = 0
    for (let p = 0; p < meta.totalPages; p++) if ((leaf[p >> 3] & (1 << (p & 7))) === 0) free++
    expect(free).toBeGreaterThan(0)
    expect(meta.baseTxn).toBeLessThan(meta.txn - 1) // unsynced commits since the durable base
  })

  it('chunked holds INLINE, DIRECT and MAP records', () => {
    const file = join(VECTORS, 'chunked.cart')
    const { meta } = readContainer(file)
    const image = readFileSync(file)
    const leaf = image.subarray(meta.catalogRoot.page * PAGE, (meta.catalogRoot.page + 1) * PAGE)
    expect(leaf[4]).toBe(2) // the root is the only CATALOG_LEAF
    const kindOf = (path: string) => leaf[leaf.indexOf(Buffer.from(path)) + Buffer.byteLength(path)] // the value follows the key
    expect(kindOf('/top.txt')).toBe(0)
    expect(kindOf('/data/100k.bin')).toBe(1)
    expect(kindOf('/data/nested/65537.bin')).toBe(1)
    expect(kindOf('/data/nested/deeper/1m.bin')).toBe(2)
  })
})

describe('damage', () => {
  it('a flipped byte in a content page is a checksum error, for both readers', async () => {
    const path = copyOf('chunked', 'flip')
    const image = readFileSync(path)
    const content = bytes(1_048_576, 3)
    // The 1 MiB file's 10th chunk (reached through the chunk map).
    const at = image.indexOf(Buffer.from(content.subarray(9 * 65536, 9 * 65536 + 64)))
    expect(at).toBeGreaterThan(0)
    expect(at % PAGE).toBe(0)
    image[at + 1234] ^= 0x5a
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(ReadError)
    expect(() => readContainer(path)).toThrow(/^checksum: \/data\/nested\/deeper\/1m\.bin/)
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM' })
  })

  it('a flipped byte in a catalog page is a checksum error, for both readers', async () => {
    const path = copyOf('small', 'catalog')
    const root = readContainer(path).meta.catalogRoot.page // a single CATALOG_LEAF holds every entry
    const image = readFileSync(path)
    image[root * PAGE + 100] ^= 0x01
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(/^checksum: page \d+: checksum mismatch/)
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', page: root })
  })

  it('a damaged newest meta page falls back to the other one, for both readers', async () => {
    const path = copyOf('chunked', 'meta')
    const image = readFileSync(path)
    const txnOf = (slot: number) => Number(image.readBigUInt64LE(slot * PAGE + 16))
    const newest = txnOf(0) > txnOf(1) ? 0 : 1
    const older = txnOf(1 - newest)
    image[newest * PAGE + 40] ^= 0xff
    writeFileSync(path, image)
    const ours = readContainer(path)
    expect(ours.meta.txn).toBe(older)
    // The closing commit wrote nothing, so the previous commit holds the same files.
    const expected = JSON.parse(readFileSync(join(VECTORS, 'chunked.expected.json'), 'utf8')) as FileSummary[]
    expect(summary(ours.files)).toEqual(expected)
    const ref = await referenceRead(path)
    expect(ref.txn).toBe(older)
  })

  it('an unknown major version is refused as unsupported, by both readers', async () => {
    const path = copyOf('small', 'version')
    const image = readFileSync(path)
    for (const slot of [0, 1]) {
      const meta = image.subarray(slot * PAGE, (slot + 1) * PAGE)
      meta.writeUInt16LE(2, 8)
      meta.writeUInt32LE(crc32(meta.subarray(0, 4092)) >>> 0, 4092)
    }
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(/^unsupported:/)
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
  })
})

describe('structures too big for a committed vector (built on the fly)', () => {
  it('a chunk map with POINTER_NODE pages (more than 84 chunks) reads the same in both readers', async () => {
    const path = join(tmp, 'deep.cart')
    const data = bytes(86 * 65536 + 100, 11)
    const cart = await Cartridge.create('deep', 'Deep', { path })
    await cart.write('/big.bin', data)
    await cart.write('/small.txt', 'small')
    await cart.close()
    const { files } = readContainer(path)
    expect(sha256(files.get('/big.bin')!)).toBe(sha256(data))
    expect(summary(files)).toEqual(summary((await referenceRead(path)).files))
  })
})
