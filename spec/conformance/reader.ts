/**
 * An independent Cartridge reader of format 1.2, written from spec/FORMAT.md alone (nothing from
 * packages/*). It opens a container the way the spec says (meta selection and recovery), walks
 * the catalog and reads every file, verifying every page and every chunk on the way. It also reads
 * the snapshot table (§22) and the files of each snapshot.
 *
 * Compressed chunks (§24): LZ4 blocks are decoded by the small decoder below; Zstd frames by
 * Node's `zlib.zstdDecompressSync` (Node ≥ 22.15) or else the pure-JS `fzstd`, never by the
 * codecs the reference uses (lz4-napi, zstd-napi). Every decoder stops at logicalLength (+ 1).
 */
import { readFileSync } from 'node:fs'
import * as zlib from 'node:zlib'
import { Decompress as ZstdStream } from 'fzstd'

const PAGE = 4096
const HEADER = 32
const PAYLOAD = PAGE - HEADER
const PTR = 24
const CHUNK_RECORD = 48
const RECORDS_PER_MAP_LEAF = Math.floor(PAYLOAD / CHUNK_RECORD) // 84
const PAGES_PER_FREEMAP_LEAF = PAYLOAD * 8 // 32512
const T = { CATALOG_LEAF: 2, CATALOG_BRANCH: 3, FREEMAP_LEAF: 4, POINTER_NODE: 5, CHUNK_MAP_LEAF: 6, SNAPSHOT_TABLE: 7 } as const
const SNAPSHOT_ENTRY = 58 // fixed part of a snapshot table entry; the name follows

export type ErrorKind = 'corrupt' | 'checksum' | 'unsupported'
export class ReadError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(`${kind}: ${message}`)
  }
}
const fail = (kind: ErrorKind, message: string): never => {
  throw new ReadError(kind, message)
}

export interface Ptr { page: number; txn: number; checksum: number; aux: number }
export interface Meta {
  slot: number; major: number; minor: number; txn: number; baseTxn: number; totalPages: number; fileCount: number
  created: number; maxPages: number; growthThresholdPercent: number; uuid: string; slug: string; title: string
  /** The codec new writes use and its level (§3, §24): writer policy, read here only to be shown. */
  codec: number; codecLevel: number
  catalogRoot: Ptr; freeMapRoot: Ptr; snapshotsRoot: Ptr
}
/** A snapshot table entry (§22). */
export interface Snapshot { id: number; name: string; txn: number; created: number; fileCount: number; catalogRoot: Ptr }
export interface SnapshotTable { nextId: number; snapshots: Snapshot[] }
/** A chunk record (§10): `offset` 0 heads a run of `runPages` pages (0: as many as `stored` needs), above 0 continues one. */
export interface Chunk {
  page: number; txn: number; stored: number; logical: number; checksum: number; codec: number; cipher: number; runPages: number; offset: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const crc = (b: Uint8Array): number => zlib.crc32(b) >>> 0
function u64(b: Buffer, off: number): number {
  const n = b.readBigUInt64LE(off)
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? fail('corrupt', `u64 at ${off} is out of range`) : Number(n)
}
const ptrAt = (b: Buffer, off: number): Ptr => ({ page: u64(b, off), txn: u64(b, off + 8), checksum: b.readUInt32LE(off + 16), aux: b.readUInt32LE(off + 20) })

/** Decodes one meta slot, or says why it is not usable. */
function decodeMeta(p: Buffer, slot: number): Meta | 'magic' | 'checksum' | 'version' | 'page-size' {
  if (p.toString('latin1', 0, 8) !== 'CARTRIDG') return 'magic'
  if (p.readUInt32LE(4092) !== crc(p.subarray(0, 4092))) return 'checksum'
  if (p.readUInt16LE(8) !== 1) return 'version'
  if (p.readUInt32LE(12) !== PAGE) return 'page-size'
  const text = (off: number, max: number) => p.toString('utf8', off + 2, off + 2 + Math.min(p.readUInt16LE(off), max))
  return {
    slot, major: 1, minor: p.readUInt16LE(10), txn: u64(p, 16), baseTxn: u64(p, 24), totalPages: u64(p, 32), fileCount: u64(p, 40),
    created: u64(p, 48), maxPages: u64(p, 56), growthThresholdPercent: p[64], codec: p[65], codecLevel: p[66],
    catalogRoot: ptrAt(p, 72), freeMapRoot: ptrAt(p, 96), snapshotsRoot: ptrAt(p, 120), uuid: p.toString('hex', 144, 160), slug: text(256, 214), title: text(512, 1024),
  }
}

const supported = (path: string, c: Chunk): void => {
  if (c.codec > 2 || c.cipher !== 0) fail('unsupported', `${path}: chunk codec ${c.codec} / cipher ${c.cipher}`)
}

/** Decodes the stored bytes of a chunk of codec 1 (LZ4) or 2 (Zstd) to exactly `length` bytes (§24); anything else is corrupt. */
export function decodeChunk(codec: number, src: Buffer, length: number, what = 'chunk'): Buffer {
  const out = codec === 1 ? unlz4(src, length, what) : unzstd(src, length, what)
  return out.length === length ? out : fail('corrupt', `${what}: decodes to ${out.length} bytes, not ${length}`)
}

/** LZ4: a u32 size prefix, then one LZ4 block (literals, then a match, per sequence), decoded without ever writing past `length`. */
function unlz4(src: Buffer, length: number, what: string): Buffer {
  const bad = (why: string): never => fail('corrupt', `${what}: LZ4 ${why}`)
  if (src.length < 4 || src.readUInt32LE(0) !== length) bad('size prefix is not logicalLength')
  const out = Buffer.alloc(length)
  let i = 4 // in src
  let o = 0 // in out
  const byte = (): number => (i < src.length ? src[i++] : bad('block ends in the middle of a sequence'))
  const more = (n: number): number => {
    if (n === 15) for (let b = 255; b === 255; n += b) b = byte() // 15 means: add bytes up to and including the first below 255
    return n
  }
  for (;;) {
    const token = byte()
    const literals = more(token >> 4)
    if (literals > src.length - i) bad('literals run past the block')
    if (literals > length - o) bad('decodes to more than logicalLength')
    src.copy(out, o, i, i + literals)
    i += literals
    o += literals
    if (i === src.length) break // the last sequence has no match
    const distance = byte() | (byte() << 8)
    const match = more(token & 15) + 4
    if (distance === 0 || distance > o) bad(`match distance ${distance} out of range`)
    if (match > length - o) bad('decodes to more than logicalLength')
    for (const end = o + match; o < end; o++) out[o] = out[o - distance] // byte by byte: a match may overlap itself
  }
  return out.subarray(0, o)
}

/**
 * Zstd: exactly one frame (RFC 8878), decoded by Node's zlib or by fzstd into at most `length` + 1
 * bytes. The frame's optional XXH64 content checksum is checked by zlib (libzstd), not by fzstd;
 * the chunk's CRC-32 covers the stored bytes either way.
 */
function unzstd(src: Buffer, length: number, what: string): Buffer {
  const bad = (why: string): never => fail('corrupt', `${what}: Zstd ${why}`)
  // Frame header (§3.1.1.1): magic, descriptor, [window descriptor], [dictionary id], [content size].
  if (src.length < 6 || src.readUInt32LE(0) !== 0xfd2fb528) bad('stored bytes are not a frame')
  const fhd = src[4]
  const single = (fhd >> 5) & 1
  if (fhd & 8) bad('frame header has its reserved bit set')
  let at = 5 + (single ? 0 : 1)
  const window = single ? 0 : 2 ** (10 + (src[5] >> 3)) * (1 + (src[5] & 7) / 8)
  const dictBytes = [0, 1, 2, 4][fhd & 3]
  const sizeBytes = [single, 2, 4, 8][fhd >> 6]
  if (at + dictBytes + sizeBytes > src.length) bad('frame header is cut short')
  if (dictBytes && src.readUIntLE(at, dictBytes) !== 0) bad('frame needs a dictionary')
  at += dictBytes
  const declared = sizeBytes === 8 ? Number(src.readBigUInt64LE(at)) : sizeBytes ? src.readUIntLE(at, sizeBytes) + (sizeBytes === 2 ? 256 : 0) : -1
  at += sizeBytes
  // A frame that declares another size cannot decode to logicalLength (libzstd refuses such a frame);
  // windows above 2^27 are refused as libzstd does by default (fzstd would allocate the whole window).
  if (declared !== -1 && declared !== length) bad(`frame declares ${declared} bytes, not ${length}`)
  if (window > 2 ** 27) bad(`window of ${window} bytes`)
  // Blocks (§3.1.1.2): 3-byte header (last flag, type, size); RLE blocks store one byte. Then the optional checksum.
  for (let last = 0; !last; ) {
    if (at + 3 > src.length) bad('frame is cut short')
    const h = src.readUIntLE(at, 3)
    if (((h >> 1) & 3) === 3) bad('reserved block type')
    ;[last, at] = [h & 1, at + 3 + (((h >> 1) & 3) === 1 ? 1 : h >>> 3)]
  }
  if (at + ((fhd >> 2) & 1) * 4 !== src.length) bad('stored bytes are not exactly one frame')
  const builtin = (zlib as { zstdDecompressSync?: (b: Uint8Array, o: { maxOutputLength: number }) => Buffer }).zstdDecompressSync
  const tooLong = 'frame decodes to more than logicalLength'
  try {
    if (builtin) return builtin(src, { maxOutputLength: length + 1 }) // throws ERR_BUFFER_TOO_LARGE past that
    const out = Buffer.alloc(length + 1)
    let n = 0
    new ZstdStream((part) => {
      if (part.length > out.length - n) bad(tooLong)
      out.set(part, n)
      n += part.length
    }).push(src, true)
    return out.subarray(0, n)
  } catch (err) {
    if (err instanceof ReadError) throw err
    return bad((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? tooLong : `frame does not decode (${(err as Error).message})`)
  }
}

/** One container image under one meta page: verified page and chunk access. */
class View {
  constructor(readonly image: Buffer, readonly meta: Meta) {}

  /** `count` pages from `first`; bytes past the end of the file read as zero. */
  pages(first: number, count: number): Buffer {
    if (first < 2 || first + count > this.meta.totalPages) fail('corrupt', `pages ${first}..${first + count - 1} are outside the container`)
    const out = Buffer.alloc(count * PAGE)
    this.image.copy(out, 0, first * PAGE, Math.min(this.image.length, (first + count) * PAGE))
    return out
  }

  /** Reads the page `ptr` points to and checks it is exactly that page, of an expected type. */
  node(ptr: Ptr, types: readonly number[]): { page: Buffer; type: number; level: number; count: number; used: number } {
    const page = this.pages(ptr.page, 1)
    const h = { page, type: page[4], level: page[5], count: page.readUInt16LE(6), used: page.readUInt32LE(24) }
    const sum = page.readUInt32LE(0)
    if (crc(page.subarray(4)) !== sum) fail('checksum', `page ${ptr.page}: checksum mismatch`)
    if (u64(page, 16) !== ptr.page) fail('checksum', `page ${ptr.page}: claims to be page ${u64(page, 16)}`)
    if (!types.includes(h.type)) fail('checksum', `page ${ptr.page}: unexpected type ${h.type}`)
    if (sum !== ptr.checksum || u64(page, 8) !== ptr.txn) fail('checksum', `page ${ptr.page}: not the version its parent points to`)
    if (h.used > PAYLOAD) fail('corrupt', `page ${ptr.page}: payload length out of range`)
    return h
  }

  /** Leaf pages of a pointer tree (height = root.aux), in order, skipping subtrees born at or before `minTxn`. */
  treeLeaves(root: Ptr, leafType: number, minTxn: number): Buffer[] {
    const out: Buffer[] = []
    const walk = (ptr: Ptr, height: number): void => {
      if (ptr.txn <= minTxn) return
      if (height === 0) return void out.push(this.node(ptr, [leafType]).page)
      const n = this.node(ptr, [T.POINTER_NODE])
      if (n.level !== height || n.count < 1 || n.used !== n.count * PTR) fail('corrupt', `pointer node ${ptr.page} is malformed`)
      for (let i = 0; i < n.count; i++) walk(ptrAt(n.page, HEADER + i * PTR), height - 1)
    }
    if (root.page === 0) fail('corrupt', 'null pointer-tree root')
    walk(root, root.aux)
    return out
  }

  /** Walks the catalog at `root` in key order (subtrees born after `minTxn` only) and calls `onEntry` per entry. */
  catalog(root: Ptr, minTxn: number, onEntry: (key: string, value: Buffer) => void): void {
    const walk = (ptr: Ptr, level: number | undefined, lo: Buffer | undefined, hi: Buffer | undefined): void => {
      if (ptr.txn <= minTxn) return
      const types = level === undefined ? [T.CATALOG_LEAF, T.CATALOG_BRANCH] : [level === 0 ? T.CATALOG_LEAF : T.CATALOG_BRANCH]
      const n = this.node(ptr, types)
      const bad = (why: string): never => fail('corrupt', `catalog page ${ptr.page}: ${why}`)
      if ((n.type === T.CATALOG_LEAF) !== (n.level === 0) || (level !== undefined && n.level !== level)) bad(`wrong level ${n.level}`)
      const end = HEADER + n.used
      let off = HEADER
      const take = (len: number): Buffer => (off + len > end ? bad('entry runs past the payload') : n.page.subarray(off, (off += len)))
      const keys: Buffer[] = []
      const key = (len: number): Buffer => {
        const k = take(len)
        if (keys.length > 0 && Buffer.compare(keys[keys.length - 1], k) >= 0) bad('keys out of order')
        if ((lo && Buffer.compare(k, lo) < 0) || (hi && Buffer.compare(k, hi) >= 0)) bad('key outside its parent separators')
        keys.push(k)
        return k
      }
      const str = (k: Buffer): string => {
        try {
          return utf8.decode(k)
        } catch {
          return bad('key is not valid UTF-8')
        }
      }
      const children: Ptr[] = []
      const seps: Array<Buffer | undefined> = [lo]
      if (n.level === 0) {
        for (let i = 0; i < n.count; i++) {
          const head = take(4)
          const k = str(key(head.readUInt16LE(0)))
          onEntry(k, take(head.readUInt16LE(2)))
        }
      } else {
        if (n.count < 1) bad('branch without children')
        children.push(ptrAt(take(PTR), 0))
        for (let i = 1; i < n.count; i++) {
          const sep = key(take(2).readUInt16LE(0))
          str(sep)
          seps.push(sep)
          children.push(ptrAt(take(PTR), 0))
        }
      }
      if (off !== end) bad('payload length does not match its entries')
      children.forEach((c, i) => (c.page === 0 ? bad('null child') : walk(c, n.level - 1, seps[i], i + 1 < n.count ? seps[i + 1] : hi)))
    }
    if (root.page !== 0) walk(root, undefined, undefined, undefined)
  }

  /** Decodes a file record; returns its inline bytes or its chunk records (those born after `minTxn`). */
  record(path: string, v: Buffer, minTxn: number): { size: number; chunkSize: number; inline?: Buffer; chunks: Chunk[] } {
    const bad = (why: string): never => fail('corrupt', `file record of ${path}: ${why}`)
    if (v.length < 32) bad('too short')
    const [kind, shift, count, size, body] = [v[0], v[1], v.readUInt32LE(4), u64(v, 8), v.subarray(32)]
    // 16: files (64 KiB chunks); 12: paged files such as SQLite databases (one page per chunk).
    // Not an extension point in format 1 (§18): any other chunk size is damage.
    if (shift !== 16 && shift !== 12) bad(`unsupported chunk size 2^${shift}`)
    const chunkSize = 2 ** shift
    if (kind === 0) return body.length === size ? { size, chunkSize, inline: body, chunks: [] } : bad('inline length mismatch')
    if (kind !== 1 && kind !== 2) bad(`unknown kind ${kind}`)
    if (count !== Math.ceil(size / chunkSize)) bad('chunk count does not match size')
    const records = (page: Buffer, off: number, n: number): Chunk[] =>
      Array.from({ length: n }, (_, i) => {
        const o = off + i * CHUNK_RECORD
        return { page: u64(page, o), txn: u64(page, o + 8), stored: page.readUInt32LE(o + 16), logical: page.readUInt32LE(o + 20),
          checksum: page.readUInt32LE(o + 24), codec: page[o + 28], cipher: page[o + 29], runPages: page.readUInt16LE(o + 30),
          offset: page.readUInt32LE(o + 44) }
      })
    if (kind === 1) return body.length === count * CHUNK_RECORD ? { size, chunkSize, chunks: records(v, 32, count) } : bad('chunk list length mismatch')
    if (body.length !== PTR) bad('chunk map pointer length mismatch')
    const leaves = this.treeLeaves(ptrAt(v, 32), T.CHUNK_MAP_LEAF, minTxn)
    const chunks = leaves.flatMap((leaf, i) => {
      const n = leaf.readUInt16LE(6)
      const full = minTxn >= 0 || i === leaves.length - 1 ? n >= 1 && n <= RECORDS_PER_MAP_LEAF : n === RECORDS_PER_MAP_LEAF
      if (!full || leaf.readUInt32LE(24) !== n * CHUNK_RECORD) bad(`chunk map page ${u64(leaf, 16)} is malformed`)
      return records(leaf, HEADER, n)
    })
    if (minTxn < 0 && chunks.length !== count) bad(`chunk map holds ${chunks.length} records, expected ${count}`)
    return { size, chunkSize, chunks }
  }

  /** A chunk's stored bytes (`offset` bytes into page `page`), inside the container and verified against its CRC-32 (§10). */
  stored(path: string, c: Chunk, chunkSize: number): Buffer {
    supported(path, c)
    if (c.stored < 1 || c.stored > chunkSize || (c.codec === 0 && c.stored !== c.logical)) fail('corrupt', `${path}: bad chunk lengths`)
    const bytes = this.pages(c.page, Math.ceil((c.offset + c.stored) / PAGE)).subarray(c.offset, c.offset + c.stored)
    if (crc(bytes) !== c.checksum) fail('checksum', `${path}: content in pages from ${c.page} failed its checksum`)
    return bytes
  }

  /** A file's content: every chunk checked against its place and its run (§10, §17 step 5), verified, and decoded (§24). */
  content(path: string, value: Buffer): Buffer {
    const r = this.record(path, value, -1)
    if (r.inline) return Buffer.from(r.inline)
    const data = Buffer.alloc(r.size)
    let run = { page: -1, bytes: 0 } // the run of the nearest earlier chunk that heads one
    r.chunks.forEach((c, i) => {
      const bad = (why: string): never => fail('corrupt', `${path}: chunk ${i} ${why}`)
      supported(path, c)
      if (c.logical !== Math.min(r.chunkSize, r.size - i * r.chunkSize)) bad('has the wrong length')
      if (c.offset === 0) {
        const pages = c.runPages || Math.ceil(c.stored / PAGE)
        if (pages * PAGE < c.stored) bad('is longer than the run it heads')
        if (c.page < 2 || c.page + pages > this.meta.totalPages) bad('heads a run outside the container')
        run = { page: c.page, bytes: pages * PAGE }
      } else if (c.page !== run.page || c.offset + c.stored > run.bytes) bad('lies outside the run it continues')
      const bytes = this.stored(path, c, r.chunkSize)
      ;(c.codec === 0 ? bytes : decodeChunk(c.codec, bytes, c.logical, `${path}: chunk ${i}`)).copy(data, i * r.chunkSize)
    })
    return data
  }

  /** The snapshot table (§22), every page verified and every entry decoded; undefined when `snapshotsRoot` is null. */
  snapshotTable(): SnapshotTable | undefined {
    if (this.meta.snapshotsRoot.page === 0) return undefined
    const table: SnapshotTable = { nextId: 0, snapshots: [] }
    this.treeLeaves(this.meta.snapshotsRoot, T.SNAPSHOT_TABLE, -1).forEach((page, i) => {
      const bad = (why: string): never => fail('corrupt', `snapshot table page ${u64(page, 16)}: ${why}`)
      if (page[5] !== 0) bad(`wrong level ${page[5]}`)
      const end = HEADER + page.readUInt32LE(24)
      let off = HEADER
      const take = (len: number): number => (off + len > end ? bad('entry runs past the payload') : (off += len) - len)
      if (i === 0) table.nextId = u64(page, take(8)) // only the first leaf starts with nextId
      for (let k = page.readUInt16LE(6); k > 0; k--) {
        const o = take(SNAPSHOT_ENTRY)
        const [id, len, last] = [u64(page, o), page.readUInt16LE(o + 56), table.snapshots.at(-1)]
        if (id < 1 || id >= table.nextId || (last && id <= last.id)) bad(`snapshot id ${id} out of order`)
        if (len < 1 || len > 255) bad(`name length ${len} out of range`)
        let name = ''
        try {
          name = utf8.decode(page.subarray(take(len), off))
        } catch {
          bad('name is not valid UTF-8')
        }
        table.snapshots.push({ id, name, txn: u64(page, o + 8), created: u64(page, o + 16), fileCount: u64(page, o + 24), catalogRoot: ptrAt(page, o + 32) })
      }
      if (off !== end) bad('payload length does not match its entries')
    })
    return table
  }

  /** Recovery check: the free map is whole, the snapshot table reads, and everything the commit wrote after `baseTxn` (live or in a snapshot) reads back intact. */
  verifyCommit(): SnapshotTable | undefined {
    const { totalPages, txn, baseTxn, freeMapRoot, catalogRoot } = this.meta
    if (totalPages < 3 || txn < 1) fail('corrupt', 'meta page describes an impossible container')
    if (this.treeLeaves(freeMapRoot, T.FREEMAP_LEAF, -1).length !== Math.ceil(totalPages / PAGES_PER_FREEMAP_LEAF)) {
      fail('corrupt', 'free map has the wrong number of leaves')
    }
    const newPages = (root: Ptr) => this.catalog(root, baseTxn, (path, value) => {
      const r = this.record(path, value, baseTxn)
      for (const c of r.chunks) if (c.txn > baseTxn) this.stored(path, c, r.chunkSize) // CRC-32 only, as §13 says
    })
    newPages(catalogRoot)
    const table = this.snapshotTable()
    // A snapshot of an unsynced commit holds pages only this commit made durable (§13).
    for (const s of table?.snapshots ?? []) if (s.txn > baseTxn) newPages(s.catalogRoot)
    return table
  }

  /** The catalog at `root` (every page verified): path → file record, in key order. */
  entries(root: Ptr): Map<string, Buffer> {
    const out = new Map<string, Buffer>()
    this.catalog(root, -1, (path, value) => void out.set(path, value))
    return out
  }
}

/** An opened container: the commit the spec says to use, read on demand. `snapshot` picks a snapshot's catalog instead of the live one. */
export interface Container {
  meta: Meta
  /** The snapshot table of that commit (undefined without one). */
  snapshots?: SnapshotTable
  /** Paths of the files, in key order. */
  paths(snapshot?: number): string[]
  /** One file's content, read and verified on its own (a damaged file does not stop the others). */
  read(path: string, snapshot?: number): Buffer
  /** The chunk records of a file, in file order (none for INLINE). */
  chunks(path: string, snapshot?: number): Chunk[]
  /** Every file: path → content, in key order; throws at the first file that does not read. */
  files(snapshot?: number): Map<string, Buffer>
}

/**
 * Opens `file` through the meta page the spec says to pick: the newest valid one whose commit
 * verifies (§13), else the other. Files are read when asked for.
 */
export function openContainer(file: string): Container {
  const image = readFileSync(file)
  if (image.length < 2 * PAGE) fail('corrupt', 'file is shorter than two pages')
  const slots = [0, 1].map((s) => decodeMeta(image.subarray(s * PAGE, (s + 1) * PAGE), s))
  const valid = slots.filter((m): m is Meta => typeof m === 'object').sort((a, b) => b.txn - a.txn)
  if (valid.length === 0) fail(slots.includes('version') ? 'unsupported' : 'corrupt', `no valid meta page (${slots.join(', ')})`)
  let last: unknown
  for (const meta of valid) {
    const view = new View(image, meta)
    let snapshots: SnapshotTable | undefined
    try {
      snapshots = view.verifyCommit()
    } catch (err) {
      if (err instanceof ReadError && err.kind === 'unsupported') throw err // never fall back past what we cannot read
      last = err
      continue
    }
    const entries = (id?: number): Map<string, Buffer> => {
      if (id === undefined) return view.entries(meta.catalogRoot)
      const s = snapshots?.snapshots.find((e) => e.id === id)
      if (!s) throw new Error(`no snapshot ${id}`)
      return view.entries(s.catalogRoot)
    }
    const value = (path: string, id?: number): Buffer => {
      const v = entries(id).get(path)
      if (!v) throw new Error(`no file ${path}`)
      return v
    }
    return {
      meta, snapshots,
      paths: (id) => [...entries(id).keys()],
      read: (path, id) => view.content(path, value(path, id)),
      chunks: (path, id) => view.record(path, value(path, id), -1).chunks,
      files: (id) => new Map([...entries(id)].map(([path, v]) => [path, view.content(path, v)])),
    }
  }
  return fail('corrupt', `no meta page leads to an intact commit (${(last as Error).message})`)
}

/** Opens `file` and reads every file in it (see {@link openContainer}); `snapshotFiles(id)` reads every file of a snapshot. */
export function readContainer(file: string): {
  meta: Meta; files: Map<string, Buffer>; snapshots?: SnapshotTable; snapshotFiles: (id: number) => Map<string, Buffer>
} {
  const c = openContainer(file)
  return { meta: c.meta, files: c.files(), snapshots: c.snapshots, snapshotFiles: (id) => c.files(id) }
}
