import type { Codec } from '@cartridge/codec'
import type { BlockPtr } from '@cartridge/pager'
import { CHUNK_SHIFT, CHUNK_SIZE, INLINE_MAX, RecordKind, type ChunkRecord, type FileRecord } from './file-record.js'
import { pagesFor, type ContentIO } from './content-io.js'
import { ChunkGroup, GROUP_BYTES, rawChunk, sealStored, storeChunk } from './chunk-store.js'
import { chunkAt, chunksOf, recordFor, type LeafCursor } from './chunk-map.js'
import { chunkPages, loadChunk } from './chunk-load.js'

// Writing a file version's content (inline, direct or mapped chunks, compressed or raw), rewriting
// it with another codec, and freeing it.

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

/** Releases every page a file version holds (chunk runs and chunk-map pages). */
export function freeContent(io: ContentIO, r: FileRecord): void {
  const mapPages: BlockPtr[] = []
  for (const c of chunksOf(io, r, (p) => mapPages.push(p))) {
    const pages = chunkPages(c)
    if (pages > 0) io.freeRun(c.page, pages, c.txn)
  }
  for (const p of mapPages) io.free(p)
}
