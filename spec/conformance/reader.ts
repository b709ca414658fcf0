/**
 * An independent Cartridge reader, written from spec/FORMAT.md alone (node built-ins only, nothing
 * from packages/*). It opens a container the way the spec says (meta selection and recovery),
 * walks the catalog and reads every file, verifying every page and every chunk on the way. It also
 * reads the snapshot table (§22) and the files of each snapshot.
 */
import { readFileSync } from 'node:fs'
import { crc32 } from 'node:zlib'

const PAGE = 4096
const HEADER = 32
const PAYLOAD = PAGE - HEADER
const PTR = 24
const CHUNK = 65536
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
  catalogRoot: Ptr; freeMapRoot: Ptr; snapshotsRoot: Ptr
}
/** A snapshot table entry (§22). */
export interface Snapshot { id: number; name: string; txn: number; created: number; fileCount: number; catalogRoot: Ptr }
export interface SnapshotTable { nextId: number; snapshots: Snapshot[] }
interface Chunk { page: number; txn: number; stored: number; logical: number; checksum: number; codec: number; cipher: number }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const crc = (b: Uint8Array): number => crc32(b) >>> 0
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
    created: u64(p, 48), maxPages: u64(p, 56), growthThresholdPercent: p[64], catalogRoot: ptrAt(p, 72), freeMapRoot: ptrAt(p, 96),
    snapshotsRoot: ptrAt(p, 120), uuid: p.toString('hex', 144, 160), slug: text(256, 214), title: text(512, 1024),
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
          checksum: page.readUInt32LE(o + 24), codec: page[o + 28], cipher: page[o + 29] }
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

  /** A chunk's bytes, verified against its record. */
  chunk(path: string, c: Chunk): Buffer {
    if (c.codec !== 0 || c.cipher !== 0) fail('unsupported', `${path}: chunk codec ${c.codec} / cipher ${c.cipher}`)
    if (c.stored !== c.logical || c.stored < 1 || c.stored > CHUNK) fail('corrupt', `${path}: bad chunk lengths`)
    const bytes = this.pages(c.page, Math.ceil(c.stored / PAGE)).subarray(0, c.stored)
    if (crc(bytes) !== c.checksum) fail('checksum', `${path}: content in pages from ${c.page} failed its checksum`)
    return bytes
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
      for (const c of this.record(path, value, baseTxn).chunks) if (c.txn > baseTxn) this.chunk(path, c)
    })
    newPages(catalogRoot)
    const table = this.snapshotTable()
    // A snapshot of an unsynced commit holds pages only this commit made durable (§13).
    for (const s of table?.snapshots ?? []) if (s.txn > baseTxn) newPages(s.catalogRoot)
    return table
  }

  /** Every file of the catalog at `root` (the live one by default): path → content, everything verified. */
  files(root = this.meta.catalogRoot): Map<string, Buffer> {
    const out = new Map<string, Buffer>()
    this.catalog(root, -1, (path, value) => {
      const r = this.record(path, value, -1)
      if (r.inline) return void out.set(path, Buffer.from(r.inline))
      const data = Buffer.alloc(r.size)
      r.chunks.forEach((c, i) => {
        const bytes = this.chunk(path, c)
        if (bytes.length !== Math.min(r.chunkSize, r.size - i * r.chunkSize)) fail('corrupt', `${path}: chunk ${i} has the wrong length`)
        bytes.copy(data, i * r.chunkSize)
      })
      out.set(path, data)
    })
    return out
  }
}

/**
 * Opens `file` and reads every file in it, through the meta page the spec says to pick: the
 * newest valid one whose commit verifies, else the other. `snapshots` is the snapshot table of
 * that commit (undefined without one); `snapshotFiles(id)` reads every file of a snapshot.
 */
export function readContainer(file: string): {
  meta: Meta; files: Map<string, Buffer>; snapshots?: SnapshotTable; snapshotFiles: (id: number) => Map<string, Buffer>
} {
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
    const snapshotFiles = (id: number): Map<string, Buffer> => {
      const s = snapshots?.snapshots.find((e) => e.id === id)
      if (!s) throw new Error(`no snapshot ${id}`)
      return view.files(s.catalogRoot)
    }
    return { meta, files: view.files(), snapshots, snapshotFiles }
  }
  return fail('corrupt', `no meta page leads to an intact commit (${(last as Error).message})`)
}
