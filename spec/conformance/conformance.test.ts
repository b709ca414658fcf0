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
import { VECTOR_NAMES, auditSummary, bytes, keysOf, prose, sha256, summary, type Expected, type FileSummary } from '../vectors/content.js'
import { ReadError, decodeChunk, openContainer, readContainer, type KeyOptions } from './reader.js'

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

/** `<name>.expected.json`, as an object (plain vectors without snapshots hold only the file list). */
function expectedOf(name: string): Exclude<Expected, FileSummary[]> {
  const e = JSON.parse(readFileSync(join(VECTORS, `${name}.expected.json`), 'utf8')) as Expected
  return Array.isArray(e) ? { files: e } : e
}

/** The key options that open vector `name` (§25): its published passphrase or key; none for a plain vector. */
const keysFor = (name: string): KeyOptions | undefined => keysOf(expectedOf(name))

type Files = Pick<Cartridge, 'list' | 'read'>
async function readAll(from: Files): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>()
  for (const p of await from.list('/')) files.set(p, await from.read(p))
  return files
}

/** Reads every file, and every snapshot with its files, through the reference implementation, read-only (with `keys` for a sealed container). */
async function referenceRead(path: string, keys?: KeyOptions): Promise<{
  txn: number; files: Map<string, Uint8Array>
  snapshots: Array<{ id: number; name: string; txn: number; created: number; fileCount: number; files: Map<string, Uint8Array> }>
}> {
  const cart = await Cartridge.open(path, { readOnly: true, ...keys })
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

/**
 * The file record of `path` in the CATALOG_LEAF at page `leaf`, and where its chunk `i` record lies:
 * in the leaf itself (DIRECT) or in the chunk map's only leaf (MAP of height 0).
 */
function recordOf(image: Buffer, leaf: number, path: string, i = 0): { kind: number; page: number; at: number } {
  const page = image.subarray(leaf * PAGE, (leaf + 1) * PAGE)
  expect(page[4]).toBe(2)
  const value = page.indexOf(Buffer.from(path)) + Buffer.byteLength(path)
  const kind = page[value]
  if (kind !== 2) return { kind, page: leaf, at: value + 32 + 48 * i }
  expect(page.readUInt32LE(value + 32 + 20)).toBe(0) // height 0: the pointer leads to the only CHUNK_MAP_LEAF
  return { kind, page: Number(page.readBigUInt64LE(value + 32)), at: 32 + 48 * i }
}

/**
 * Forges as an attacker would (CRC-32 is not a MAC): applies `edit` to structure page `page` in
 * place, then seals it again and every page and meta slot whose pointer names its old version,
 * up to the meta pages. Birth txns stay, so recovery, which verifies only what was born after
 * `baseTxn`, does not look at a forged old page again.
 */
function forge(image: Buffer, page: number, edit: (p: Buffer) => void): void {
  const p = image.subarray(page * PAGE, (page + 1) * PAGE)
  if (page < 2) {
    edit(p)
    return void p.writeUInt32LE(crc32(p.subarray(0, 4092)) >>> 0, 4092)
  }
  const pointer = Buffer.alloc(20) // page, txn and checksum of a block pointer to this version
  pointer.writeBigUInt64LE(BigInt(page))
  p.copy(pointer, 8, 8, 16)
  p.copy(pointer, 16, 0, 4)
  edit(p)
  const sum = crc32(p.subarray(4)) >>> 0
  p.writeUInt32LE(sum, 0)
  for (let at = image.indexOf(pointer); at >= 0; at = image.indexOf(pointer, at + 20)) {
    forge(image, Math.floor(at / PAGE), (parent) => parent.writeUInt32LE(sum, (at % PAGE) + 16))
  }
}

describe.each(VECTOR_NAMES)('vector %s', (name) => {
  const file = join(VECTORS, `${name}.cart`)
  const present = existsSync(file)
  const keys = present ? keysFor(name) : undefined

  it.skipIf(!present)('the independent reader returns exactly the expected files and snapshots, in key order', () => {
    const expected = expectedOf(name)
    const r = readContainer(file, keys)
    expect(summary(r.files)).toEqual(expected.files)
    expect(r.meta.fileCount).toBe(r.files.size)
    expect(r.meta.slug).toBe(name)
    expect(r.meta.snapshotsRoot.page === 0).toBe(expected.snapshots === undefined)
    expect(r.snapshots?.nextId).toBe(expected.nextId)
    const snapshots = independentSnapshots(r).map((s) => ({ id: s.id, name: s.name, fileCount: s.fileCount, files: summary(s.files) }))
    expect(snapshots).toEqual(expected.snapshots ?? [])
  })

  it.skipIf(!present)('the reference implementation returns the same files and snapshots and picks the same commit', async () => {
    const ours = readContainer(file, keys)
    const ref = await referenceRead(file, keys)
    expect(summary(ref.files)).toEqual(summary(ours.files))
    expect(ref.txn).toBe(ours.meta.txn)
    const shape = (list: Array<{ files: Map<string, Uint8Array> }>) => list.map((s) => ({ ...s, files: summary(s.files) }))
    expect(shape(ref.snapshots)).toEqual(shape(independentSnapshots(ours)))
  })

  it.skipIf(!present)('both readers find an audit log (§26) exactly when the vector has one', async () => {
    const expected = expectedOf(name)
    const c = openContainer(file, keys)
    expect(c.meta.auditRoot.page === 0).toBe(expected.audit === undefined)
    expect(c.meta.minor === 3).toBe(expected.audit !== undefined) // 1.3 only with a log (no vector stores a policy)
    const log = c.audit()
    expect(log?.entries.map(auditSummary)).toEqual(expected.audit?.entries)
    const cart = await Cartridge.open(file, { readOnly: true, ...keys })
    try {
      expect((await cart.auditHead()).enabled).toBe(expected.audit !== undefined)
    } finally {
      await cart.close()
    }
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

  it('compressed is 1.2 with codecs 0, 1 and 2, packed runs (heads and continuations) in DIRECT and MAP records', () => {
    const c = openContainer(join(VECTORS, 'compressed.cart'))
    expect([c.meta.minor, c.meta.codec, c.meta.codecLevel]).toEqual([2, 2, 19])
    const all = c.paths().flatMap((p) => c.chunks(p))
    expect(new Set(all.map((ch) => ch.codec))).toEqual(new Set([0, 1, 2]))
    const ones = c.chunks('/ones-1m.bin') // 16 chunks in one page: a head and 15 continuations
    expect(ones.map((ch) => [ch.page, ch.offset > 0])).toEqual(ones.map((_, i) => [ones[0].page, i > 0]))
    expect(ones[0].runPages).toBe(1)
    for (const [path, kind] of [['/text/zstd-250k.txt', 1], ['/text/zstd-600k.txt', 2]] as const) {
      expect(recordOf(readFileSync(join(VECTORS, 'compressed.cart')), c.meta.catalogRoot.page, path).kind).toBe(kind)
      expect(c.chunks(path).filter((ch) => ch.offset > 0).length).toBe(c.chunks(path).length - 1)
    }
    expect(c.chunks('/mixed-256k.bin').map((ch) => [ch.codec, ch.offset > 0])).toEqual([[2, false], [2, true], [0, false], [2, false]])
    expect(c.chunks('/text/lz4-200k.txt').every((ch) => ch.codec === 1)).toBe(true)
    expect(c.chunks('/text/none-70k.txt').every((ch) => ch.codec === 0)).toBe(true)
  })

  it('summed is 1.4: 112-byte records with page checksums in DIRECT and MAP records, 48-byte ones for compressed content', () => {
    const c = openContainer(join(VECTORS, 'summed.cart'))
    expect(c.meta.minor).toBe(4)
    const image = readFileSync(join(VECTORS, 'summed.cart'))
    const leaf = image.subarray(c.meta.catalogRoot.page * PAGE, (c.meta.catalogRoot.page + 1) * PAGE)
    const valueOf = (path: string) => leaf.indexOf(Buffer.from(path)) + Buffer.byteLength(path) // the value follows the key
    for (const [path, kind, flags] of [['/direct-100k.bin', 1, 2], ['/one-page-and-a-byte.bin', 1, 2], ['/map-300k.bin', 2, 2], ['/text/prose-70k.txt', 1, 0], ['/note.txt', 0, 0]] as const) {
      expect([leaf[valueOf(path)], leaf[valueOf(path) + 2]], path).toEqual([kind, flags])
    }
    expect(c.chunks('/direct-100k.bin').map((ch) => ch.pageSums!.filter((x) => x !== 0).length)).toEqual([16, 9])
    expect(c.chunks('/map-300k.bin').map((ch) => ch.pageSums![Math.ceil(ch.stored / PAGE) - 1] === ch.checksum)).toEqual([true, true, true, true, true])
    expect(c.chunks('/text/prose-70k.txt').every((ch) => ch.pageSums === undefined && ch.codec === 2)).toBe(true)
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

  it('a flipped byte in one page of a chunk with page checksums: both readers refuse the file; the reference still reads the chunk\'s other pages', async () => {
    const path = copyOf('summed', 'page-flip')
    const image = readFileSync(path)
    const content = bytes(300_000, 92)
    const at = image.indexOf(Buffer.from(content.subarray(2 * 65536, 2 * 65536 + 64))) // chunk 2 of the MAP file
    expect(at % PAGE).toBe(0)
    image[at + 7 * PAGE + 5] ^= 0x20 // page 7 of that chunk
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(/^checksum: \/map-300k\.bin/)
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', page: at / PAGE + 7 })
    const cart = await Cartridge.open(path, { readOnly: true })
    try {
      const off = 2 * 65536
      expect(Buffer.from(await cart.read('/map-300k.bin', { offset: off, length: 7 * PAGE })).equals(Buffer.from(content.subarray(off, off + 7 * PAGE)))).toBe(true)
      expect(Buffer.from(await cart.read('/map-300k.bin', { offset: off + 8 * PAGE, length: 100 })).equals(Buffer.from(content.subarray(off + 8 * PAGE, off + 8 * PAGE + 100)))).toBe(true)
      await expect(cart.read('/map-300k.bin', { offset: off + 7 * PAGE + 4000, length: 200 })).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM', page: at / PAGE + 7 })
    } finally {
      await cart.close()
    }
  })

  it('a forged page checksum (the chunk checksum intact) is refused by both readers, as a checksum error where it is read', async () => {
    const path = copyOf('summed', 'page-sum')
    const image = readFileSync(path)
    const c = openContainer(path)
    // The DIRECT record of /direct-100k.bin lies in the only catalog leaf: chunk 0's record, page checksum 4.
    const leafPage = c.meta.catalogRoot.page
    const leaf = image.subarray(leafPage * PAGE, (leafPage + 1) * PAGE)
    const value = leaf.indexOf(Buffer.from('/direct-100k.bin')) + Buffer.byteLength('/direct-100k.bin')
    forge(image, leafPage, (p) => p.writeUInt32LE(p.readUInt32LE(value + 32 + 48 + 16) ^ 1, value + 32 + 48 + 16))
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(/^checksum: \/direct-100k\.bin: page \d+ failed its page checksum/)
    const cart = await Cartridge.open(path, { readOnly: true })
    try {
      await expect(cart.read('/direct-100k.bin', { offset: 4 * PAGE, length: PAGE })).rejects.toMatchObject({ code: 'CARTRIDGE_CHECKSUM' })
      expect((await cart.check({ data: true })).problems.join('\n')).toMatch(/direct-100k\.bin.*checksum/)
    } finally {
      await cart.close()
    }
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
      meta.writeUInt16LE(3, 8) // 2 is a sealed container (§25)
      meta.writeUInt32LE(crc32(meta.subarray(0, 4092)) >>> 0, 4092)
    }
    writeFileSync(path, image)
    expect(() => readContainer(path)).toThrow(/^unsupported:/)
    await expect(referenceRead(path)).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
  })
})

describe('layer ids (§3, 1.5)', () => {
  it('a container whose meta pages name another catalog or allocator is refused as unsupported, by both readers', async () => {
    for (const [off, id] of [[216, 'my-catalog'], [232, 'my-allocator']] as const) {
      const path = copyOf('small', `layer-${off}`)
      const image = readFileSync(path)
      for (const slot of [0, 1]) {
        const meta = image.subarray(slot * PAGE, (slot + 1) * PAGE)
        if (meta.toString('latin1', 0, 8) !== 'CARTRIDG') continue
        meta.write(id, off, 'latin1')
        meta.writeUInt16LE(5, 10)
        meta.writeUInt32LE(crc32(meta.subarray(0, 4092)) >>> 0, 4092)
      }
      writeFileSync(path, image)
      expect(() => readContainer(path)).toThrow(new RegExp(`^unsupported:.*'${id}'`))
      const err = await referenceRead(path).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
      expect((err as Error).message).toContain(`'${id}'`)
    }
  })

  it('ids naming the reference implementations read as if absent, by both readers', async () => {
    const path = copyOf('small', 'layer-ref')
    const image = readFileSync(path)
    for (const slot of [0, 1]) {
      const meta = image.subarray(slot * PAGE, (slot + 1) * PAGE)
      if (meta.toString('latin1', 0, 8) !== 'CARTRIDG') continue
      meta.write('btree', 216, 'latin1')
      meta.write('bitmap', 232, 'latin1')
      meta.writeUInt32LE(crc32(meta.subarray(0, 4092)) >>> 0, 4092)
    }
    writeFileSync(path, image)
    const expected = JSON.parse(readFileSync(join(VECTORS, 'small.expected.json'), 'utf8')) as FileSummary[]
    expect(summary(readContainer(path).files)).toEqual(expected)
    const ref = await referenceRead(path)
    expect(ref.txn).toBeGreaterThan(0)
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

describe('damage and forgery in compressed content (§10, §24)', () => {
  const vector = join(VECTORS, 'compressed.cart')
  const expected = () => new Map(expectedOf('compressed').files.map((f) => [f.path, f]))
  /** A scratch copy of the compressed vector after `change`, with its catalog leaf's page number. */
  function damaged(label: string, change: (image: Buffer, leaf: number) => void): string {
    const path = copyOf('compressed', label)
    const image = readFileSync(path)
    change(image, openContainer(path).meta.catalogRoot.page)
    writeFileSync(path, image)
    return path
  }
  /** Sets fields of chunk `i` of `file` (offsets in the 48-byte record) and seals every page above it again. */
  const forgeRecord = (image: Buffer, leaf: number, file: string, i: number, edit: (record: Buffer) => void) => {
    const { page, at } = recordOf(image, leaf, file, i)
    forge(image, page, (p) => edit(p.subarray(at, at + 48)))
  }
  /** Both readers: `bad` fails as `kind` / `code`, every other file reads exactly as expected. */
  async function onlyThisFails(path: string, bad: string, kind: string, code: string, message?: RegExp): Promise<void> {
    const want = expected()
    const ours = openContainer(path)
    expect(ours.meta.txn).toBe(openContainer(vector).meta.txn) // the damage lies in content that recovery does not read again
    expect(ours.paths()).toEqual([...want.keys()])
    for (const p of ours.paths()) {
      if (p === bad) {
        expect(() => ours.read(p)).toThrow(ReadError)
        expect(() => ours.read(p)).toThrow(message ?? new RegExp(`^${kind}: ${p}`))
      } else expect(summary([[p, ours.read(p)]])).toEqual([want.get(p)])
    }
    const cart = await Cartridge.open(path, { readOnly: true })
    try {
      for (const p of await cart.list('/')) {
        if (p === bad) await expect(cart.read(p)).rejects.toMatchObject({ code, path: p })
        else expect(summary([[p, await cart.read(p)]])).toEqual([want.get(p)])
      }
    } finally {
      await cart.close()
    }
  }

  it('a flipped byte inside a packed run is a checksum error for that file only; a flipped byte in the unused tail of a run is ignored', async () => {
    const file = '/text/zstd-250k.txt' // DIRECT: 4 Zstd chunks back to back in one run of 14 pages
    const c = openContainer(vector)
    const [head, second] = c.chunks(file)
    const tail = c.chunks(file).reduce((end, ch) => Math.max(end, ch.offset + ch.stored), 0)
    expect(tail).toBeLessThan(head.runPages * PAGE)
    const flip = damaged('packed-flip', (image) => void (image[head.page * PAGE + second.offset + 100] ^= 0x20))
    await onlyThisFails(flip, file, 'checksum', 'CARTRIDGE_CHECKSUM')
    // Reads of the chunks before the damaged one still succeed in the reference (each chunk is verified on its own).
    const cart = await Cartridge.open(flip, { readOnly: true })
    await expect(cart.read(file, { offset: 0, length: 1000 })).resolves.toEqual(prose(250_000, 41).subarray(0, 1000))
    await cart.close()
    // Bytes of a run that no chunk's stored bytes cover are unspecified and covered by no checksum.
    const stale = damaged('packed-tail', (image) => void (image[head.page * PAGE + tail + 5] ^= 0x20))
    expect(summary(readContainer(stale).files)).toEqual(expectedOf('compressed').files)
    expect(summary((await referenceRead(stale)).files)).toEqual(expectedOf('compressed').files)
  })

  it('a chunk whose codec byte is 3 is unsupported, for that file only, by both readers', async () => {
    const file = '/text/zstd-600k.txt' // MAP: the record is in a CHUNK_MAP_LEAF
    const path = damaged('codec3', (image, leaf) => forgeRecord(image, leaf, file, 4, (r) => void (r[28] = 3)))
    await onlyThisFails(path, file, 'unsupported', 'CARTRIDGE_UNSUPPORTED')
  })

  it('a continuation that does not lie inside its head\'s run is corrupt, even where its bytes are intact', async () => {
    const file = '/text/zstd-250k.txt' // a run of 14 pages: chunk 2 at bytes 29911.., chunk 3 at 44849..57216
    const { runPages } = openContainer(vector).chunks(file)[0]
    expect(runPages).toBe(14)
    const past = damaged('past-run', (image, leaf) => forgeRecord(image, leaf, file, 2, (r) => r.writeUInt32LE(runPages * PAGE, 44)))
    expect(() => openContainer(past).read(file)).toThrow(/^corrupt: \/text\/zstd-250k\.txt: chunk 2 lies outside the run it continues/)
    await expect(referenceRead(past)).rejects.toMatchObject({ path: file }) // the bytes it reads there fail the chunk's checksum
    // The head claims 8 pages: chunks 2 and 3 now lie past its run, though their bytes still verify.
    const short = damaged('short-run', (image, leaf) => forgeRecord(image, leaf, file, 0, (r) => r.writeUInt16LE(8, 30)))
    expect(() => openContainer(short).read(file)).toThrow(/^corrupt: \/text\/zstd-250k\.txt: chunk 2 lies outside the run it continues/)
    const cart = await Cartridge.open(short, { readOnly: true })
    expect((await cart.check()).problems).toContain(`${file}: chunk 2 lies outside the run it continues`)
    await cart.close()
    // A continuation on another page than its head's.
    const elsewhere = damaged('other-page', (image, leaf) => forgeRecord(image, leaf, '/mixed-256k.bin', 1, (r) => r.writeBigUInt64LE(r.readBigUInt64LE(0) + 1n, 0)))
    expect(() => openContainer(elsewhere).read('/mixed-256k.bin')).toThrow(/^corrupt: \/mixed-256k\.bin: chunk 1 lies outside the run it continues/)
  })

  it('an LZ4 chunk whose size prefix is not logicalLength is corrupt, even with a matching checksum, by both readers', async () => {
    const file = '/text/lz4-200k.txt'
    const path = damaged('lz4-prefix', (image, leaf) => {
      const { page, at } = recordOf(image, leaf, file, 0)
      const head = image.subarray(Number(image.readBigUInt64LE(page * PAGE + at)) * PAGE)
      const stored = head.subarray(0, image.readUInt32LE(page * PAGE + at + 16))
      expect(stored.readUInt32LE(0)).toBe(65536)
      stored.writeUInt32LE(65535, 0)
      forgeRecord(image, leaf, file, 0, (r) => r.writeUInt32LE(crc32(stored) >>> 0, 24))
    })
    await onlyThisFails(path, file, 'corrupt', 'CARTRIDGE_CORRUPT', /^corrupt: \/text\/lz4-200k\.txt: chunk 0: LZ4 size prefix is not logicalLength/)
  })

  it('malformed LZ4 blocks and Zstd frames are corrupt: never another exception, never a wrong length', () => {
    const c = openContainer(vector)
    const image = readFileSync(vector)
    const storedOf = (file: string, i: number) => {
      const ch = c.chunks(file)[i]
      return { ch, bytes: image.subarray(ch.page * PAGE + ch.offset, ch.page * PAGE + ch.offset + ch.stored) }
    }
    const random = bytes(1 << 16, 99)
    let r = 0
    const next = (n: number) => ((random[r++ % random.length] << 8) | random[r++ % random.length]) % n
    for (const [file, i] of [['/text/lz4-200k.txt', 1], ['/text/zstd-250k.txt', 1], ['/ones-1m.bin', 3]] as const) {
      const { ch, bytes: good } = storedOf(file, i)
      expect(decodeChunk(ch.codec, Buffer.from(good), ch.logical).length).toBe(ch.logical)
      for (let k = 0; k < 300; k++) {
        const bad = Buffer.from(good)
        if (k % 3 === 0) for (let j = 1 + next(4); j > 0; j--) bad[next(bad.length)] ^= 1 << next(8)
        const src = k % 3 === 1 ? bad.subarray(0, next(bad.length)) : k % 3 === 2 ? Buffer.concat([bad, bad.subarray(0, 1 + next(30))]) : bad
        try {
          expect(decodeChunk(ch.codec, src, ch.logical).length).toBe(ch.logical)
        } catch (err) {
          expect(err).toBeInstanceOf(ReadError)
          expect((err as ReadError).kind).toBe('corrupt')
        }
      }
    }
    // A block that asks for more than logicalLength stops at it: 1 literal, then a match of 19 + 255 × 300 bytes.
    const long = Buffer.concat([Buffer.from([16, 0, 0, 0, 0x1f, 0x61, 1, 0]), Buffer.alloc(300, 255), Buffer.from([0])])
    expect(() => decodeChunk(1, long, 16)).toThrow(/^corrupt: chunk: LZ4 decodes to more than logicalLength/)
    // Zstd frames made by hand of RLE blocks (3-byte header: last flag, type 1, size; then the byte): a 64 KiB window, no content size.
    const rle = (size: number, last: boolean) => Buffer.from([((size << 3) | 2 | +last) & 255, (size >> 5) & 255, size >> 13, 0x61])
    const frame = (...blocks: Buffer[]) => Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x30]), ...blocks])
    expect(decodeChunk(2, frame(rle(65536, true)), 65536)).toEqual(Buffer.alloc(65536, 0x61))
    expect(() => decodeChunk(2, frame(rle(65536, true)), 65535)).toThrow(/^corrupt: chunk: decodes to 65536 bytes, not 65535/)
    expect(() => decodeChunk(2, frame(rle(65536, false), rle(16, true)), 65536)).toThrow(/^corrupt: chunk: Zstd frame decodes to more than logicalLength/)
    // Two frames that together decode to logicalLength are not one frame (§24: nothing after it).
    expect(() => decodeChunk(2, Buffer.concat([frame(rle(32768, true)), frame(rle(32768, true))]), 65536)).toThrow(/not exactly one frame/)
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

describe('the audit log (§26)', () => {
  const vector = join(VECTORS, 'audited.cart')
  const present = existsSync(vector)
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

  /**
   * Where the log's entries lie in `image`, read by hand: the AUDIT_ENTRIES pages under the head at
   * `auditRoot` (a POINTER_NODE over them: height 1), each with its entries' image offset and length.
   */
  function entryPagesOf(image: Buffer): Array<{ page: number; entries: Array<{ at: number; length: number }> }> {
    const head = openContainer(image).meta.auditRoot.page
    const h = image.subarray(head * PAGE, (head + 1) * PAGE)
    expect(h[4]).toBe(8) // AUDIT_HEAD
    const [root, height] = [Number(h.readBigUInt64LE(32 + 56)), h.readUInt32LE(32 + 56 + 20)]
    expect(height).toBe(1)
    const node = image.subarray(root * PAGE, (root + 1) * PAGE)
    expect(node[4]).toBe(5) // POINTER_NODE
    return Array.from({ length: node.readUInt16LE(6) }, (_, i) => {
      const page = Number(node.readBigUInt64LE(32 + 24 * i))
      const p = image.subarray(page * PAGE, (page + 1) * PAGE)
      expect(p[4]).toBe(9) // AUDIT_ENTRIES
      const entries: Array<{ at: number; length: number }> = []
      for (let k = 0, off = 32; k < p.readUInt16LE(6); k++, off += 2 + p.readUInt16LE(off)) entries.push({ at: page * PAGE + off + 2, length: p.readUInt16LE(off) })
      return { page, entries }
    })
  }
  /** A scratch copy of the audited vector after `change`. */
  function damaged(label: string, change: (image: Buffer) => void): string {
    const path = copyOf('audited', label)
    const image = readFileSync(path)
    change(image)
    writeFileSync(path, image)
    return path
  }
  /** What the reference's verifyAudit reports, read-only. */
  async function referenceVerify(path: string) {
    const cart = await Cartridge.open(path, { readOnly: true })
    try {
      return await cart.verifyAudit()
    } finally {
      await cart.close()
    }
  }
  /** The files still read exactly as expected, through the same commit: log damage is not file damage. */
  function filesIntact(path: string): void {
    const c = openContainer(path)
    expect(c.meta.txn).toBe(openContainer(vector).meta.txn)
    expect(summary(c.files())).toEqual(expectedOf('audited').files)
  }

  it.skipIf(!present)('audited is 1.3 with a log over several entry pages under a POINTER_NODE; the independent reader decodes it as expected and it verifies', () => {
    const expected = expectedOf('audited').audit!
    const c = openContainer(vector)
    expect(c.meta.minor).toBe(3)
    expect(c.meta.auditRoot.aux).toBe(0)
    const log = c.audit()!
    expect(log.entryPages).toBeGreaterThanOrEqual(2)
    expect(entryPagesOf(readFileSync(vector)).length).toBe(log.entryPages)
    expect([log.size, log.base, log.reads]).toEqual([expected.size, expected.base, false])
    expect(log.entries.map(auditSummary)).toEqual(expected.entries)
    expect(log.entries.map((e) => e.index)).toEqual(expected.entries.map((_, i) => i))
    expect(log.entries.every((e, i) => e.principal.length > 0 && (i === 0 || e.time >= log.entries[i - 1].time))).toBe(true)
    expect(log.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['rename', 'delete', 'snapshot.create', 'snapshot.restore']))
    expect([log.valid, log.problems, log.firstBad]).toEqual([true, [], undefined])
    expect(log.computed).toEqual({ size: log.size, root: log.root })
    // The empty tree's root is SHA-256 of nothing, and the first entry records it as what came before.
    expect(log.entries[0].prevRoot).toBe(sha256(new Uint8Array(0)))
    expect(log.baseRoot).toBe(sha256(new Uint8Array(0)))
  })

  it.skipIf(!present)('the reference reports the same head and the same entries', async () => {
    const log = openContainer(vector).audit()!
    const cart = await Cartridge.open(vector, { readOnly: true })
    try {
      const head = await cart.auditHead()
      expect({ enabled: head.enabled, reads: head.reads, size: head.size, root: hex(head.root), base: head.base, baseRoot: hex(head.baseRoot) })
        .toEqual({ enabled: true, reads: log.reads, size: log.size, root: log.root, base: log.base, baseRoot: log.baseRoot })
      const entries = []
      for await (const e of cart.auditLog()) {
        entries.push({ ...e, prevRoot: hex(e.prevRoot), ...(e.sha256 ? { sha256: hex(e.sha256) } : {}) })
      }
      expect(entries).toEqual(log.entries)
      const report = await cart.verifyAudit()
      expect([report.valid, report.size, hex(report.root)]).toEqual([true, log.size, log.root])
    } finally {
      await cart.close()
    }
  })

  it.skipIf(!present)('a path changed in one entry, every checksum forged up to the meta pages: only the chain catches it, at that entry, for both readers', async () => {
    let k = -1
    const path = damaged('path', (image) => {
      const { page, entries } = entryPagesOf(image)[1] // an entry of the second page: the POINTER_NODE is forged too
      const { at } = entries[2]
      const e = image.subarray(at)
      k = Number(e.readBigUInt64LE(8))
      const [action, principal] = [e[96], e[97 + e[96]]]
      const pathAt = 98 + action + principal // its u16 length, then the path
      const text = e.toString('utf8', pathAt + 2, pathAt + 2 + e.readUInt16LE(pathAt))
      expect(text).toMatch(/^\/churn\/file-\d\.txt$/)
      const digit = at - page * PAGE + pathAt + 2 + text.length - 5 // the N of file-N.txt
      forge(image, page, (p) => void (p[digit] = p[digit] === 0x39 ? 0x38 : 0x39))
    })
    expect(k).toBeGreaterThan(30)
    filesIntact(path)
    const log = openContainer(path).audit()!
    expect(log.valid).toBe(false)
    expect(log.firstBad).toBe(k)
    expect(log.problems[0]).toEqual({ index: k, what: `entry ${k} was changed (entry ${k + 1} recorded another root before it)` })
    expect(log.entries[k].path).toMatch(/^\/churn\/file-\d\.txt$/) // it still decodes: nothing but the chain shows the change
    expect(log.computed.size).toBe(log.size)
    expect(log.computed.root).not.toBe(log.root)
    expect((await referenceVerify(path)).firstBad).toBe(k)
  })

  it.skipIf(!present)('an entry removed from its page, the page and its parents forged: the first entry missing is located, for both readers', async () => {
    let k = -1
    const path = damaged('removed', (image) => {
      const { page, entries } = entryPagesOf(image)[2]
      const { at, length } = entries[1]
      k = Number(image.readBigUInt64LE(at + 8))
      forge(image, page, (p) => {
        const [from, used] = [at - page * PAGE - 2, p.readUInt32LE(24)]
        p.copy(p, from, from + 2 + length, 32 + used)
        p.fill(0, 32 + used - 2 - length, 32 + used)
        p.writeUInt16LE(p.readUInt16LE(6) - 1, 6)
        p.writeUInt32LE(used - 2 - length, 24)
      })
    })
    filesIntact(path)
    const log = openContainer(path).audit()!
    expect(log.firstBad).toBe(k)
    expect(log.problems[0]).toEqual({ index: k, what: `entry ${k} is missing (the entry at its place says ${k + 1})` })
    expect(log.computed.size).toBe(log.size - 1)
    expect(log.entries.length).toBe(log.size - 1)
    expect((await referenceVerify(path)).firstBad).toBe(k)
  })

  it.skipIf(!present)('a flipped byte in an entry page is damage: the independent reader refuses the log, the reference reports it; the files still read', async () => {
    let page = 0
    const path = damaged('flip', (image) => {
      const [first] = entryPagesOf(image)
      page = first.page
      image[first.entries[3].at + 110] ^= 0x01
    })
    filesIntact(path) // the page was born before baseTxn: recovery does not read it again
    expect(() => openContainer(path).audit()).toThrow(new RegExp(`^checksum: page ${page}: checksum mismatch`))
    const report = await referenceVerify(path)
    expect(report.valid).toBe(false)
  })

  it('a rotated log (base > 0, a frontier at base) with unsynced commits, and a sealed log, read the same in both readers (built on the fly)', async () => {
    /** The independent reader's log beside the reference's head and entries, for `path` opened with `keys`. */
    const both = async (path: string, keys?: KeyOptions) => {
      const log = openContainer(path, keys).audit()!
      const cart = await Cartridge.open(path, { readOnly: true, ...keys })
      try {
        const head = await cart.auditHead()
        const entries = []
        for await (const e of cart.auditLog()) entries.push({ ...e, prevRoot: hex(e.prevRoot), ...(e.sha256 ? { sha256: hex(e.sha256) } : {}) })
        expect([log.size, log.base, log.root, log.baseRoot]).toEqual([head.size, head.base, hex(head.root), hex(head.baseRoot)])
        expect(log.entries).toEqual(entries)
        expect([log.valid, log.problems]).toEqual([true, []])
        return log
      } finally {
        await cart.close()
      }
    }
    const rotated = join(tmp, 'rotated.cart')
    let cart = await Cartridge.create('rotated', 'Rotated', { path: rotated, auditLog: true })
    for (let i = 0; i < 6; i++) await cart.write(`/r/${i}.txt`, `before ${i}`)
    const { size } = await cart.rotateAudit(join(tmp, 'rotated-archive.eng'), { secretKey: bytes(32, 5) })
    await cart.close()
    cart = await Cartridge.open(rotated, { durability: 'none' })
    for (let i = 0; i < 60; i++) await cart.write(`/r/${i % 7}.txt`, `after ${i}`)
    await cart.close()
    const { meta } = openContainer(rotated)
    expect(meta.baseTxn).toBeLessThan(meta.txn - 1) // recovery walks the entry pages born since
    const log = await both(rotated)
    expect([log.base, log.size]).toEqual([size, size + 61]) // the rotation's own entry, then the writes
    expect(log.entries[0]).toMatchObject({ index: size, action: 'audit.rotate' })
    expect(log.baseRoot).not.toBe(sha256(new Uint8Array(0)))

    const sealed = join(tmp, 'sealed-audit.cart')
    const key = { key: bytes(32, 6) }
    cart = await Cartridge.create('sealed-audit', 'Sealed audit', { path: sealed, auditLog: true, encryption: key })
    for (let i = 0; i < 5; i++) await cart.write(`/s/${i}.txt`, bytes(100 + i, i))
    await cart.rename('/s/0.txt', '/s/zero.txt')
    await cart.close()
    expect((await both(sealed, key)).entries.map((e) => e.action)).toEqual(['audit.enable', 'write', 'write', 'write', 'write', 'write', 'rename'])
    expect(readFileSync(sealed).indexOf('/s/zero.txt')).toBe(-1)
  })

  it.skipIf(!present)('a damaged AUDIT_HEAD, which both meta slots share, leaves no intact commit, for both readers; a forged root must be the fold of the frontier', async () => {
    const head = openContainer(vector).meta.auditRoot.page
    const flip = damaged('head-flip', (image) => void (image[head * PAGE + 32 + 30] ^= 0x01))
    expect(() => openContainer(flip)).toThrow(new RegExp(`^corrupt: no meta page leads to an intact commit \\(checksum: page ${head}: checksum mismatch`))
    await expect(referenceRead(flip)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
    const root = damaged('head-root', (image) => forge(image, head, (p) => void (p[32 + 24] ^= 0x01)))
    expect(() => openContainer(root)).toThrow(new RegExp(`^corrupt: no meta page leads to an intact commit \\(corrupt: audit head page ${head}: root is not the fold of the frontier`))
    await expect(referenceRead(root)).rejects.toMatchObject({ code: 'CARTRIDGE_CORRUPT' })
  })
})

describe('encrypted containers (§25)', () => {
  const passphraseVector = join(VECTORS, 'encrypted-passphrase.cart')
  const keyVector = join(VECTORS, 'encrypted-key.cart')
  const passphrase = () => keysFor('encrypted-passphrase') as { passphrase: string }
  const key = () => keysFor('encrypted-key') as { key: Uint8Array }

  /** A scratch copy of an encrypted vector after `change`; the independent reader's view of the original is passed along. */
  function damaged(name: string, label: string, change: (image: Buffer, original: ReturnType<typeof openContainer>) => void): string {
    const path = copyOf(name, label)
    const image = readFileSync(path)
    change(image, openContainer(image, keysFor(name)))
    writeFileSync(path, image)
    return path
  }
  /** The CRC-32 at 4092 of meta slot `slot`, recomputed after an edit (CRC-32 is not a MAC). */
  const resum = (image: Buffer, slot: number) => {
    const m = image.subarray(slot * PAGE, (slot + 1) * PAGE)
    m.writeUInt32LE(crc32(m.subarray(0, 4092)) >>> 0, 4092)
  }
  /** Both readers fail on `path` as `kind` / `code` (at open or at the first read). */
  async function bothFail(path: string, keys: KeyOptions | undefined, kind: string, code: string, message?: RegExp): Promise<void> {
    expect(() => readContainer(path, keys)).toThrow(ReadError)
    expect(() => readContainer(path, keys)).toThrow(message ?? new RegExp(`^${kind}: `))
    await expect(referenceRead(path, keys)).rejects.toMatchObject({ code })
  }

  it('the vectors are sealed as they claim: major 2, scrypt 2^10 or a raw key, sealed records, packed runs, a chunk map past 63 records', () => {
    const p = openContainer(passphraseVector, passphrase())
    expect([p.meta.major, p.meta.minor, p.meta.codec]).toEqual([2, 0, 2])
    expect(p.meta.sealed).toEqual({ kdf: 'scrypt', logN: 10, r: 8, p: 1 })
    expect(p.snapshots!.nextId).toBe(4)
    expect(p.snapshots!.snapshots.map((s) => [s.id, s.name])).toEqual([[1, 'first-state'], [3, 'third-state']])
    const all = [undefined, 1, 3].flatMap((id) => p.paths(id).flatMap((f) => p.chunks(f, id))) // live and both snapshots
    expect(all.every((c) => c.cipher === 1 && c.tag?.length === 16 && !c.nonce.equals(Buffer.alloc(12)))).toBe(true)
    // 69 chunks: more than one CHUNK_MAP_LEAF of 63 sealed records; every chunk packed into one page.
    const repeated = p.chunks('/archive/repeated-4.5m.bin')
    expect(repeated.length).toBe(69)
    expect(repeated.map((c) => [c.page, c.offset > 0])).toEqual(repeated.map((_, i) => [repeated[0].page, i > 0]))
    // A raw sealed chunk (codec 0, cipher 1) packed as a continuation after a Zstd head.
    expect(p.chunks('/media/mixed-68k.bin').map((c) => [c.codec, c.offset > 0])).toEqual([[2, false], [0, true]])
    expect(p.chunks('/media/noise-20k.bin', 1).map((c) => c.codec)).toEqual([0])

    const k = openContainer(keyVector, key())
    expect([k.meta.major, k.meta.codec, k.meta.snapshotsRoot.page]).toEqual([2, 1, 0])
    expect(k.meta.sealed).toEqual({ kdf: 'key', logN: 0, r: 0, p: 0 })
    const db = k.chunks('/app/app.db')
    expect(db.length).toBeGreaterThan(4) // MAP, chunkShift 12: one container page per SQLite page
    expect(db.every((c) => c.logical === 4096 && c.stored === 4096 && c.codec === 0 && c.cipher === 1)).toBe(true)
    expect(k.read('/app/app.db').subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0')
    expect(k.chunks('/app/handbook.txt').map((c) => [c.codec, c.offset > 0])).toEqual([[1, false], [1, true]])
    for (const file of [passphraseVector, keyVector]) {
      const image = readFileSync(file)
      for (const slot of [0, 1]) expect([image.readUInt16LE(slot * PAGE + 8), image[slot * PAGE + 16]]).toEqual([2, 1]) // major 2, AES-256-GCM
    }
  })

  it('the bytes of the encrypted vectors hold no file or snapshot name, slug or title, and no 16 bytes of any file', () => {
    const windows = (b: Buffer, i: number) => // a 32-bit hash of the 16 bytes at i
      (b.readUInt32LE(i) ^ Math.imul(b.readUInt32LE(i + 4), 0x9e3779b1) ^ Math.imul(b.readUInt32LE(i + 8), 0x85ebca6b) ^ Math.imul(b.readUInt32LE(i + 12), 0xc2b2ae35)) >>> 0
    const zero = Buffer.alloc(16)
    for (const name of ['encrypted-passphrase', 'encrypted-key']) {
      const image = readFileSync(join(VECTORS, `${name}.cart`))
      const c = openContainer(image, keysFor(name))
      const states = [undefined, ...(c.snapshots?.snapshots ?? []).map((s) => s.id)]
      const names = [c.meta.slug, c.meta.title, 'second-state' /* the deleted snapshot */, ...(c.snapshots?.snapshots ?? []).map((s) => s.name)]
      for (const id of states) for (const path of c.paths(id)) names.push(path, path.slice(path.lastIndexOf('/') + 1))
      for (const n of names) expect(image.indexOf(Buffer.from(n)), `${name} holds "${n}"`).toBe(-1)
      // Every 16-byte window of every file, live and in each snapshot, against every window of the sealed
      // parts of the image: all but the meta pages' clear headers (0..127) and CRC-32s (4092..4095), which
      // are public and mostly zeros and small numbers, as SQLite pages are. The all-zero window is left
      // out: unused bytes (run tails, free pages) are zero.
      const sealed = [image.subarray(128, 4092), image.subarray(PAGE + 128, PAGE + 4092), image.subarray(2 * PAGE)]
      const inImage = new Set<number>()
      for (const part of sealed) for (let i = 0; i + 16 <= part.length; i++) inImage.add(windows(part, i))
      let checked = 0
      for (const id of states) {
        for (const [path, data] of c.files(id)) {
          for (let i = 0; i + 16 <= data.length; i++, checked++) {
            if (!inImage.has(windows(data, i))) continue
            const w = data.subarray(i, i + 16)
            if (!w.equals(zero)) expect(sealed.some((part) => part.includes(w)), `${name}: bytes ${i}.. of ${path} appear in the container`).toBe(false)
          }
        }
      }
      expect(checked).toBeGreaterThan(100_000)
    }
  })

  it('a missing or wrong passphrase or key is bad-key, for both readers; the passphrase is taken in NFC', async () => {
    const { passphrase: right } = passphrase()
    await bothFail(passphraseVector, undefined, 'bad-key', 'CARTRIDGE_BAD_KEY')
    await bothFail(passphraseVector, { passphrase: right + ' ' }, 'bad-key', 'CARTRIDGE_BAD_KEY', /^bad-key: no meta slot's wrap opens/)
    await bothFail(passphraseVector, { key: new Uint8Array(32) }, 'bad-key', 'CARTRIDGE_BAD_KEY')
    const wrong = Buffer.from(key().key)
    wrong[31] ^= 1
    await bothFail(keyVector, { key: wrong }, 'bad-key', 'CARTRIDGE_BAD_KEY', /^bad-key: no meta slot's wrap opens/)
    await bothFail(keyVector, { passphrase: right }, 'bad-key', 'CARTRIDGE_BAD_KEY')
    await bothFail(keyVector, undefined, 'bad-key', 'CARTRIDGE_BAD_KEY')
    // The published passphrase holds "é"; given in NFD it still opens.
    const nfd = { passphrase: right.normalize('NFD') }
    expect(nfd.passphrase).not.toBe(right)
    expect(summary(readContainer(passphraseVector, nfd).files)).toEqual(expectedOf('encrypted-passphrase').files)
    expect(summary((await referenceRead(passphraseVector, nfd)).files)).toEqual(expectedOf('encrypted-passphrase').files)
    // A key for a plain container is refused too (the reference: an invalid argument).
    expect(() => readContainer(join(VECTORS, 'small.cart'), key())).toThrow(/^auth: the container is not encrypted/)
    await expect(referenceRead(join(VECTORS, 'small.cart'), key())).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
  })

  it('a flipped byte in a sealed catalog page is an authentication failure, for both readers', async () => {
    const path = damaged('encrypted-passphrase', 'catalog', (image, c) => void (image[c.meta.catalogRoot.page * PAGE + 300] ^= 0x04))
    const root = openContainer(passphraseVector, passphrase()).meta.catalogRoot.page
    expect(() => readContainer(path, passphrase())).toThrow(new RegExp(`^auth: page ${root}: does not authenticate`))
    await expect(referenceRead(path, passphrase())).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED', page: root })
  })

  it('a flipped byte in the sealed free map both slots share: no intact commit, an authentication failure, for both readers', async () => {
    let page = 0
    const path = damaged('encrypted-passphrase', 'freemap', (image, c) => void (image[(page = c.meta.freeMapRoot.page) * PAGE + 500] ^= 0x01))
    await bothFail(path, passphrase(), 'auth', 'CARTRIDGE_AUTH_FAILED',
      new RegExp(`^auth: no meta page leads to an intact commit \\(auth: page ${page}: does not authenticate`))
  })

  it('a sealed page copied over another page is an authentication failure, for both readers', async () => {
    // The catalog root of snapshot 1 over the live catalog root: a valid sealed CATALOG_LEAF, but sealed for another page and txn.
    let root = 0
    const path = damaged('encrypted-passphrase', 'moved', (image, c) => {
      root = c.meta.catalogRoot.page
      const from = c.snapshots!.snapshots[0].catalogRoot.page
      expect(from).not.toBe(root)
      image.copy(image, root * PAGE, from * PAGE, (from + 1) * PAGE)
    })
    expect(() => readContainer(path, passphrase())).toThrow(new RegExp(`^auth: page ${root}: does not authenticate`))
    expect(summary(openContainer(path, passphrase()).files(1))).toEqual(expectedOf('encrypted-passphrase').snapshots![0].files) // snapshot 1 still reads
    await expect(referenceRead(path, passphrase())).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED', page: root })
  })

  /**
   * Brings the CRC-32 of `b` back to `before` after an edit by flipping bits of b[at..at+3]. CRC-32 is
   * linear over GF(2): the change a set of flipped bits makes is the XOR of the changes each makes, so
   * this solves a 32 × 32 linear system (Gaussian elimination over the bits' effects).
   */
  function keepCrc(b: Buffer, at: number, before: number): void {
    const flip = (bits: number) => {
      for (let i = 0; i < 32; i++) if ((bits >>> i) & 1) b[at + (i >> 3)] ^= 1 << (i & 7)
    }
    const effect = (bits: number) => {
      flip(bits)
      const changed = crc32(b)
      flip(bits)
      return (changed ^ crc32(b)) >>> 0
    }
    const basis: Array<{ effect: number; bits: number }> = [] // distinct highest bits, highest first
    const reduce = (e: { effect: number; bits: number }) => {
      for (const row of basis) if ((e.effect ^ row.effect) >>> 0 < e.effect) e = { effect: (e.effect ^ row.effect) >>> 0, bits: (e.bits ^ row.bits) >>> 0 }
      return e
    }
    for (let i = 0; i < 32; i++) {
      const row = reduce({ effect: effect(2 ** i), bits: 2 ** i })
      if (row.effect) basis.push(row), basis.sort((x, y) => y.effect - x.effect)
    }
    const solution = reduce({ effect: (crc32(b) ^ before) >>> 0, bits: 0 })
    expect(solution.effect).toBe(0)
    flip(solution.bits)
    expect(crc32(b) >>> 0).toBe(before)
  }

  it.each([
    ['/app/handbook.txt', 1], // an LZ4 continuation in a packed run
    ['/app/app.db', 5], // one SQLite page
  ] as const)('a changed sealed chunk of %s is an authentication failure for that file only, by CRC-32 or, with the CRC-32 kept, by its tag', async (file, i) => {
    for (const keep of [false, true]) {
      const path = damaged('encrypted-key', `chunk-${i}-${keep}`, (image, c) => {
        const ch = c.chunks(file)[i]
        const stored = image.subarray(ch.page * PAGE + ch.offset, ch.page * PAGE + ch.offset + ch.stored)
        stored[100] ^= 0x40
        if (keep) keepCrc(stored, 200, ch.checksum)
      })
      const ours = openContainer(path, key())
      const message = keep ? `^auth: ${file}: chunk ${i} does not authenticate` : `^auth: ${file}: content in pages from \\d+ failed its checksum`
      expect(() => ours.read(file)).toThrow(new RegExp(message))
      const other = ours.paths().find((p) => p !== file)!
      expect(summary([[other, ours.read(other)]])).toEqual(expectedOf('encrypted-key').files.filter((f) => f.path === other))
      const cart = await Cartridge.open(path, { readOnly: true, ...key() })
      try {
        await expect(cart.read(file)).rejects.toMatchObject({ code: 'CARTRIDGE_AUTH_FAILED', path: file })
        expect(summary([[other, await cart.read(other)]])).toEqual(expectedOf('encrypted-key').files.filter((f) => f.path === other))
      } finally {
        await cart.close()
      }
    }
  })

  it('a flipped byte in the sealed meta body: one slot falls back to the other, both slots is an authentication failure, for both readers', async () => {
    const txns = openContainer(passphraseVector, passphrase())
    const newest = txns.meta.slot
    const one = damaged('encrypted-passphrase', 'body-one', (image) => void (image[newest * PAGE + 1000] ^= 0x01))
    const fallback = readContainer(one, passphrase())
    expect(fallback.meta.slot).toBe(1 - newest)
    expect(fallback.meta.txn).toBeLessThan(txns.meta.txn)
    expect(summary(fallback.files)).toEqual(expectedOf('encrypted-passphrase').files)
    expect((await referenceRead(one, passphrase())).txn).toBe(fallback.meta.txn)
    for (const forged of [false, true]) { // as damage, or with the CRC-32 recomputed as an attacker would
      const both = damaged('encrypted-passphrase', `body-both-${forged}`, (image) => {
        for (const slot of [0, 1]) {
          image[slot * PAGE + 2000] ^= 0x01
          if (forged) resum(image, slot)
        }
      })
      await bothFail(both, passphrase(), 'auth', 'CARTRIDGE_AUTH_FAILED', /^auth: no valid meta page \(auth, auth\)/)
    }
  })

  it('a flipped byte in the clear header\'s salt fails that slot\'s wrap (the other slot still opens); in both slots it is bad-key, for both readers', async () => {
    const newest = openContainer(passphraseVector, passphrase()).meta
    for (const slot of [0, 1]) {
      const path = damaged('encrypted-passphrase', `salt-${slot}`, (image) => void ((image[slot * PAGE + 40] ^= 0x80), resum(image, slot)))
      const r = readContainer(path, passphrase())
      expect(r.meta.slot).toBe(1 - slot) // the damaged slot is not valid either: the salt is in its body's AAD
      expect(r.meta.txn === newest.txn).toBe(slot !== newest.slot)
      expect(summary(r.files)).toEqual(expectedOf('encrypted-passphrase').files)
      expect((await referenceRead(path, passphrase())).txn).toBe(r.meta.txn)
    }
    const both = damaged('encrypted-passphrase', 'salt-both', (image) => {
      for (const slot of [0, 1]) (image[slot * PAGE + 40] ^= 0x80), resum(image, slot)
    })
    await bothFail(both, passphrase(), 'bad-key', 'CARTRIDGE_BAD_KEY')
  })

  it('scrypt costs past the bounds are refused as damage before anything is derived, by both readers', async () => {
    // logN 22 and r 32 are each in range, but together ask for 16 GiB (128 · r · N > 1 GiB).
    const path = damaged('encrypted-passphrase', 'cost', (image) => {
      for (const slot of [0, 1]) (image[slot * PAGE + 18] = 22), (image[slot * PAGE + 19] = 32), resum(image, slot)
    })
    await bothFail(path, passphrase(), 'corrupt', 'CARTRIDGE_CORRUPT', /^corrupt: no meta slot's wrap opens with this key or passphrase \(kdf, kdf\)/)
  })

  it('a plain meta slot in an encrypted container is never valid, even with a higher txn, for both readers', async () => {
    const sealed = openContainer(passphraseVector, passphrase()).meta
    const path = damaged('encrypted-passphrase', 'plain-slot', (image) => {
      const plain = readFileSync(join(VECTORS, 'small.cart')).subarray(0, PAGE) // a valid plain meta page
      plain.copy(image, sealed.slot * PAGE)
      image.writeBigUInt64LE(BigInt(sealed.txn + 100), sealed.slot * PAGE + 16)
      resum(image, sealed.slot)
    })
    const r = readContainer(path, passphrase())
    expect(r.meta.slot).toBe(1 - sealed.slot)
    expect(summary(r.files)).toEqual(expectedOf('encrypted-passphrase').files)
    expect((await referenceRead(path, passphrase())).txn).toBe(r.meta.txn)
  })
})
