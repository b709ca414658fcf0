import { CartridgeError, ErrorCodes, crc32, getU64, setU64, viewOf } from '@cartridge/core'
import { BLOCK_PTR_SIZE, PAGE_SIZE, readBlockPtr, writeBlockPtr, type BlockPtr } from '@cartridge/pager'

/** Logical chunk size: content is cut into 64 KiB chunks, each stored (and later compressed/sealed) on its own. */
export const CHUNK_SHIFT = 16
export const CHUNK_SIZE = 1 << CHUNK_SHIFT
/**
 * Chunk size of paged files (SQLite databases and their journals): one 4 KiB page per chunk, so
 * a page is replaced copy-on-write without touching its neighbours.
 */
export const PAGED_CHUNK_SHIFT = 12
export const PAGED_CHUNK_SIZE = 1 << PAGED_CHUNK_SHIFT
/** Files up to this many bytes live inline in the catalog leaf. */
export const INLINE_MAX = 512
/** Files of up to this many chunks keep their chunk records in the catalog value. */
export const DIRECT_CHUNKS_MAX = 4
/** Encoded size of a {@link ChunkRecord}. */
export const CHUNK_RECORD_SIZE = 48
/** Encoded size of a sealed chunk record (encrypted containers): the 48 bytes, then the 16-byte GCM tag. */
export const SEALED_CHUNK_RECORD_SIZE = 64
/** File record flag (byte 2): its chunk records are sealed ones of {@link SEALED_CHUNK_RECORD_SIZE} bytes. */
export const FLAG_SEALED = 1
/**
 * File record flag (byte 2, format 1.4): its chunk records are raw 64 KiB chunks that also carry
 * a running CRC-32 per 4 KiB page ({@link ChunkRecord.pageSums}), {@link SUMMED_CHUNK_RECORD_SIZE}
 * bytes each, so a read inside a chunk verifies only the pages it returns.
 */
export const FLAG_PAGE_SUMS = 2
/** Pages of a 64 KiB chunk: the number of page checksums a summed chunk record holds. */
export const PAGE_SUMS = 16
/** Encoded size of a chunk record with page checksums: the 48 bytes, then 16 × u32. */
export const SUMMED_CHUNK_RECORD_SIZE = CHUNK_RECORD_SIZE + 4 * PAGE_SUMS
/** Bytes before the kind-specific part of a file record. */
export const RECORD_HEADER_SIZE = 32

/** Storage kinds of a file record (byte 0). */
export const RecordKind = { INLINE: 0, DIRECT: 1, MAP: 2 } as const

/**
 * Where one chunk of a file's content lives: `storedLength` bytes at byte `offset` of a run of
 * contiguous pages starting at `page`, with a CRC-32 of those bytes. `codec` says how they were
 * compressed (0 = raw), `cipher`/`nonce` how they are sealed (0 / zeros: not encrypted).
 *
 * Compressed chunks of one write are packed back to back into one run: the first (the *head*,
 * `offset` 0) owns the run's `runPages` pages, the others (*continuations*, `offset` > 0) lie
 * inside it and own no pages. A raw chunk is its own head with `runPages` 0 (= its own pages).
 */
export interface ChunkRecord {
  page: number
  txn: number
  storedLength: number
  logicalLength: number
  checksum: number
  codec: number
  cipher: number
  nonce: Uint8Array
  /** Pages of the run this chunk heads (0: ⌈storedLength / 4096⌉); unused by continuations. */
  runPages: number
  /** Byte offset of the stored bytes from the start of `page` (> 0 only for continuations). */
  offset: number
  /** GCM tag of a sealed chunk (`cipher` 1): 16 bytes, kept in the record, not with the bytes. */
  tag?: Uint8Array
  /**
   * Running CRC-32s of a raw chunk's stored bytes, one per 4 KiB page: entry `k` is the CRC-32 of
   * bytes `[0, min(storedLength, 4096 × (k + 1)))`, so the last page's entry equals `checksum` and
   * page `k` alone verifies as `crc32(page k, seed = entry k − 1)`. Entries past the last page
   * are 0. Written for raw 64 KiB chunks (format 1.4); kept in the record only when every chunk
   * of the file has them.
   */
  pageSums?: Uint32Array
}

/** A catalog value: one file. */
export interface FileRecord {
  kind: (typeof RecordKind)[keyof typeof RecordKind]
  /** log2 of the chunk size: {@link CHUNK_SHIFT} (files) or {@link PAGED_CHUNK_SHIFT} (paged files). */
  chunkShift: number
  size: number
  created: number
  modified: number
  chunkCount: number
  inline?: Uint8Array
  chunks?: ChunkRecord[]
  /** Root of the chunk map (pointer tree over CHUNK_MAP_LEAF pages; `aux` = height). */
  map?: BlockPtr
  /** Its chunk records are sealed (64 bytes each: encrypted containers). */
  sealed?: boolean
  /** Its chunk records carry page checksums (112 bytes each; format 1.4, {@link FLAG_PAGE_SUMS}). */
  summed?: boolean
}

/** Bytes per chunk record of a record (48; 64 when sealed; 112 with page checksums). */
export const recordSizeOf = (sealed: boolean | undefined, summed?: boolean): number =>
  sealed ? SEALED_CHUNK_RECORD_SIZE : summed ? SUMMED_CHUNK_RECORD_SIZE : CHUNK_RECORD_SIZE

/** Record size for the flags byte of a file record. */
export const recordSizeForFlags = (flags: number): number => recordSizeOf((flags & FLAG_SEALED) !== 0, (flags & FLAG_PAGE_SUMS) !== 0)

/** The page checksums of a raw chunk's stored bytes (see {@link ChunkRecord.pageSums}); the last entry is the chunk's CRC-32. */
export function pageSumsOf(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(PAGE_SUMS)
  let crc = 0
  for (let k = 0, at = 0; at < bytes.length; k++, at += PAGE_SIZE) {
    crc = crc32(bytes.subarray(at, Math.min(bytes.length, at + PAGE_SIZE)), crc)
    out[k] = crc
  }
  return out
}

const ZERO_TAG = new Uint8Array(16)

export function writeChunkRecord(v: DataView, off: number, c: ChunkRecord, sealed = false, summed = false): void {
  if (sealed) new Uint8Array(v.buffer, v.byteOffset + off + 48, 16).set(c.tag ?? ZERO_TAG)
  if (summed) for (let k = 0; k < PAGE_SUMS; k++) v.setUint32(off + 48 + 4 * k, c.pageSums![k], true)
  setU64(v, off, c.page)
  setU64(v, off + 8, c.txn)
  v.setUint32(off + 16, c.storedLength, true)
  v.setUint32(off + 20, c.logicalLength, true)
  v.setUint32(off + 24, c.checksum, true)
  v.setUint8(off + 28, c.codec)
  v.setUint8(off + 29, c.cipher)
  v.setUint16(off + 30, c.runPages, true)
  new Uint8Array(v.buffer, v.byteOffset + off + 32, 12).set(c.nonce.subarray(0, 12))
  v.setUint32(off + 44, c.offset, true)
}

/** Shows `to` the run the chunk record at `off` heads (first page, pages, birth txn) without decoding the rest; nothing for a continuation. */
export function chunkRunAt(v: DataView, off: number, to: { enter(page: number, pages: number, txn: number): unknown }): void {
  // A continuation lies inside its head's run and owns no pages.
  if (v.getUint32(off + 44, true) !== 0) return
  const pages = v.getUint16(off + 30, true) || Math.ceil(v.getUint32(off + 16, true) / PAGE_SIZE)
  to.enter(getU64(v, off), pages, getU64(v, off + 8))
}

export function readChunkRecord(v: DataView, off: number, sealed = false, summed = false): ChunkRecord {
  const c = readPlainChunkRecord(v, off)
  if (sealed) c.tag = new Uint8Array(v.buffer.slice(v.byteOffset + off + 48, v.byteOffset + off + 64))
  else if (summed) {
    const sums = new Uint32Array(PAGE_SUMS)
    for (let k = 0; k < PAGE_SUMS; k++) sums[k] = v.getUint32(off + 48 + 4 * k, true)
    c.pageSums = sums
  }
  return c
}

function readPlainChunkRecord(v: DataView, off: number): ChunkRecord {
  return {
    page: getU64(v, off),
    txn: getU64(v, off + 8),
    storedLength: v.getUint32(off + 16, true),
    logicalLength: v.getUint32(off + 20, true),
    checksum: v.getUint32(off + 24, true),
    codec: v.getUint8(off + 28),
    cipher: v.getUint8(off + 29),
    nonce: readNonce(v, off + 32),
    runPages: v.getUint16(off + 30, true),
    offset: v.getUint32(off + 44, true),
  }
}

/** The nonce of every chunk that is not encrypted (shared; never written to). */
export const ZERO_NONCE = new Uint8Array(12)

/** The 12-byte nonce at `off` (a shared zero nonce for the common unencrypted case). */
function readNonce(v: DataView, off: number): Uint8Array {
  if (v.getUint32(off, true) === 0 && v.getUint32(off + 4, true) === 0 && v.getUint32(off + 8, true) === 0) return ZERO_NONCE
  return new Uint8Array(v.buffer.slice(v.byteOffset + off, v.byteOffset + off + 12))
}

/** Encodes a file record as the catalog value. */
export function encodeFileRecord(r: FileRecord): Uint8Array {
  const size = recordSizeOf(r.sealed, r.summed)
  const body = r.kind === RecordKind.INLINE ? r.inline!.length : r.kind === RecordKind.DIRECT ? r.chunks!.length * size : BLOCK_PTR_SIZE
  const out = new Uint8Array(RECORD_HEADER_SIZE + body)
  const v = viewOf(out)
  v.setUint8(0, r.kind)
  v.setUint8(1, r.chunkShift)
  v.setUint8(2, r.kind === RecordKind.INLINE ? 0 : r.sealed ? FLAG_SEALED : r.summed ? FLAG_PAGE_SUMS : 0)
  v.setUint32(4, r.chunkCount, true)
  setU64(v, 8, r.size)
  setU64(v, 16, r.created)
  setU64(v, 24, r.modified)
  if (r.kind === RecordKind.INLINE) out.set(r.inline!, RECORD_HEADER_SIZE)
  else if (r.kind === RecordKind.DIRECT) {
    const chunks = r.chunks!
    for (let i = 0; i < chunks.length; i++) writeChunkRecord(v, RECORD_HEADER_SIZE + i * size, chunks[i], r.sealed, r.summed)
  }
  else writeBlockPtr(v, RECORD_HEADER_SIZE, r.map!)
  return out
}

/** Decodes a catalog value; damage is reported as `CARTRIDGE_CORRUPT` naming the path. */
export function decodeFileRecord(value: Uint8Array, path: string): FileRecord {
  const corrupt = (why: string) => new CartridgeError(ErrorCodes.CORRUPT, `file record of ${path} is damaged: ${why}`, { path })
  if (value.length < RECORD_HEADER_SIZE) throw corrupt('too short')
  const v = viewOf(value)
  const kind = v.getUint8(0) as FileRecord['kind']
  const chunkShift = v.getUint8(1)
  if (chunkShift !== CHUNK_SHIFT && chunkShift !== PAGED_CHUNK_SHIFT) throw corrupt('unsupported chunk size')
  const flags = v.getUint8(2)
  if (flags & ~(FLAG_SEALED | FLAG_PAGE_SUMS)) throw corrupt('unknown flags')
  // Page checksums are for raw 64 KiB chunks: never with sealed records, paged files or inline content.
  if (flags & FLAG_PAGE_SUMS && (flags & FLAG_SEALED || chunkShift !== CHUNK_SHIFT || kind === RecordKind.INLINE)) throw corrupt('page checksums on a record that cannot have them')
  const r: FileRecord = { kind, chunkShift, chunkCount: v.getUint32(4, true), size: getU64(v, 8), created: getU64(v, 16), modified: getU64(v, 24) }
  if (flags & FLAG_SEALED) r.sealed = true
  if (flags & FLAG_PAGE_SUMS) r.summed = true
  const size = recordSizeOf(r.sealed, r.summed)
  const body = value.length - RECORD_HEADER_SIZE
  if (kind === RecordKind.INLINE) {
    if (body !== r.size) throw corrupt('inline length mismatch')
    r.inline = value.subarray(RECORD_HEADER_SIZE)
  } else if (kind === RecordKind.DIRECT) {
    if (body !== r.chunkCount * size) throw corrupt('chunk list length mismatch')
    r.chunks = []
    for (let i = 0; i < r.chunkCount; i++) r.chunks.push(readChunkRecord(v, RECORD_HEADER_SIZE + i * size, r.sealed, r.summed))
  } else if (kind === RecordKind.MAP) {
    if (body !== BLOCK_PTR_SIZE) throw corrupt('chunk map pointer length mismatch')
    r.map = readBlockPtr(v, RECORD_HEADER_SIZE)
  } else throw corrupt(`unknown kind ${kind}`)
  if (r.kind !== RecordKind.INLINE && r.chunkCount !== Math.ceil(r.size / (1 << chunkShift))) throw corrupt('chunk count does not match size')
  return r
}

/** Bytes per chunk of a file record. */
export function chunkSizeOf(r: Pick<FileRecord, 'chunkShift'>): number {
  return 1 << r.chunkShift
}
