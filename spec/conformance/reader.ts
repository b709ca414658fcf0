/**
 * An independent Cartridge reader of format 1.3 (all of it but the stored access policy of §27,
 * which it ignores) and of sealed (encrypted, major 2) containers, written from spec/FORMAT.md
 * alone (nothing from packages/*). It opens a container the way the
 * spec says (meta selection and recovery), walks the catalog and reads every file, verifying every
 * page and every chunk on the way. It also reads the snapshot table (§22) and the files of each
 * snapshot.
 *
 * Compressed chunks (§24): LZ4 blocks are decoded by the small decoder below; Zstd frames by
 * Node's `zlib.zstdDecompressSync` (Node ≥ 22.15) or else the pure-JS `fzstd`, never by the
 * codecs the reference uses (lz4-napi, zstd-napi). Every decoder stops at logicalLength (+ 1).
 *
 * Sealed containers (§25), opened with `{ key }` or `{ passphrase }`, through `node:crypto` only:
 * the data key is unwrapped from a meta slot's clear header (scrypt of the NFC passphrase, its cost
 * bounded before anything is derived, or the raw key), then meta bodies, structure pages (their
 * plain §4 header rebuilt from the pointer followed, then checked as any page) and chunks (AAD
 * binding index, length and codec; CRC-32 over the sealed bytes, as recovery uses it) are opened
 * with AES-256-GCM. Errors: `bad-key` when no slot's wrap opens (or no key was given), `auth` when
 * anything sealed does not authenticate or is plain where it must be sealed.
 *
 * The audit log (§26, format 1.3): the AUDIT_HEAD page at `auditRoot` and the pointer tree of
 * AUDIT_ENTRIES pages under it are verified like every structure (recovery reads the head and
 * the entry pages born after `baseTxn`); `Container.audit()` decodes every stored entry and
 * verifies the log as an RFC 9162 Merkle tree (SHA-256 of `node:crypto`): each entry's index is
 * its position and its prevRoot the root of the entries before it (from the frontier at `base`),
 * and the entries add up to the head's size and root.
 */
import { createDecipheriv, createHash, scryptSync } from 'node:crypto'
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
const T = { CATALOG_LEAF: 2, CATALOG_BRANCH: 3, FREEMAP_LEAF: 4, POINTER_NODE: 5, CHUNK_MAP_LEAF: 6, SNAPSHOT_TABLE: 7, AUDIT_HEAD: 8, AUDIT_ENTRIES: 9 } as const
const POINTERS_PER_NODE = Math.floor(PAYLOAD / PTR) // 169
const SNAPSHOT_ENTRY = 58 // fixed part of a snapshot table entry; the name follows
// §25: a sealed chunk record is the 48 bytes of §10 and a 16-byte GCM tag; a sealed page stores a 96-bit tag.
const SEALED_RECORD = 64
const SEALED_RECORDS_PER_MAP_LEAF = Math.floor(PAYLOAD / SEALED_RECORD) // 63
// §10 (1.4): a record with page checksums is the 48 bytes and 16 running CRC-32s, one per 4 KiB page of its chunk.
const SUMMED_RECORD = 112
const SUMMED_RECORDS_PER_MAP_LEAF = Math.floor(PAYLOAD / SUMMED_RECORD) // 36
const PAGE_TAG = 12

export type ErrorKind = 'corrupt' | 'checksum' | 'unsupported' | 'bad-key' | 'auth'
export class ReadError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(`${kind}: ${message}`)
  }
}
const fail = (kind: ErrorKind, message: string): never => {
  throw new ReadError(kind, message)
}

/** What opens a sealed container (§25): its 32-byte key, or its passphrase. */
export type KeyOptions = { key: Uint8Array } | { passphrase: string }

export interface Ptr { page: number; txn: number; checksum: number; aux: number }
export interface Meta {
  slot: number; major: number; minor: number; txn: number; baseTxn: number; totalPages: number; fileCount: number
  created: number; maxPages: number; growthThresholdPercent: number; uuid: string; slug: string; title: string
  /** The codec new writes use and its level (§3, §24): writer policy, read here only to be shown. */
  codec: number; codecLevel: number
  catalogRoot: Ptr; freeMapRoot: Ptr; snapshotsRoot: Ptr
  /** 1.3 (§26, §27): the audit log's AUDIT_HEAD page and the stored access policy; null (page 0) when absent. */
  auditRoot: Ptr; policyRoot: Ptr
  /** 1.5 (§3): ids of the catalog and allocator implementations that wrote the container; '' = the reference (`btree`, `bitmap`). */
  catalogId: string; allocatorId: string
  /** A sealed slot's clear header (§25): how its wrap's KEK is made (scrypt cost zero for `key`). */
  sealed?: { kdf: 'key' | 'scrypt'; logN: number; r: number; p: number }
}
/** A snapshot table entry (§22). */
export interface Snapshot { id: number; name: string; txn: number; created: number; fileCount: number; catalogRoot: Ptr }
export interface SnapshotTable { nextId: number; snapshots: Snapshot[] }

/** One audit log entry (§26), decoded; hashes in hex. `size` and `sha256` only when their flag is set. */
export interface AuditEntry {
  index: number; time: number; action: string; principal: string; path: string; target: string
  size?: number; sha256?: string; detail: string; prevRoot: string
}
/** A problem found while verifying the log, at the entry it locates (none: about the log as a whole). */
export interface AuditProblem { index?: number; what: string }
/**
 * The audit log of a commit (§26): its AUDIT_HEAD (size, base, root and the root at `base`, in
 * hex), the stored entries `base` … `size` − 1 in order (an entry that does not decode is left out
 * and reported), and the verification: the size and root recomputed from the entries, and the
 * problems in log order, `firstBad` being the first entry they locate.
 */
export interface AuditLog {
  reads: boolean; size: number; base: number; root: string; baseRoot: string; entryPages: number
  entries: AuditEntry[]
  computed: { size: number; root: string }
  valid: boolean
  firstBad?: number
  problems: AuditProblem[]
}
/** The decoded AUDIT_HEAD payload (§26), checked: counts match popcounts, `base` ≤ `size`, root = fold of the frontier. */
interface AuditHead { reads: boolean; size: number; base: number; root: Buffer; entries: Ptr; entryPages: number; frontier: Buffer[]; baseFrontier: Buffer[] }

const AUDIT_HEAD_FIXED = 88 // payload bytes before the frontier hashes
const MAX_AUDIT_ENTRY = 3495 // 96 + (1 + 64) + (1 + 255) + 3 × (2 + 1024)
const MAX_AUDIT_SIZE = 2 ** 48
const AUDIT_ACTION = /^[a-z][a-z0-9.-]*$/

/** RFC 9162 §2.1 with SHA-256: leaf = H(0x00 ‖ entry), node = H(0x01 ‖ left ‖ right), empty tree = H(). */
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const part of parts) h.update(part)
  return h.digest()
}
const leafHash = (entry: Uint8Array): Buffer => sha256(Buffer.of(0), entry)
const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer => sha256(Buffer.of(1), left, right)
/** The set bits of `n` (< 2^53) from the highest down: the sizes of the perfect subtrees of a log of `n` entries. */
function subtreeSizes(n: number): number[] {
  const out: number[] = []
  for (let bit = 2 ** 52; bit >= 1; bit /= 2) if (Math.floor(n / bit) % 2 === 1) out.push(bit)
  return out
}
/** The root of a log from its frontier: the right fold N(h₁, N(h₂, … N(hₖ₋₁, hₖ))); the empty log's root is SHA-256 of nothing. */
function foldFrontier(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return sha256()
  let root = hashes[hashes.length - 1]
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(hashes[i], root)
  return root
}
/** A log's frontier, appended to leaf by leaf (two perfect subtrees of one size merge into one). */
class Frontier {
  readonly subtrees: Array<{ size: number; hash: Buffer }>
  constructor(public size: number, hashes: readonly Buffer[]) {
    const sizes = subtreeSizes(size)
    if (sizes.length !== hashes.length) throw new Error('frontier does not match its size')
    this.subtrees = sizes.map((s, i) => ({ size: s, hash: hashes[i] }))
  }
  append(leaf: Buffer): void {
    let top = { size: 1, hash: leaf }
    while (this.subtrees.length > 0 && this.subtrees[this.subtrees.length - 1].size === top.size) {
      const left = this.subtrees.pop()!
      top = { size: left.size * 2, hash: nodeHash(left.hash, top.hash) }
    }
    this.subtrees.push(top)
    this.size++
  }
  root(): Buffer {
    return foldFrontier(this.subtrees.map((t) => t.hash))
  }
}
/** The smallest pointer-tree height over `n` ≥ 1 leaves (§7: 169^h ≥ n). */
function treeHeight(n: number): number {
  let h = 0
  for (let span = 1; span < n; span *= POINTERS_PER_NODE) h++
  return h
}

/**
 * Decodes one audit entry (§26); throws a message when it is malformed. Every length is checked
 * against what is left, reserved bytes and unset flags' fields must be zero, text must be UTF-8.
 */
function decodeAuditEntry(b: Buffer): AuditEntry {
  const bad = (why: string): never => {
    throw new Error(why)
  }
  if (b.length > MAX_AUDIT_ENTRY) bad(`${b.length} bytes, more than ${MAX_AUDIT_ENTRY}`)
  if (b.length < 96) bad('shorter than its fixed part')
  if (b[0] !== 1) bad(`unknown version ${b[0]}`)
  const flags = b[1]
  if (flags & ~3) bad(`unknown flags ${flags}`)
  if (b.subarray(2, 8).some((x) => x !== 0)) bad('reserved bytes 2..7 are not zero')
  const num = (off: number): number => {
    const n = b.readBigUInt64LE(off)
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? bad(`u64 at ${off} is out of range`) : Number(n)
  }
  const [index, time, size] = [num(8), num(16), num(24)]
  const sha = b.subarray(64, 96)
  if (!(flags & 1) && size !== 0) bad('size is not zero while its flag is clear')
  if (!(flags & 2) && sha.some((x) => x !== 0)) bad('sha256 is not zero while its flag is clear')
  let off = 96
  const field = (what: string, lenBytes: 1 | 2, max: number): string => {
    if (off + lenBytes > b.length) bad(`${what} runs past the end`)
    const len = lenBytes === 1 ? b[off] : b.readUInt16LE(off)
    if (len > max || off + lenBytes + len > b.length) bad(`${what} length ${len} out of range`)
    const bytes = b.subarray(off + lenBytes, (off += lenBytes + len))
    try {
      return utf8.decode(bytes)
    } catch {
      return bad(`${what} is not valid UTF-8`)
    }
  }
  const action = field('action', 1, 64)
  if (!AUDIT_ACTION.test(action)) bad(`action ${JSON.stringify(action)} does not match [a-z][a-z0-9.-]*`)
  const principal = field('principal', 1, 255)
  const path = field('path', 2, 1024)
  const target = field('target', 2, 1024)
  const detail = field('detail', 2, 1024)
  if (off !== b.length) bad('bytes follow the last field')
  return {
    index, time, action, principal, path, target, ...(flags & 1 ? { size } : {}), ...(flags & 2 ? { sha256: sha.toString('hex') } : {}),
    detail, prevRoot: b.toString('hex', 32, 64),
  }
}
/** A chunk record (§10): `offset` 0 heads a run of `runPages` pages (0: as many as `stored` needs), above 0 continues one. */
export interface Chunk {
  page: number; txn: number; stored: number; logical: number; checksum: number; codec: number; cipher: number; runPages: number; offset: number
  /** Sealed records (§25): the GCM nonce (offset 32) and the 16-byte tag that follows the 48 bytes. */
  nonce: Buffer; tag?: Buffer
  /** Records with page checksums (§10, 1.4): the 16 running CRC-32s that follow the 48 bytes. */
  pageSums?: number[]
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const crc = (b: Uint8Array): number => zlib.crc32(b) >>> 0
function u64(b: Buffer, off: number): number {
  const n = b.readBigUInt64LE(off)
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? fail('corrupt', `u64 at ${off} is out of range`) : Number(n)
}
const ptrAt = (b: Buffer, off: number): Ptr => ({ page: u64(b, off), txn: u64(b, off + 8), checksum: b.readUInt32LE(off + 16), aux: b.readUInt32LE(off + 20) })
const u64le = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}

/** Why a meta slot is not usable (§3, §13; `unsupported`, `kdf`, `bad-key` and `auth` are §25's). */
type SlotReason = 'magic' | 'checksum' | 'version' | 'page-size' | 'unsupported' | 'kdf' | 'bad-key' | 'auth'
/** A slot that is a sealed meta page (§25, major 2) up to its body, which needs the data key. */
interface SealedSlot { slot: number; page: Buffer }

/** The fields of a plain meta page (§3). */
function metaFields(p: Buffer, slot: number): Meta {
  const text = (off: number, max: number) => p.toString('utf8', off + 2, off + 2 + Math.min(p.readUInt16LE(off), max))
  return {
    slot, major: p.readUInt16LE(8), minor: p.readUInt16LE(10), txn: u64(p, 16), baseTxn: u64(p, 24), totalPages: u64(p, 32), fileCount: u64(p, 40),
    created: u64(p, 48), maxPages: u64(p, 56), growthThresholdPercent: p[64], codec: p[65], codecLevel: p[66],
    catalogRoot: ptrAt(p, 72), freeMapRoot: ptrAt(p, 96), snapshotsRoot: ptrAt(p, 120), uuid: p.toString('hex', 144, 160), slug: text(256, 214), title: text(512, 1024),
    auditRoot: ptrAt(p, 160), policyRoot: ptrAt(p, 184), catalogId: layerId(p, 216), allocatorId: layerId(p, 232),
  }
}

/** A layer id (§3, 1.5): up to 16 ASCII bytes, NUL-padded. */
function layerId(p: Buffer, off: number): string {
  const end = p.indexOf(0, off)
  return p.toString('latin1', off, end < 0 || end > off + 16 ? off + 16 : end)
}

/**
 * Decodes one meta slot: plain (major 1), sealed (magic and major 2: checked later, with the data
 * key, §25), or why it is not usable (§3).
 */
function decodeMeta(p: Buffer, slot: number): Meta | SealedSlot | SlotReason {
  if (p.toString('latin1', 0, 8) !== 'CARTRIDG') return 'magic'
  if (p.readUInt16LE(8) === 2) return { slot, page: p }
  if (p.readUInt32LE(4092) !== crc(p.subarray(0, 4092))) return 'checksum'
  if (p.readUInt16LE(8) !== 1) return 'version'
  if (p.readUInt32LE(12) !== PAGE) return 'page-size'
  return metaFields(p, slot)
}

/** AES-256-GCM decryption; undefined when the tag (16 bytes, or a truncated 12) does not verify. */
function gcmOpen(key: Buffer, nonce: Buffer, tag: Buffer, aad: Buffer, ciphertext: Buffer): Buffer | undefined {
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: tag.length })
  d.setAAD(aad)
  d.setAuthTag(tag)
  try {
    return Buffer.concat([d.update(ciphertext), d.final()])
  } catch {
    return undefined
  }
}

/**
 * The KEK of a sealed slot's clear header (§25): the raw key (kdf 0) or scrypt of the NFC, UTF-8
 * passphrase with the header's salt and cost (kdf 1), the cost checked before anything is derived.
 */
function deriveKek(h: Buffer, keys: KeyOptions): Buffer | SlotReason {
  const kdf = h[17]
  if (kdf === 0) return 'key' in keys && keys.key.length === 32 ? Buffer.from(keys.key) : 'bad-key'
  if (kdf !== 1) return 'unsupported'
  const [logN, r, p] = [h[18], h[19], h[20]]
  const N = 2 ** logN
  if (logN < 10 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 16 || 128 * r * N > 2 ** 30) return 'kdf'
  if (!('passphrase' in keys)) return 'bad-key'
  const passphrase = Buffer.from(keys.passphrase.normalize('NFC'), 'utf8')
  return scryptSync(passphrase, h.subarray(32, 64), 32, { N, r, p, maxmem: 128 * r * (N + p + 2) }) // what scrypt allocates, with room
}

/**
 * Opens the meta slots of a sealed container (§25): unwraps the one data key from the first slot
 * whose wrap opens (the wrap's own tag guards the clear header, so the slot's CRC-32 is not needed
 * for this), then checks every sealed slot (CRC-32, page size, cipher) and opens its body with
 * that key. A CRC-32 that does not match or a body that does not open makes the slot invalid for
 * reason `auth`; a plain slot there is never valid.
 */
function unsealMeta(slots: Array<Meta | SealedSlot | SlotReason>, keys: KeyOptions | undefined): { slots: Array<Meta | SlotReason>; dataKey: Buffer } {
  if (!keys) return fail('bad-key', 'the container is encrypted: open it with its key or passphrase')
  const sealed = slots.filter((s): s is SealedSlot => typeof s === 'object' && 'page' in s)
  const why: SlotReason[] = []
  const keks = new Map<string, Buffer | SlotReason>() // both slots usually share one salt and cost: derive once
  let dataKey: Buffer | undefined
  for (const { page } of sealed) {
    if (page[16] !== 1) { // cipher: 1 = AES-256-GCM is the only one defined
      why.push('unsupported')
      continue
    }
    const kdfFields = page.toString('hex', 17, 64)
    if (!keks.has(kdfFields)) keks.set(kdfFields, deriveKek(page, keys))
    const kek = keks.get(kdfFields)!
    if (typeof kek === 'string') {
      why.push(kek)
      continue
    }
    // The wrap: the data key under the KEK, AAD = the header's first 64 bytes.
    dataKey = gcmOpen(kek, page.subarray(64, 76), page.subarray(108, 124), page.subarray(0, 64), page.subarray(76, 108))
    if (dataKey) break
    why.push('bad-key')
  }
  if (!dataKey) {
    const kind = why.includes('bad-key') ? 'bad-key' : why.includes('unsupported') ? 'unsupported' : 'corrupt'
    return fail(kind, `no meta slot's wrap opens with this key or passphrase (${why.join(', ')})`)
  }
  const key = dataKey
  return {
    dataKey: key,
    slots: slots.map((s) => {
      if (typeof s !== 'object') return s
      if (!('page' in s)) return 'auth' // a plain slot in a sealed container
      const p = s.page
      if (p.readUInt32LE(4092) !== crc(p.subarray(0, 4092))) return 'auth'
      if (p.readUInt32LE(12) !== PAGE) return 'page-size'
      if (p[16] !== 1) return 'unsupported'
      // The body: plain meta bytes 16..3951 under the data key, AAD = the clear header (0..127).
      const body = gcmOpen(key, p.subarray(128, 140), p.subarray(4076, 4092), p.subarray(0, 128), p.subarray(140, 4076))
      if (!body) return 'auth'
      const plain = Buffer.alloc(PAGE) // its bytes 3952..4091 are zero, and no checksum of its own is kept
      p.copy(plain, 0, 0, 16) // magic, major 2, minor, pageSize
      body.copy(plain, 16)
      return { ...metaFields(plain, s.slot), sealed: { kdf: p[17] === 0 ? 'key' : 'scrypt', logN: p[18], r: p[19], p: p[20] } }
    }),
  }
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

/** The data key and container uuid of a sealed container (§25): the AAD of every page and chunk names the uuid. */
interface Seal { key: Buffer; uuid: Buffer }

/** One container image under one meta page: verified page and chunk access. */
class View {
  /** Failures of sealed pages and chunks are authentication failures; of plain ones, checksum errors. */
  readonly damage: ErrorKind
  readonly recordSize: number
  readonly recordsPerLeaf: number

  constructor(readonly image: Buffer, readonly meta: Meta, readonly seal?: Seal) {
    this.damage = seal ? 'auth' : 'checksum'
    this.recordSize = seal ? SEALED_RECORD : CHUNK_RECORD
    this.recordsPerLeaf = seal ? SEALED_RECORDS_PER_MAP_LEAF : RECORDS_PER_MAP_LEAF
  }

  /** `count` pages from `first`; bytes past the end of the file read as zero. */
  pages(first: number, count: number): Buffer {
    if (first < 2 || first + count > this.meta.totalPages) fail('corrupt', `pages ${first}..${first + count - 1} are outside the container`)
    const out = Buffer.alloc(count * PAGE)
    this.image.copy(out, 0, first * PAGE, Math.min(this.image.length, (first + count) * PAGE))
    return out
  }

  /** Reads the page `ptr` points to and checks it is exactly that page, of an expected type (§4; sealed: §25 first). */
  node(ptr: Ptr, types: readonly number[]): { page: Buffer; type: number; level: number; count: number; used: number } {
    const page = this.seal ? this.unsealPage(ptr) : this.pages(ptr.page, 1)
    const h = { page, type: page[4], level: page[5], count: page.readUInt16LE(6), used: page.readUInt32LE(24) }
    const sum = page.readUInt32LE(0)
    if (crc(page.subarray(4)) !== sum) fail(this.damage, `page ${ptr.page}: checksum mismatch`)
    if (u64(page, 16) !== ptr.page) fail(this.damage, `page ${ptr.page}: claims to be page ${u64(page, 16)}`)
    if (!types.includes(h.type)) fail(this.damage, `page ${ptr.page}: unexpected type ${h.type}`)
    if (sum !== ptr.checksum || u64(page, 8) !== ptr.txn) fail(this.damage, `page ${ptr.page}: not the version its parent points to`)
    if (h.used > PAYLOAD) fail(this.seal ? 'auth' : 'corrupt', `page ${ptr.page}: payload length out of range`)
    return h
  }

  /**
   * A sealed structure page (§25) opened under the AAD "CRTP" ‖ uuid ‖ page number ‖ birth txn, both
   * taken from the pointer followed, and returned as the plain page of §4: the header rebuilt from the
   * decrypted type, level, count and used, that page number and txn, reserved zero, checksum recomputed.
   */
  unsealPage(ptr: Ptr): Buffer {
    const sealed = this.pages(ptr.page, 1)
    const aad = Buffer.concat([Buffer.from('CRTP'), this.seal!.uuid, u64le(ptr.page), u64le(ptr.txn)])
    const opened = gcmOpen(this.seal!.key, sealed.subarray(0, 12), sealed.subarray(12, 12 + PAGE_TAG), aad, sealed.subarray(24))
    if (!opened) return fail('auth', `page ${ptr.page}: does not authenticate as the version its parent points to`)
    const plain = Buffer.alloc(PAGE)
    opened.copy(plain, 4, 0, 4) // type, level, count
    plain.writeBigUInt64LE(BigInt(ptr.txn), 8)
    plain.writeBigUInt64LE(BigInt(ptr.page), 16)
    opened.copy(plain, 24, 4, 8) // used
    opened.copy(plain, HEADER, 8) // payload
    plain.writeUInt32LE(crc(plain.subarray(4)), 0)
    return plain
  }

  /** §18 and §25: a chunk this reader can read (a sealed container's chunks are all sealed: cipher 1). */
  supported(path: string, c: Chunk): void {
    if (this.seal && c.cipher === 0) fail('auth', `${path}: a plain chunk in an encrypted container`)
    if (c.codec > 2 || c.cipher !== (this.seal ? 1 : 0)) fail('unsupported', `${path}: chunk codec ${c.codec} / cipher ${c.cipher}`)
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
    // Flags (byte 2): bit 0 = sealed 64-byte chunk records (§25, encrypted containers only);
    // bit 1 = 112-byte records with page checksums (§10, 1.4; plain containers, 64 KiB chunks,
    // records with chunks). The other bits are reserved.
    const summed = (v[2] & 2) !== 0
    if (v[2] & ~(this.seal ? 1 : 3) || (!this.seal && v[2] & 1)) bad(`unknown flags ${v[2]}`)
    if (summed && (shift !== 16 || kind === 0)) bad('page checksums on a record that cannot have them')
    // 16: files (64 KiB chunks); 12: paged files such as SQLite databases (one page per chunk).
    // Not an extension point in format 1 (§18): any other chunk size is damage.
    if (shift !== 16 && shift !== 12) bad(`unsupported chunk size 2^${shift}`)
    const chunkSize = 2 ** shift
    if (kind === 0) return body.length === size ? { size, chunkSize, inline: body, chunks: [] } : bad('inline length mismatch')
    if (kind !== 1 && kind !== 2) bad(`unknown kind ${kind}`)
    if (count !== Math.ceil(size / chunkSize)) bad('chunk count does not match size')
    // Every record with chunks in a sealed container has sealed records; one without (an empty paged file) may carry either flag.
    if (this.seal && count > 0 && !(v[2] & 1)) fail('auth', `file record of ${path}: plain chunk records in an encrypted container`)
    const recordSize = summed ? SUMMED_RECORD : this.recordSize
    const recordsPerLeaf = summed ? SUMMED_RECORDS_PER_MAP_LEAF : this.recordsPerLeaf
    const records = (page: Buffer, off: number, n: number): Chunk[] =>
      Array.from({ length: n }, (_, i) => {
        const o = off + i * recordSize
        const c: Chunk = { page: u64(page, o), txn: u64(page, o + 8), stored: page.readUInt32LE(o + 16), logical: page.readUInt32LE(o + 20),
          checksum: page.readUInt32LE(o + 24), codec: page[o + 28], cipher: page[o + 29], runPages: page.readUInt16LE(o + 30),
          nonce: page.subarray(o + 32, o + 44), offset: page.readUInt32LE(o + 44), tag: this.seal && page.subarray(o + 48, o + 64) }
        if (summed) {
          c.pageSums = Array.from({ length: 16 }, (_, k) => page.readUInt32LE(o + 48 + 4 * k))
          // §10: such a chunk is raw and heads its run; its last page's entry is its checksum and the entries after it are zero.
          const last = Math.ceil(c.stored / PAGE) - 1
          if (c.codec !== 0 || c.cipher !== 0 || c.offset !== 0 || c.stored < 1 || c.pageSums[last] !== c.checksum || c.pageSums.some((x, k) => k > last && x !== 0)) {
            bad('page checksums that do not fit their chunk')
          }
        }
        return c
      })
    if (kind === 1) return body.length === count * recordSize ? { size, chunkSize, chunks: records(v, 32, count) } : bad('chunk list length mismatch')
    if (body.length !== PTR) bad('chunk map pointer length mismatch')
    const leaves = this.treeLeaves(ptrAt(v, 32), T.CHUNK_MAP_LEAF, minTxn)
    const chunks = leaves.flatMap((leaf, i) => {
      const n = leaf.readUInt16LE(6)
      const full = minTxn >= 0 || i === leaves.length - 1 ? n >= 1 && n <= recordsPerLeaf : n === recordsPerLeaf
      if (!full || leaf.readUInt32LE(24) !== n * recordSize) bad(`chunk map page ${u64(leaf, 16)} is malformed`)
      return records(leaf, HEADER, n)
    })
    if (minTxn < 0 && chunks.length !== count) bad(`chunk map holds ${chunks.length} records, expected ${count}`)
    return { size, chunkSize, chunks }
  }

  /** A chunk's stored bytes (`offset` bytes into page `page`), inside the container and verified against its CRC-32 (§10; sealed bytes, §25). */
  stored(path: string, c: Chunk, chunkSize: number): Buffer {
    this.supported(path, c)
    if (c.stored < 1 || c.stored > chunkSize || (c.codec === 0 && c.stored !== c.logical)) fail('corrupt', `${path}: bad chunk lengths`)
    const bytes = this.pages(c.page, Math.ceil((c.offset + c.stored) / PAGE)).subarray(c.offset, c.offset + c.stored)
    if (crc(bytes) !== c.checksum) fail(this.damage, `${path}: content in pages from ${c.page} failed its checksum`)
    // §10 (1.4): entry k is the CRC-32 of the first k + 1 pages, computed as zlib's running CRC.
    let running = 0
    c.pageSums?.forEach((want, k) => {
      if (k * PAGE >= c.stored) return
      running = zlib.crc32(bytes.subarray(k * PAGE, Math.min(c.stored, (k + 1) * PAGE)), running) >>> 0
      if (running !== want) fail(this.damage, `${path}: page ${c.page + k} failed its page checksum`)
    })
    return bytes
  }

  /** §25: the codec's output of sealed chunk `index`, opened under its record's nonce and tag and the AAD "CRTC" ‖ uuid ‖ index ‖ logicalLength ‖ codec. */
  unsealChunk(path: string, index: number, c: Chunk, sealed: Buffer): Buffer {
    const length = Buffer.alloc(4)
    length.writeUInt32LE(c.logical)
    const aad = Buffer.concat([Buffer.from('CRTC'), this.seal!.uuid, u64le(index), length, Buffer.from([c.codec])])
    return gcmOpen(this.seal!.key, c.nonce, c.tag!, aad, sealed) ?? fail('auth', `${path}: chunk ${index} does not authenticate`)
  }

  /** A file's content: every chunk checked against its place and its run (§10, §17 step 5), verified, and decoded (§24). */
  content(path: string, value: Buffer): Buffer {
    const r = this.record(path, value, -1)
    if (r.inline) return Buffer.from(r.inline)
    const data = Buffer.alloc(r.size)
    let run = { page: -1, bytes: 0 } // the run of the nearest earlier chunk that heads one
    r.chunks.forEach((c, i) => {
      const bad = (why: string): never => fail('corrupt', `${path}: chunk ${i} ${why}`)
      this.supported(path, c)
      if (c.logical !== Math.min(r.chunkSize, r.size - i * r.chunkSize)) bad('has the wrong length')
      if (c.offset === 0) {
        const pages = c.runPages || Math.ceil(c.stored / PAGE)
        if (pages * PAGE < c.stored) bad('is longer than the run it heads')
        if (c.page < 2 || c.page + pages > this.meta.totalPages) bad('heads a run outside the container')
        run = { page: c.page, bytes: pages * PAGE }
      } else if (c.page !== run.page || c.offset + c.stored > run.bytes) bad('lies outside the run it continues')
      const stored = this.stored(path, c, r.chunkSize)
      const bytes = this.seal ? this.unsealChunk(path, i, c, stored) : stored
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

  /** The AUDIT_HEAD page at `ptr` (§26), verified (§4) and checked: reserved bits zero, counts = popcounts, `base` ≤ `size` < 2^48, root = fold of the frontier. */
  auditHead(ptr: Ptr): AuditHead {
    const n = this.node(ptr, [T.AUDIT_HEAD])
    const bad = (why: string): never => fail('corrupt', `audit head page ${ptr.page}: ${why}`)
    const [p, o] = [n.page, HEADER]
    if (n.level !== 0 || n.count !== 0) bad(`level ${n.level} and count ${n.count}, not 0 and 0`)
    if (n.used < AUDIT_HEAD_FIXED) bad('payload too short')
    const flags = p.readUInt32LE(o)
    if (flags & ~1) bad(`unknown flags ${flags}`)
    if (p.readUInt32LE(o + 4) !== 0 || p.readUInt16LE(o + 86) !== 0) bad('reserved bytes are not zero')
    const [size, base] = [u64(p, o + 8), u64(p, o + 16)]
    if (size >= MAX_AUDIT_SIZE || base > size) bad(`size ${size} and base ${base} out of range`)
    const [fc, bc] = [p[o + 84], p[o + 85]]
    if (fc !== subtreeSizes(size).length || bc !== subtreeSizes(base).length) bad('frontier counts are not the popcounts of size and base')
    if (n.used !== AUDIT_HEAD_FIXED + 32 * (fc + bc)) bad('payload length does not match its frontiers')
    const hash = (i: number) => Buffer.from(p.subarray(o + AUDIT_HEAD_FIXED + 32 * i, o + AUDIT_HEAD_FIXED + 32 * (i + 1)))
    const frontier = Array.from({ length: fc }, (_, i) => hash(i))
    const baseFrontier = Array.from({ length: bc }, (_, i) => hash(fc + i))
    const root = Buffer.from(p.subarray(o + 24, o + 56))
    if (!foldFrontier(frontier).equals(root)) bad('root is not the fold of the frontier')
    const [entries, entryPages] = [ptrAt(p, o + 56), p.readUInt32LE(o + 80)]
    if ((entries.page === 0) !== (entryPages === 0)) bad(`${entryPages} entry pages under a ${entries.page === 0 ? 'null' : 'non-null'} pointer`)
    if (entryPages > size - base) bad(`${entryPages} entry pages for ${size - base} stored entries`) // every page holds one at least
    if (entryPages > 0 && entries.aux !== treeHeight(entryPages)) bad(`entry tree of height ${entries.aux} over ${entryPages} pages`)
    return { reads: (flags & 1) === 1, size, base, root, entries, entryPages, frontier, baseFrontier }
  }

  /** The entries of an AUDIT_ENTRIES page (§26), already verified as a leaf: `count` ≥ 1 entries, each u16 length then its bytes, filling exactly `used`. */
  auditEntries(page: Buffer): Buffer[] {
    const bad = (why: string): never => fail('corrupt', `audit entry page ${u64(page, 16)}: ${why}`)
    const [count, end] = [page.readUInt16LE(6), HEADER + page.readUInt32LE(24)]
    if (page[5] !== 0 || count < 1) bad(`level ${page[5]}, count ${count}`)
    const out: Buffer[] = []
    let off = HEADER
    for (let i = 0; i < count; i++) {
      if (off + 2 > end) bad('entries run past the payload')
      const len = page.readUInt16LE(off)
      if (len < 1 || len > MAX_AUDIT_ENTRY || off + 2 + len > end) bad(`entry length ${len} out of range`)
      out.push(Buffer.from(page.subarray(off + 2, (off += 2 + len))))
    }
    if (off !== end) bad('payload length does not match its entries')
    return out
  }

  /**
   * The audit log (§26) of this commit, every page verified (damage throws, as elsewhere), every
   * entry decoded and the log verified as §26 "Verifying" says; undefined when `auditRoot` is null.
   */
  auditLog(): AuditLog | undefined {
    if (this.meta.auditRoot.page === 0) return undefined
    const head = this.auditHead(this.meta.auditRoot)
    const pages = head.entryPages === 0 ? [] : this.treeLeaves(head.entries, T.AUDIT_ENTRIES, -1)
    if (pages.length !== head.entryPages) fail('corrupt', `audit log: ${pages.length} entry pages, its head says ${head.entryPages}`)
    const problems: AuditProblem[] = []
    let firstBad: number | undefined
    const blame = (index: number | undefined, what: string) => {
      if (firstBad === undefined && index !== undefined) firstBad = index
      problems.push({ ...(index !== undefined ? { index } : {}), what })
    }
    const f = new Frontier(head.base, head.baseFrontier)
    const entries: AuditEntry[] = []
    let inRun = false // a mismatch goes on until the chain agrees again: each run is reported once
    for (const bytes of pages.flatMap((page) => this.auditEntries(page))) {
      const p = f.size
      let e: AuditEntry | undefined
      try {
        e = decodeAuditEntry(bytes)
      } catch (err) {
        blame(p, `entry ${p} does not decode: ${(err as Error).message}`)
      }
      if (e) {
        entries.push(e)
        const mismatch = e.index > p ? [p, `entry ${p} is missing (the entry at its place says ${e.index})`] as const
          : e.index < p ? [Math.max(head.base, p - 1), `an entry was inserted or moved before position ${p} (the entry there says ${e.index})`] as const
            : e.prevRoot !== f.root().toString('hex')
              ? [Math.max(head.base, p - 1), p > head.base ? `entry ${p - 1} was changed (entry ${p} recorded another root before it)` : `entry ${p} does not continue the log at base ${head.base}`] as const
              : undefined
        if (mismatch && !inRun) blame(...mismatch)
        inRun = mismatch !== undefined
      }
      f.append(leafHash(bytes))
    }
    if (f.size !== head.size) blame(Math.min(f.size, head.size - 1), `the stored entries end at ${f.size - 1}, the head's log at ${head.size - 1}`)
    else if (!f.root().equals(head.root)) blame(head.size - 1, `the entries' root is not the head's: entry ${head.size - 1} (or the head) was changed`)
    return {
      reads: head.reads, size: head.size, base: head.base, root: head.root.toString('hex'), baseRoot: foldFrontier(head.baseFrontier).toString('hex'),
      entryPages: head.entryPages, entries, computed: { size: f.size, root: f.root().toString('hex') },
      valid: problems.length === 0, ...(firstBad !== undefined ? { firstBad } : {}), problems,
    }
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
    // The audit log (§26): its head always (one page, which a writer continues from), its entry pages born after baseTxn.
    if (this.meta.auditRoot.page !== 0) {
      const head = this.auditHead(this.meta.auditRoot)
      if (head.entryPages > 0) for (const page of this.treeLeaves(head.entries, T.AUDIT_ENTRIES, baseTxn)) this.auditEntries(page)
    }
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
  /** The audit log (§26), read, decoded and verified (a damaged page throws); undefined when the container keeps none. */
  audit(): AuditLog | undefined
}

/**
 * Opens `file` (a path or the container's bytes) through the meta page the spec says to pick: the
 * newest valid one whose commit verifies (§13), else the other. A sealed container (§25) needs
 * `keys`, and a container opened with `keys` must be sealed. Files are read when asked for.
 */
export function openContainer(file: string | Buffer, keys?: KeyOptions): Container {
  const image = typeof file === 'string' ? readFileSync(file) : file
  if (image.length < 2 * PAGE) fail('corrupt', 'file is shorter than two pages')
  const decoded = [0, 1].map((s) => decodeMeta(image.subarray(s * PAGE, (s + 1) * PAGE), s))
  let slots: Array<Meta | SlotReason>
  let dataKey: Buffer | undefined
  if (decoded.some((m) => typeof m === 'object' && 'page' in m)) ({ slots, dataKey } = unsealMeta(decoded, keys))
  else if (keys) return fail('auth', 'the container is not encrypted, yet a key or passphrase was given')
  else slots = decoded as Array<Meta | SlotReason>
  const valid = slots.filter((m): m is Meta => typeof m === 'object').sort((a, b) => b.txn - a.txn)
  if (valid.length === 0) {
    const kind = slots.some((r) => r === 'version' || r === 'unsupported') ? 'unsupported' : slots.includes('auth') ? 'auth' : 'corrupt'
    fail(kind, `no valid meta page (${slots.join(', ')})`)
  }
  let last: unknown
  for (const meta of valid) {
    // This reader implements the reference catalog (§9) and free map (§8) only.
    if (!['', 'btree'].includes(meta.catalogId) || !['', 'bitmap'].includes(meta.allocatorId)) {
      fail('unsupported', `written with catalog '${meta.catalogId || 'btree'}' and allocator '${meta.allocatorId || 'bitmap'}' (§3): this reader reads 'btree' and 'bitmap'`)
    }
    const view = new View(image, meta, dataKey && { key: dataKey, uuid: Buffer.from(meta.uuid, 'hex') })
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
      audit: () => view.auditLog(),
    }
  }
  // In a sealed container a candidate that fails because something does not authenticate is reported as that (§25).
  const kind = last instanceof ReadError && last.kind === 'auth' ? 'auth' : 'corrupt'
  return fail(kind, `no meta page leads to an intact commit (${(last as Error).message})`)
}

/** Opens `file` and reads every file in it (see {@link openContainer}); `snapshotFiles(id)` reads every file of a snapshot. */
export function readContainer(file: string | Buffer, keys?: KeyOptions): {
  meta: Meta; files: Map<string, Buffer>; snapshots?: SnapshotTable; snapshotFiles: (id: number) => Map<string, Buffer>
} {
  const c = openContainer(file, keys)
  return { meta: c.meta, files: c.files(), snapshots: c.snapshots, snapshotFiles: (id) => c.files(id) }
}
