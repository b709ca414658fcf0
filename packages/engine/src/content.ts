import { CartridgeError, ErrorCodes, crc32, viewOf } from '@cartridge/core'
import { CodecId, isApplicationCodecId, type Codec, type CodecSet } from '@cartridge/codec'
import {
  PAGE_HEADER_SIZE, PAGE_PAYLOAD, PAGE_SIZE, PageType, buildPointerTree, lookupPointerTree, readPointerTree, writeNode,
  type BlockPtr, type PageIO, type PageStore,
} from '@cartridge/pager'
import type { ContainerCipher } from '@cartridge/crypto'
import {
  CHUNK_RECORD_SIZE, CHUNK_SHIFT, CHUNK_SIZE, DIRECT_CHUNKS_MAX, INLINE_MAX, PAGE_SUMS, RecordKind, SEALED_CHUNK_RECORD_SIZE,
  SUMMED_CHUNK_RECORD_SIZE, ZERO_NONCE, chunkSizeOf, pageSumsOf, readChunkRecord, recordSizeOf, writeChunkRecord, type ChunkRecord, type FileRecord,
} from './file-record.js'

/** Chunk records per CHUNK_MAP_LEAF page (84). */
export const RECORDS_PER_MAP_LEAF = Math.floor(PAGE_PAYLOAD / CHUNK_RECORD_SIZE)
/** Sealed chunk records per CHUNK_MAP_LEAF page (63). */
export const SEALED_RECORDS_PER_MAP_LEAF = Math.floor(PAGE_PAYLOAD / SEALED_CHUNK_RECORD_SIZE)
/** Chunk records with page checksums per CHUNK_MAP_LEAF page (36). */
export const SUMMED_RECORDS_PER_MAP_LEAF = Math.floor(PAGE_PAYLOAD / SUMMED_CHUNK_RECORD_SIZE)
/** Records per chunk-map leaf for a record whose chunk records are sealed, carry page checksums, or neither. */
export const recordsPerLeaf = (sealed: boolean | undefined, summed?: boolean): number =>
  sealed ? SEALED_RECORDS_PER_MAP_LEAF : summed ? SUMMED_RECORDS_PER_MAP_LEAF : RECORDS_PER_MAP_LEAF

/** A {@link PageIO} that can also reach the page store for content I/O. */
export interface ContentIO extends PageIO {
  readonly store: PageStore
  /** Frees a run of content pages born in txn `txn`. */
  freeRun(page: number, count: number, txn: number): void
  /** A reusable buffer of one chunk for partial-chunk reads (optional). */
  readonly scratch?: Uint8Array
  /** The container's size in pages: content outside `[2, pageLimit)` is damage (`CARTRIDGE_CORRUPT`). */
  readonly pageLimit?: number
  /** Grows once so that `pages` more fit, ahead of a write of known size (optional). */
  makeRoom?(pages: number): void
  /** Decoders for compressed chunks (absent: compressed chunks are `CARTRIDGE_UNSUPPORTED`). */
  readonly codecs?: CodecSet
  /** The data key's cipher of an encrypted container: every chunk is sealed with it. */
  readonly cipher?: ContainerCipher
}

/** How a chunk's stored bytes were sealed (encrypted containers). */
export interface ChunkSeal {
  nonce: Uint8Array
  tag: Uint8Array
}

/**
 * The stored form of chunk `index` whose codec output is `bytes` (what `logical` bytes of the file
 * compressed to, or the bytes themselves for codec 0): sealed when the container is encrypted.
 */
export function sealStored(io: Pick<ContentIO, 'cipher'>, bytes: Uint8Array, index: number, logical: number, codec: number): { stored: Uint8Array; seal?: ChunkSeal } {
  if (!io.cipher) return { stored: bytes }
  const s = io.cipher.sealChunk(bytes, { chunkIndex: index, logicalLength: logical, codec })
  return { stored: s.ciphertext, seal: { nonce: s.nonce, tag: s.tag } }
}

/**
 * Reads `into.length` stored bytes at byte `offset` of the run starting at `page`; the bytes
 * must lie inside the container.
 */
function readStored(io: ContentIO, page: number, offset: number, into: Uint8Array, path: string): void {
  const end = page + pagesFor(offset + into.length)
  if (!(page >= 2 && end <= (io.pageLimit ?? Infinity))) {
    throw new CartridgeError(ErrorCodes.CORRUPT, `content of ${path} points outside the container (page ${page})`, { path, page })
  }
  const first = page + Math.floor(offset / PAGE_SIZE)
  const inner = offset % PAGE_SIZE
  if (inner === 0) {
    io.store.read(first, into)
    return
  }
  const tmp = new Uint8Array(inner + into.length)
  io.store.read(first, tmp)
  into.set(tmp.subarray(inner))
}

const pagesFor = (bytes: number) => Math.ceil(bytes / PAGE_SIZE)

/** A fresh array of `n` bytes with its own buffer, not zeroed (for bytes that are all overwritten before anyone sees them). */
const uninitialized = (n: number): Uint8Array => new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n)

/** The record of a raw (uncompressed, unencrypted) chunk of `length` bytes at `page`. */
export function rawChunkRecord(page: number, txn: number, length: number, checksum: number): ChunkRecord {
  return { page, txn, storedLength: length, logicalLength: length, checksum, codec: 0, cipher: 0, nonce: ZERO_NONCE, runPages: 0, offset: 0 }
}

/** Most stored bytes packed into one run of compressed chunks. */
export const GROUP_BYTES = 1 << 20

/**
 * Compressed chunks waiting to be packed back to back into one run (see {@link ChunkRecord}).
 * The first becomes the run's head, the others continuations at their byte offsets.
 */
export class ChunkGroup {
  readonly #parts: { stored: Uint8Array; logical: number; codec: number; checksum: number; seal?: ChunkSeal }[] = []
  bytes = 0

  get size(): number {
    return this.#parts.length
  }

  add(stored: Uint8Array, logical: number, codec: number, seal?: ChunkSeal): void {
    this.#parts.push({ stored, logical, codec, checksum: crc32(stored), seal })
    this.bytes += stored.length
  }

  /** Pages the packed run takes. */
  get pages(): number {
    return pagesFor(this.bytes)
  }

  /** The packed bytes. */
  concat(): Uint8Array {
    const out = new Uint8Array(this.bytes)
    let at = 0
    for (const p of this.#parts) {
      out.set(p.stored, at)
      at += p.stored.length
    }
    return out
  }

  /** Stores the waiting chunks as one run in new pages of `io` and appends their records to `chunks`. */
  storeInto(io: ContentIO, chunks: ChunkRecord[]): void {
    if (this.size === 0) return
    const page = io.allocate(this.pages)
    io.store.write(page, this.concat())
    chunks.push(...this.take(page, io.txn))
  }

  /** The records of the packed chunks once the run is at `page`; empties the group. */
  take(page: number, txn: number): ChunkRecord[] {
    const pages = this.pages
    let at = 0
    const out = this.#parts.map((p, i) => {
      const c: ChunkRecord = {
        page, txn, storedLength: p.stored.length, logicalLength: p.logical, checksum: p.checksum, codec: p.codec, cipher: p.seal ? 1 : 0,
        nonce: p.seal?.nonce ?? ZERO_NONCE, runPages: i === 0 ? pages : 0, offset: at,
      }
      if (p.seal) c.tag = p.seal.tag
      at += p.stored.length
      return c
    })
    this.#parts.length = 0
    this.bytes = 0
    return out
  }
}

/**
 * The record of a raw chunk stored at `page`, with its page checksums (one pass over the bytes)
 * unless it is a page of a paged file (`summed` false), which is one page already.
 */
function rawChunk(io: PageIO, page: number, bytes: Uint8Array, summed = true): ChunkRecord {
  if (!summed) return rawChunkRecord(page, io.txn, bytes.length, crc32(bytes))
  const sums = pageSumsOf(bytes)
  const c = rawChunkRecord(page, io.txn, bytes.length, bytes.length === 0 ? 0 : sums[pagesFor(bytes.length) - 1])
  c.pageSums = sums
  return c
}

/** Stores chunk `index`'s bytes raw at `page` (sealed in an encrypted container) and returns its record. */
export function storeChunk(io: ContentIO, page: number, bytes: Uint8Array, index: number, paged = false): ChunkRecord {
  if (!io.cipher) {
    io.store.write(page, bytes)
    return rawChunk(io, page, bytes, !paged)
  }
  const { stored, seal } = sealStored(io, bytes, index, bytes.length, 0)
  io.store.write(page, stored)
  return sealedRecord(rawChunkRecord(page, io.txn, stored.length, crc32(stored)), seal!)
}

/** `c` marked as sealed with `seal`. */
export function sealedRecord(c: ChunkRecord, seal: ChunkSeal): ChunkRecord {
  return { ...c, cipher: 1, nonce: seal.nonce, tag: seal.tag }
}

/** Builds the record for content whose chunks are already stored. */
export function recordFor(
  io: PageIO, size: number, chunks: ChunkRecord[], created: number, modified: number, chunkShift = CHUNK_SHIFT,
): FileRecord {
  const chunkCount = chunks.length
  const sealed = chunks.length > 0 && chunks[0].cipher !== 0
  // Page checksums (1.4) when every chunk has them (only raw chunks of 64 KiB-class files do).
  const summed = !sealed && chunkShift === CHUNK_SHIFT && hasPageSums(chunks)
  const r: FileRecord = chunkCount <= DIRECT_CHUNKS_MAX
    ? { kind: RecordKind.DIRECT, chunkShift, size, created, modified, chunkCount, chunks }
    : { kind: RecordKind.MAP, chunkShift, size, created, modified, chunkCount, map: buildChunkMap(io, chunks, sealed, summed) }
  if (sealed) r.sealed = true
  if (summed) r.summed = true
  return r
}

/** Whether every one of `chunks` (at least one) carries page checksums. */
export const hasPageSums = (chunks: readonly ChunkRecord[]): boolean => chunks.length > 0 && chunks.every((c) => c.pageSums !== undefined)

/** Writes chunk-map leaves for `chunks` and the pointer tree above them; returns its root. */
export function buildChunkMap(
  io: PageIO, chunks: readonly ChunkRecord[], sealed = chunks.length > 0 && chunks[0].cipher !== 0, summed = !sealed && hasPageSums(chunks),
): BlockPtr {
  const leaves: BlockPtr[] = []
  const per = recordsPerLeaf(sealed, summed)
  for (let i = 0; i < chunks.length; i += per) leaves.push(writeMapLeaf(io, chunks.slice(i, i + per), undefined, sealed, summed))
  return buildPointerTree(io, leaves)
}

/**
 * Writes one CHUNK_MAP_LEAF page holding `records` (at `pageNo`, default a new page), as sealed
 * records, records with page checksums (`summed`), or plain ones.
 */
export function writeMapLeaf(
  io: PageIO, records: readonly ChunkRecord[], pageNo?: number, sealed = records.length > 0 && records[0].cipher !== 0, summed = false,
): BlockPtr {
  const size = recordSizeOf(sealed, summed)
  return writeNode(io, PageType.CHUNK_MAP_LEAF, 0, records.length, records.length * size, (page) => {
    const v = viewOf(page)
    records.forEach((c, j) => writeChunkRecord(v, PAGE_HEADER_SIZE + j * size, c, sealed, summed))
  }, pageNo)
}

/**
 * Bytes per record of a CHUNK_MAP_LEAF page: `used / count`, 48, 64 (sealed records) or 112
 * (records with page checksums); anything else is damage.
 */
export function mapLeafStride(page: Uint8Array, leafPage: number): number {
  const v = viewOf(page)
  const n = v.getUint16(6, true)
  const used = v.getUint32(24, true)
  if (n === 0) return CHUNK_RECORD_SIZE
  const stride = used / n
  const known = stride === CHUNK_RECORD_SIZE || stride === SEALED_CHUNK_RECORD_SIZE || stride === SUMMED_CHUNK_RECORD_SIZE
  if (!known || n > recordsPerLeaf(stride === SEALED_CHUNK_RECORD_SIZE, stride === SUMMED_CHUNK_RECORD_SIZE)) {
    throw new CartridgeError(ErrorCodes.CORRUPT, `chunk map leaf ${leafPage} holds ${n} records in ${used} bytes`, { page: leafPage })
  }
  return stride
}

/** The chunk records stored in one CHUNK_MAP_LEAF page. */
export function readMapLeaf(io: Pick<PageIO, 'read'>, leaf: BlockPtr): ChunkRecord[] {
  const page = io.read(leaf, PageType.CHUNK_MAP_LEAF)
  const v = viewOf(page)
  const n = v.getUint16(6, true)
  const stride = mapLeafStride(page, leaf.page)
  const out: ChunkRecord[] = []
  for (let j = 0; j < n; j++) {
    out.push(readChunkRecord(v, PAGE_HEADER_SIZE + j * stride, stride === SEALED_CHUNK_RECORD_SIZE, stride === SUMMED_CHUNK_RECORD_SIZE))
  }
  return out
}

/**
 * Writes `data` as a new file version: inline when small, else 64 KiB chunks written straight to
 * free pages (nothing committed refers to them), then the record. With `codec`, each chunk that
 * shrinks is compressed and packed with its neighbours into shared runs; one that does not is
 * stored raw.
 */
export function writeContent(io: ContentIO, data: Uint8Array, created: number, modified: number, codec?: Codec): FileRecord {
  if (data.length <= INLINE_MAX) {
    return { kind: RecordKind.INLINE, chunkShift: CHUNK_SHIFT, size: data.length, created, modified, chunkCount: 0, inline: data.slice() }
  }
  const chunks: ChunkRecord[] = []
  // Room for all of it at once, when its size is known: compressed, it is not (growth on demand).
  if (!codec) io.makeRoom?.(pagesFor(data.length) + 2)
  // Raw chunks allocated back to back are written with one store call (up to 8 MiB).
  let runStart = 0
  let runEnd = 0
  const flushRun = () => {
    if (runEnd > runStart) io.store.write(chunks[runStart / CHUNK_SIZE].page, data.subarray(runStart, runEnd))
    runStart = runEnd
  }
  const group = new ChunkGroup()
  const flushGroup = () => group.storeInto(io, chunks)
  for (let off = 0; off < data.length; off += CHUNK_SIZE) {
    const bytes = data.subarray(off, Math.min(off + CHUNK_SIZE, data.length))
    const packed = codec?.compress(bytes)
    if (packed || io.cipher) {
      // Compressed or sealed: the stored bytes are new, packed with their neighbours.
      if (runEnd > runStart) flushRun()
      const { stored, seal } = sealStored(io, packed ?? bytes, off / CHUNK_SIZE, bytes.length, packed ? codec!.id : 0)
      group.add(stored, bytes.length, packed ? codec!.id : 0, seal)
      if (group.bytes >= GROUP_BYTES) flushGroup()
      runStart = runEnd = off + bytes.length
      continue
    }
    flushGroup()
    const page = io.allocate(pagesFor(bytes.length))
    const prev = chunks[chunks.length - 1]
    if (runEnd > runStart && (page !== prev.page + pagesFor(prev.storedLength) || off - runStart >= 8 * 1024 * 1024)) flushRun()
    if (runEnd === runStart) runStart = off
    chunks.push(rawChunk(io, page, bytes))
    runEnd = off + bytes.length
  }
  flushRun()
  flushGroup()
  return recordFor(io, data.length, chunks, created, modified)
}

/**
 * Rewrites the content of a file version with `codec` (undefined: raw), chunk by chunk, so at
 * most one chunk and one packed run are in memory. Returns the new record, or `undefined` when
 * the file has no chunks to rewrite (inline, or a paged file, which is never compressed).
 */
export function recompressContent(io: ContentIO, r: FileRecord, path: string, codec: Codec | undefined, out: ContentIO = io): FileRecord | undefined {
  if (r.kind === RecordKind.INLINE || r.chunkShift !== CHUNK_SHIFT) return undefined
  const src = io
  io = out
  const chunks: ChunkRecord[] = []
  const group = new ChunkGroup()
  const flushGroup = () => group.storeInto(io, chunks)
  const cursor: LeafCursor = { index: -1, page: undefined }
  const plain = new Uint8Array(CHUNK_SIZE)
  for (let i = 0; i < r.chunkCount; i++) {
    const c = chunkAt(src, r, i, path, cursor)
    const bytes = loadChunk(src, c, path, i, plain)
    const packed = codec?.compress(bytes)
    if (packed || io.cipher) {
      const { stored, seal } = sealStored(io, packed ?? bytes, i, bytes.length, packed ? codec!.id : 0)
      group.add(stored, bytes.length, packed ? codec!.id : 0, seal)
      if (group.bytes >= GROUP_BYTES) flushGroup()
      continue
    }
    flushGroup()
    chunks.push(storeChunk(io, io.allocate(pagesFor(bytes.length)), bytes, i))
  }
  flushGroup()
  return recordFor(io, r.size, chunks, r.created, r.modified)
}

/**
 * Checks that chunk `i` has the length its position requires (every chunk but the last holds a
 * full 64 KiB), so damaged records surface as `CARTRIDGE_CORRUPT` instead of wrong reads.
 */
export function checkChunk(c: ChunkRecord, i: number, r: FileRecord, path: string): ChunkRecord {
  const size = chunkSizeOf(r)
  const expected = i < r.chunkCount - 1 ? size : r.size - (r.chunkCount - 1) * size
  const rawOk = c.codec !== 0 || c.cipher !== 0 ? c.storedLength >= 1 && c.storedLength <= size : c.storedLength === c.logicalLength
  // A continuation is always compressed or sealed (spec §10): a raw one is a forgery a 1.1 reader would misread.
  const placeOk = c.offset === 0 || c.codec !== 0 || c.cipher !== 0
  if (c.logicalLength !== expected || !rawOk || !placeOk || c.page < 2) {
    throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${i} of ${path} has an impossible length or place`, { path, page: c.page })
  }
  if (r.summed && !pageSumsAgree(c)) {
    throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${i} of ${path} has page checksums that do not fit it`, { path, page: c.page })
  }
  return c
}

/**
 * A chunk with page checksums is raw and heads its run, its last page's entry is its checksum,
 * and the entries past its last page are 0.
 */
function pageSumsAgree(c: ChunkRecord): boolean {
  const sums = c.pageSums
  if (!sums || c.codec !== 0 || c.cipher !== 0 || c.offset !== 0 || c.storedLength === 0) return false
  const last = pagesFor(c.storedLength) - 1
  if (sums[last] !== c.checksum) return false
  for (let k = last + 1; k < PAGE_SUMS; k++) if (sums[k] !== 0) return false
  return true
}

/** The chunk-map leaf a {@link chunkAt} call read last, so runs of chunks walk the tree once per leaf. */
export interface LeafCursor {
  index: number
  page: Uint8Array | undefined
}

/** Chunk `i` of a file (`cursor` remembers the last map leaf between calls on the same record). */
export function chunkAt(io: Pick<PageIO, 'read'>, r: FileRecord, i: number, path = '', cursor?: LeafCursor): ChunkRecord {
  if (r.kind === RecordKind.DIRECT) return checkChunk(r.chunks![i], i, r, path)
  const per = recordsPerLeaf(r.sealed, r.summed)
  const leafIndex = Math.floor(i / per)
  let page = cursor?.index === leafIndex ? cursor.page : undefined
  if (!page) {
    const leaf = lookupPointerTree(io, r.map!, leafIndex)
    page = io.read(leaf, PageType.CHUNK_MAP_LEAF)
    if (cursor) {
      cursor.index = leafIndex
      cursor.page = page
    }
  }
  const slot = i % per
  const v = viewOf(page)
  const size = recordSizeOf(r.sealed, r.summed)
  if (slot >= v.getUint16(6, true) || v.getUint32(24, true) !== v.getUint16(6, true) * size) {
    throw new CartridgeError(ErrorCodes.CORRUPT, `chunk map leaf ${leafIndex} of ${path} is short or holds records of another size`, { path })
  }
  return checkChunk(readChunkRecord(v, PAGE_HEADER_SIZE + slot * size, r.sealed, r.summed), i, r, path)
}

/** Every chunk record of a file, in order, plus the chunk-map pages (for freeing and checks). */
export function chunksOf(io: Pick<PageIO, 'read'>, r: FileRecord, onMapPage?: (p: BlockPtr) => void, minTxn = -1): ChunkRecord[] {
  if (r.kind === RecordKind.INLINE) return []
  if (r.kind === RecordKind.DIRECT) return r.chunks!
  const out: ChunkRecord[] = []
  if (r.map!.txn <= minTxn) return out
  for (const leaf of readPointerTree(io, r.map!, onMapPage)) {
    onMapPage?.(leaf)
    if (leaf.txn <= minTxn) continue
    for (const c of readMapLeaf(io, leaf)) out.push(c)
  }
  return out
}

function checkCodec(io: Pick<ContentIO, 'cipher'>, c: ChunkRecord, path: string): void {
  if (io.cipher) {
    // Every chunk of an encrypted container is sealed; the records themselves are authenticated.
    if (c.cipher !== 1 || !c.tag) {
      throw new CartridgeError(ErrorCodes.AUTH_FAILED, `a chunk of ${path} is not sealed in an encrypted container`, { path, page: c.page })
    }
  } else if (c.cipher !== 0) {
    throw new CartridgeError(
      ErrorCodes.UNSUPPORTED,
      c.cipher === 1 ? `chunk of ${path} is encrypted, but the container is not` : `chunk of ${path} uses cipher ${c.cipher}, not supported by this version`,
      { path },
    )
  }
  // (An application codec's id passes: whether this container has that codec is asked when the chunk is decoded.)
  if (c.codec !== 0 && c.codec !== CodecId.LZ4 && c.codec !== CodecId.ZSTD && !isApplicationCodecId(c.codec)) {
    throw new CartridgeError(ErrorCodes.UNSUPPORTED, `chunk of ${path} uses codec ${c.codec}, not supported by this version`, { path })
  }
}

function verifyChunk(c: ChunkRecord, bytes: Uint8Array, path: string, everyPage = false): void {
  if (everyPage && c.pageSums) return verifyPageSums(c, bytes, path)
  if (crc32(bytes) !== c.checksum) {
    // With page checksums, name the first page that is wrong.
    if (c.pageSums) verifyPageSums(c, bytes, path)
    const where = `pages ${c.page}..${c.page + pagesFor(c.offset + c.storedLength) - 1}`
    // In an encrypted container a changed byte is a failed authentication, whatever finds it first.
    if (c.cipher !== 0) throw new CartridgeError(ErrorCodes.AUTH_FAILED, `content of ${path} failed authentication in ${where}`, { path, page: c.page })
    throw new CartridgeError(ErrorCodes.CHECKSUM, `content of ${path} failed its checksum in ${where}`, { path, page: c.page })
  }
}

/**
 * Reads bytes `[from, from + into.length)` of a raw chunk with page checksums into `into`,
 * verifying only the pages they lie in with one CRC-32 (seeded with the entry before the first
 * page): straight into `into` when the range is whole pages, else through `scratch`.
 */
function readPages(io: ContentIO, c: ChunkRecord, path: string, from: number, into: Uint8Array, scratch: Uint8Array): void {
  const sums = c.pageSums!
  const p0 = Math.floor(from / PAGE_SIZE)
  const p1 = pagesFor(from + into.length)
  const a = p0 * PAGE_SIZE
  const b = Math.min(p1 * PAGE_SIZE, c.storedLength)
  const direct = a === from && b === from + into.length
  const bytes = direct ? into : scratch.subarray(0, b - a)
  readStored(io, c.page, a, bytes, path)
  if (crc32(bytes, p0 === 0 ? 0 : sums[p0 - 1]) !== sums[p1 - 1]) {
    throw new CartridgeError(ErrorCodes.CHECKSUM, `content of ${path} failed its checksum in pages ${c.page + p0}..${c.page + p1 - 1}`, { path, page: c.page + p0 })
  }
  if (!direct) into.set(bytes.subarray(from - a, from - a + into.length))
}

/**
 * Checks every page checksum of a raw chunk whose stored bytes are `bytes`, and its checksum, in
 * one pass: what recovery and `check` do (`everyPage`), so a record whose page checksums disagree
 * with its bytes is found before a partial read meets it.
 */
function verifyPageSums(c: ChunkRecord, bytes: Uint8Array, path: string): void {
  const want = pageSumsOf(bytes)
  for (let k = 0; k < PAGE_SUMS; k++) {
    if (want[k] !== c.pageSums![k]) {
      throw new CartridgeError(ErrorCodes.CHECKSUM, `content of ${path} failed its checksum in page ${c.page + k}`, { path, page: c.page + k })
    }
  }
  // The last page's running CRC is the CRC of the whole chunk.
  if (want[pagesFor(bytes.length) - 1] !== c.checksum) {
    throw new CartridgeError(ErrorCodes.CHECKSUM, `content of ${path} failed its checksum in pages ${c.page}..${c.page + pagesFor(bytes.length) - 1}`, { path, page: c.page })
  }
}

/**
 * Reads and verifies a chunk's stored bytes as they are on disk (compressed, sealed), into `into`
 * when given; `everyPage`: against every page checksum too, when it has them.
 */
export function loadStored(io: ContentIO, c: ChunkRecord, path: string, into?: Uint8Array, everyPage = false): Uint8Array {
  checkCodec(io, c, path)
  const bytes = (into ?? new Uint8Array(c.storedLength)).subarray(0, c.storedLength)
  readStored(io, c.page, c.offset, bytes, path)
  verifyChunk(c, bytes, path, everyPage)
  return bytes
}

/**
 * Reads, verifies, opens and decodes chunk `index` of a file: its `logicalLength` bytes of
 * content (into `into` when given; it must hold `logicalLength` bytes).
 */
export function loadChunk(io: ContentIO, c: ChunkRecord, path: string, index: number, into?: Uint8Array, everyPage = false): Uint8Array {
  if (c.codec === 0 && c.cipher === 0) return loadStored(io, c, path, into, everyPage)
  let stored = loadStored(io, c, path, c.codec === 0 ? into : undefined)
  if (c.cipher !== 0) {
    const plain = io.cipher!.openChunk(stored, c.nonce, c.tag!, { chunkIndex: index, logicalLength: c.logicalLength, codec: c.codec }, stored)
    if (!plain) throw new CartridgeError(ErrorCodes.AUTH_FAILED, `content of ${path} failed authentication in pages ${c.page}..`, { path, page: c.page })
    stored = plain
    if (c.codec === 0) {
      if (stored.length !== c.logicalLength) throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${index} of ${path} has the wrong length`, { path })
      return stored
    }
  }
  if (!io.codecs) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `chunk of ${path} is compressed and no decoder is set`, { path })
  let codec: Codec
  try {
    codec = io.codecs.decoder(c.codec)
  } catch (err) {
    throw new CartridgeError(ErrorCodes.UNSUPPORTED, `content of ${path}: ${(err as Error).message}`, { path, cause: err })
  }
  let out: Uint8Array
  try {
    out = codec.decompress(stored, c.logicalLength, into)
  } catch (err) {
    // A stream that does not decode is damage (spec §24), whoever's codec says so.
    if (err instanceof CartridgeError && err.code !== ErrorCodes.CORRUPT) throw err
    throw new CartridgeError(ErrorCodes.CORRUPT, `content of ${path} in pages ${c.page}.. does not decompress: ${(err as Error).message}`, { path, page: c.page, cause: err })
  }
  // The built-in codecs guarantee the length and decode into `into`; an application's is held to the length, and its output copied where it was asked for.
  if (out.length !== c.logicalLength) {
    throw new CartridgeError(ErrorCodes.CORRUPT, `content of ${path} in pages ${c.page}.. decompresses to ${out.length} bytes, not ${c.logicalLength}`, { path, page: c.page })
  }
  if (into && (out.buffer !== into.buffer || out.byteOffset !== into.byteOffset)) {
    into.set(out)
    return into.subarray(0, out.length)
  }
  return out
}

/**
 * The last chunk {@link readWithinChunk} loaded and verified, identified by its record's page,
 * birth txn and checksum, so reads inside the same chunk load it once.
 */
export interface ChunkMemo {
  chunk: ChunkRecord | undefined
  bytes: Uint8Array | undefined
}

/** An empty {@link ChunkMemo}. */
export function chunkMemo(): ChunkMemo {
  return { chunk: undefined, bytes: undefined }
}

const sameChunk = (a: ChunkRecord | undefined, b: ChunkRecord): boolean =>
  a !== undefined && a.page === b.page && a.offset === b.offset && a.txn === b.txn && a.checksum === b.checksum

/**
 * Reads `length` bytes at `offset` of a file where the range lies inside one chunk (the caller
 * has clamped it). The chunk is loaded and verified through `memo` (when it is not the one
 * `memo` holds) and the result is a view of the memo's bytes, valid until the next call.
 */
export function readWithinChunk(
  io: ContentIO, r: FileRecord, path: string, offset: number, length: number, memo: ChunkMemo, cursor?: LeafCursor,
): Uint8Array {
  if (r.kind === RecordKind.INLINE) return r.inline!.subarray(offset, offset + length)
  const i = Math.floor(offset / chunkSizeOf(r))
  const c = chunkAt(io, r, i, path, cursor)
  if (!memo.bytes || !sameChunk(memo.chunk, c)) {
    memo.bytes = loadChunk(io, c, path, i)
    memo.chunk = c
  }
  const from = offset - i * chunkSizeOf(r)
  if (from + length > memo.bytes.length) throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${i} of ${path} is shorter than its place`, { path })
  return memo.bytes.subarray(from, from + length)
}

/** Throws `CARTRIDGE_INVALID_ARGUMENT` unless `offset` (and `length`, when given) are non-negative integers. */
export function checkReadRange(path: string, offset: number, length?: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'offset must be a non-negative integer', { path })
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'length must be a non-negative integer', { path })
  }
}

/** Most bytes read from the store in one call when whole chunks lie next to each other. */
const MAX_RUN_BYTES = 1 << 20

/**
 * Reads `length` bytes at `offset` of a file (the caller has clamped the range). Whole chunks are
 * read straight into the result, and runs of chunks stored back to back in one store read; each
 * chunk is verified before the call returns.
 */
export function readContent(io: ContentIO, r: FileRecord, path: string, offset: number, length: number, into?: Uint8Array): Uint8Array {
  if (r.kind === RecordKind.INLINE) {
    if (!into) return r.inline!.slice(offset, offset + length)
    into.set(r.inline!.subarray(offset, offset + length))
    return into.subarray(0, length)
  }
  // Every byte of the result is read and verified before it is returned: no need to zero it first.
  const out = into ? into.subarray(0, length) : uninitialized(length)
  const end = offset + length
  const chunkSize = chunkSizeOf(r)
  let scratch: Uint8Array | undefined
  const cursor: LeafCursor = { index: -1, page: undefined }
  let pos = offset
  while (pos < end) {
    const i = Math.floor(pos / chunkSize)
    const first = chunkAt(io, r, i, path, cursor)
    checkCodec(io, first, path)
    const from = pos - i * chunkSize
    if (first.codec !== 0 || first.cipher !== 0 || first.offset !== 0) {
      // Compressed: decode the whole chunk straight into the result, or via scratch for a part.
      const take = Math.min(first.logicalLength - from, end - pos)
      if (take <= 0) throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${i} of ${path} is shorter than its place`, { path })
      if (from === 0 && take === first.logicalLength) {
        const got = loadChunk(io, first, path, i, out.subarray(pos - offset, pos - offset + take))
        if (got.buffer !== out.buffer || got.byteOffset !== out.byteOffset + pos - offset) out.set(got, pos - offset)
      } else {
        scratch ??= io.scratch ?? new Uint8Array(CHUNK_SIZE)
        out.set(loadChunk(io, first, path, i, scratch).subarray(from, from + take), pos - offset)
      }
      pos += take
      continue
    }
    if (first.pageSums && (from !== 0 || first.storedLength > end - pos)) {
      // Partial chunk with page checksums (1.4): read and verify only the pages asked for.
      const take = Math.min(first.storedLength - from, end - pos)
      if (take <= 0) throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${i} of ${path} is shorter than its place`, { path })
      scratch ??= io.scratch ?? new Uint8Array(CHUNK_SIZE)
      readPages(io, first, path, from, out.subarray(pos - offset, pos - offset + take), scratch)
      pos += take
      continue
    }
    if (from !== 0 || first.storedLength > end - pos) {
      // Partial chunk: verify all of it, copy the part asked for.
      scratch ??= io.scratch ?? new Uint8Array(CHUNK_SIZE)
      const bytes = loadChunk(io, first, path, i, scratch)
      const take = Math.min(bytes.length - from, end - pos)
      if (take <= 0) throw new CartridgeError(ErrorCodes.CORRUPT, `chunk ${i} of ${path} is shorter than its place`, { path })
      out.set(bytes.subarray(from, from + take), pos - offset)
      pos += take
      continue
    }
    // Whole chunks: extend the run while the next chunk is whole and stored right after.
    const run = [first]
    let bytes = first.storedLength
    for (let j = i + 1; j * chunkSize < end && bytes < MAX_RUN_BYTES; j++) {
      const prev = run[run.length - 1]
      const next = chunkAt(io, r, j, path, cursor)
      if (next.codec !== 0 || next.cipher !== 0 || next.offset !== 0 || next.storedLength > end - pos - bytes) break
      if (next.page !== prev.page + pagesFor(prev.storedLength) || prev.storedLength % PAGE_SIZE !== 0) break
      run.push(next)
      bytes += next.storedLength
    }
    const target = out.subarray(pos - offset, pos - offset + bytes)
    readStored(io, first.page, 0, target, path)
    let at = 0
    for (const c of run) {
      verifyChunk(c, target.subarray(at, at + c.storedLength), path)
      at += c.storedLength
    }
    pos += bytes
  }
  return out
}

/** Releases every page a file version holds (chunk runs and chunk-map pages). */
export function freeContent(io: ContentIO, r: FileRecord): void {
  const mapPages: BlockPtr[] = []
  for (const c of chunksOf(io, r, (p) => mapPages.push(p))) {
    const pages = chunkPages(c)
    if (pages > 0) io.freeRun(c.page, pages, c.txn)
  }
  for (const p of mapPages) io.free(p)
}

/** Pages a chunk owns: its run's when it heads one, 0 for a continuation inside another chunk's run. */
export function chunkPages(c: ChunkRecord): number {
  return c.offset !== 0 ? 0 : c.runPages || pagesFor(c.storedLength)
}
