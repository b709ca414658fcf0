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
import { VECTOR_NAMES, bytes, sha256, summary, type Expected, type FileSummary } from '../vectors/content.js'
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

/** `<name>.expected.json`, as an object (vectors without snapshots hold only the file list). */
function expectedOf(name: string): Exclude<Expected, FileSummary[]> | { files: FileSummary[]; nextId?: undefined; snapshots?: undefined } {
  const e = JSON.parse(readFileSync(join(VECTORS, `${name}.expected.json`), 'utf8')) as Expected
  return Array.isArray(e) ? { files: e } : e
}

type Files = Pick<Cartridge, 'list' | 'read'>
async function readAll(from: Files): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>()
  for (const p of await from.list('/')) files.set(p, await from.read(p))
  return files
}

/** Reads every file, and every snapshot with its files, through the reference implementation, read-only. */
async function referenceRead(path: string): Promise<{
  txn: number; files: Map<string, Uint8Array>
  snapshots: Array<{ id: number; name: string; txn: number; created: number; fileCount: number; files: Map<string, Uint8Array> }>
}> {
  const cart = await Cartridge.open(path, { readOnly: true })
  try {
    const snapshots = []
    for (const s of await cart.listSnapshots()) {
      snapshots.push({ id: s.id, name: s.name, txn: s.txn, created: s.created.getTime(), fileCount: s.fileCount, files: await readAll(cart.snapshot(s.id)) })
    }
    return { txn: (await cart.info()).txn, files: await readAll(cart), snapshots }
  } finally {
    await cart.close()
  }
}

/** The independent reader's snapshots, each with its files, in the shape of `referenceRead`. */
function independentSnapshots(r: ReturnType<typeof readContainer>) {
  return (r.snapshots?.snapshots ?? []).map(({ id, name, txn, created, fileCount }) => ({ id, name, txn, created, fileCount, files: r.snapshotFiles(id) }))
}

describe.each(VECTOR_NAMES)('vector %s', (name) => {
  const file = join(VECTORS, `${name}.cart`)
  const present = existsSync(file)

  it.skipIf(!present)('the independent reader returns exactly the expected files and snapshots, in key order', () => {
    const expected = expectedOf(name)
    const r = readContainer(file)
    expect(summary(r.files)).toEqual(expected.files)
    expect(r.meta.fileCount).toBe(r.files.size)
    expect(r.meta.slug).toBe(name)
    expect(r.meta.snapshotsRoot.page === 0).toBe(expected.snapshots === undefined)
    expect(r.snapshots?.nextId).toBe(expected.nextId)
    const snapshots = independentSnapshots(r).map((s) => ({ id: s.id, name: s.name, fileCount: s.fileCount, files: summary(s.files) }))
    expect(snapshots).toEqual(expected.snapshots ?? [])
  })

  it.skipIf(!present)('the reference implementation returns the same files and snapshots and picks the same commit', async () => {
    const ours = readContainer(file)
    const ref = await referenceRead(file)
    expect(summary(ref.files)).toEqual(summary(ours.files))
    expect(ref.txn).toBe(ours.meta.txn)
    const shape = (list: Array<{ files: Map<string, Uint8Array> }>) => list.map((s) => ({ ...s, files: summary(s.files) }))
    expect(shape(ref.snapshots)).toEqual(shape(independentSnapshots(ours)))
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

  it('snapshots has a minor-1 meta, a one-page snapshot table with a gap in its ids, and snapshots unlike the live state', () => {
    const file = join(VECTORS, 'snapshots.cart')
    const r = readContainer(file)
    const image = readFileSync(file)
    expect(r.meta.minor).toBe(1)
    expect(r.meta.snapshotsRoot.aux).toBe(0) // height 0: the root is the only SNAPSHOT_TABLE page
    expect(image[r.meta.snapshotsRoot.page * PAGE + 4]).toBe(7)
    expect(r.snapshots!.nextId).toBe(4)
    expect(r.snapshots!.snapshots.map((s) => s.id)).toEqual([1, 3])
    const [v1, v3] = r.snapshots!.snapshots
    expect(v1.txn).toBeLessThan(v3.txn)
    expect(v3.txn).toBeLessThan(r.meta.txn)
    const live = summary(r.files)
    for (const s of [v1, v3]) expect(summary(r.snapshotFiles(s.id))).not.toEqual(live)
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

describe('damage in the snapshot table (§13: part of the recovery check of a candidate meta page)', () => {
  /** The independent reader's view of the snapshot table, for comparisons. */
  const tableOf = (path: string) => readContainer(path).snapshots!.snapshots.map((s) => [s.id, s.name])

  it('a flipped byte in a SNAPSHOT_TABLE page both meta slots share: no intact commit, for both readers', async () => {
    const path = copyOf('snapshots', 'table')
    const image = readFileSync(path)
    const root = (slot: number) => Number(image.readBigUInt64LE(slot * PAGE + 120))
    const table = root(0)
    expect(root(1)).toBe(table) // the last commits did not change the table
    image[table * PAGE + 200] ^= 0x10
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(new RegExp(`^corrupt: no meta page leads to an intact commit \\(checksum: page ${table}: checksum mismatch\\)`))
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
  })

  it('a flipped byte in a SNAPSHOT_TABLE page only the newest commit holds: both readers fall back to the older slot', async () => {
    const path = copyOf('snapshots', 'fallback')
    const before = readContainer(path)
    // Unsynced commits: the table is rewritten without v1 after the durable commit (baseTxn), and
    // the old table pages are held back (§14), so the older slot still reads.
    const cart = await Cartridge.open(path, { durability: 'none' })
    await cart.deleteSnapshot('v1')
    await cart.close()
    const after = readContainer(path)
    expect(tableOf(path)).toEqual([[3, 'v3']])
    expect(after.meta.baseTxn).toBe(before.meta.txn)
    expect(after.meta.snapshotsRoot.txn).toBeGreaterThan(after.meta.baseTxn)
    const image = readFileSync(path)
    image[after.meta.snapshotsRoot.page * PAGE + 200] ^= 0x10
    writeFileSync(path, image)
    const ours = readContainer(path)
    expect(ours.meta.txn).toBe(before.meta.txn)
    expect(tableOf(path)).toEqual([[1, 'v1'], [3, 'v3']])
    expect(summary(ours.files)).toEqual(expectedOf('snapshots').files)
    const ref = await referenceRead(path)
    expect(ref.txn).toBe(before.meta.txn)
    expect(ref.snapshots.map((s) => [s.id, s.name])).toEqual([[1, 'v1'], [3, 'v3']])
  })

  it('a table whose entries are out of id order is refused even when every checksum matches, by both readers', async () => {
    const path = copyOf('snapshots', 'order')
    const image = readFileSync(path)
    const { meta } = readContainer(path)
    const page = image.subarray(meta.snapshotsRoot.page * PAGE, (meta.snapshotsRoot.page + 1) * PAGE)
    const second = 32 + 8 + 58 + page.readUInt16LE(32 + 8 + 56) // payload: nextId, entry v1, entry v3
    expect(Number(page.readBigUInt64LE(second))).toBe(3)
    page.writeBigUInt64LE(1n, second) // v3 now claims id 1, like v1
    const sum = crc32(page.subarray(4)) >>> 0
    page.writeUInt32LE(sum, 0)
    for (const slot of [0, 1]) {
      const m = image.subarray(slot * PAGE, (slot + 1) * PAGE)
      m.writeUInt32LE(sum, 120 + 16) // snapshotsRoot.checksum
      m.writeUInt32LE(crc32(m.subarray(0, 4092)) >>> 0, 4092)
    }
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(/^corrupt: no meta page leads to an intact commit \(corrupt: snapshot table page \d+: snapshot id 1 out of order\)/)
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
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

describe('a vacuumed container (§23: moved pages keep their birth txn, sealed at their new number)', () => {
  it('reads the same in both readers, live state and every snapshot, after pages moved and the file shrank', async () => {
    const path = join(tmp, 'vacuumed.cart')
    const cart = await Cartridge.create('vacuumed', 'Vacuumed', { path })
    for (let i = 0; i < 30; i++) await cart.write(`/f/${i}.bin`, bytes([300, 5000, 70_000, 400_000][i % 4], i))
    await cart.createSnapshot('all')
    for (let i = 0; i < 30; i += 2) await cart.delete(`/f/${i}.bin`)
    await cart.createSnapshot('odd')
    for (let i = 1; i < 30; i += 4) await cart.delete(`/f/${i}.bin`)
    await cart.deleteSnapshot('all')
    const { movedPages, bytesAfter, bytesBefore } = await cart.vacuum({ stepPages: 32 })
    expect(movedPages).toBeGreaterThan(100)
    expect(bytesAfter).toBeLessThan(bytesBefore)
    await cart.close()
    const r = readContainer(path)
    expect(r.meta.totalPages * PAGE).toBe(bytesAfter)
    const ref = await referenceRead(path)
    expect(summary(r.files)).toEqual(summary(ref.files))
    expect(independentSnapshots(r).map((s) => ({ ...s, files: summary(s.files) }))).toEqual(ref.snapshots.map((s) => ({ ...s, files: summary(s.files) })))
    expect(ref.snapshots.map((s) => s.name)).toEqual(['odd'])
  })
})
