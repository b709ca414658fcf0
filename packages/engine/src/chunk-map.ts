import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import {
  PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, buildPointerTree, lookupPointerTree, readPointerTree, writeNode, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import {
  CHUNK_RECORD_SIZE, CHUNK_SHIFT, DIRECT_CHUNKS_MAX, PAGE_SUMS, RecordKind, SEALED_CHUNK_RECORD_SIZE, SUMMED_CHUNK_RECORD_SIZE,
  chunkSizeOf, readChunkRecord, recordSizeOf, writeChunkRecord, type ChunkRecord, type FileRecord,
} from './file-record.js'
import { pagesFor } from './content-io.js'

// Chunk records of a file: direct in the file record or in chunk-map leaves under a pointer tree
// (spec §10), how many fit a leaf, and the checks every record passes before it is used.

/** Chunk records per CHUNK_MAP_LEAF page (84). */
export const RECORDS_PER_MAP_LEAF = Math.floor(PAGE_PAYLOAD / CHUNK_RECORD_SIZE)
/** Sealed chunk records per CHUNK_MAP_LEAF page (63). */
export const SEALED_RECORDS_PER_MAP_LEAF = Math.floor(PAGE_PAYLOAD / SEALED_CHUNK_RECORD_SIZE)
/** Chunk records with page checksums per CHUNK_MAP_LEAF page (36). */
export const SUMMED_RECORDS_PER_MAP_LEAF = Math.floor(PAGE_PAYLOAD / SUMMED_CHUNK_RECORD_SIZE)
/** Records per chunk-map leaf for a record whose chunk records are sealed, carry page checksums, or neither. */
export const recordsPerLeaf = (sealed: boolean | undefined, summed?: boolean): number =>
  sealed ? SEALED_RECORDS_PER_MAP_LEAF : summed ? SUMMED_RECORDS_PER_MAP_LEAF : RECORDS_PER_MAP_LEAF

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
