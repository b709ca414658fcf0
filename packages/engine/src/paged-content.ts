import type { BlockPtr } from '@cartridge/pager'
import type { StashedPage } from '@cartridge/vfs'
import { lookupPointerTree, readPointerTree, updatePointerTree } from '@cartridge/pager'
import {
  DIRECT_CHUNKS_MAX, PAGED_CHUNK_SHIFT, PAGED_CHUNK_SIZE, RecordKind, type ChunkRecord, type FileRecord,
} from './file-record.js'
import { buildChunkMap, chunkAt, readMapLeaf, recordFor, recordsPerLeaf, writeMapLeaf, type LeafCursor } from './chunk-map.js'
import { chunkMemo, readWithinChunk } from './content-read.js'
import { freeContent } from './content-write.js'
import { loadChunk } from './chunk-load.js'
import { rawChunkRecord, sealedRecord, storeChunk } from './chunk-store.js'
import { type ContentIO } from './content-io.js'

const P = PAGED_CHUNK_SIZE

/** A new version of a paged file: whole pages replaced, the rest kept up to `keep` bytes. */
export interface PagedChange {
  /** New size in bytes. */
  size: number
  /** Bytes of the old content that survive; later bytes read as zero. */
  keep: number
  /**
   * Page index → 4096 bytes of new content, or a page already stored (4096 bytes at container
   * page `page`, born in this transaction, CRC-32 `checksum`) that becomes the chunk as it is.
   */
  pages: ReadonlyMap<number, Uint8Array | StoredPage>
}

/** A page whose bytes are already in the container (a claimed stash page). */
export type StoredPage = Pick<StashedPage, 'page' | 'checksum' | 'seal'>

/** The record of a stored page as the chunk it becomes (sealed when the store sealed it). */
function storedRecord(io: ContentIO, p: StoredPage): ChunkRecord {
  const raw = rawChunkRecord(p.page, io.txn, P, p.checksum)
  return p.seal ? sealedRecord(raw, p.seal) : raw
}

const isStored = (p: Uint8Array | StoredPage): p is StoredPage => !(p instanceof Uint8Array)

/** Whether a record stores one page per chunk. */
export function isPaged(r: FileRecord | undefined): boolean {
  return r !== undefined && r.kind !== RecordKind.INLINE && r.chunkShift === PAGED_CHUNK_SHIFT
}

/**
 * Writes a new version of a paged file copy-on-write: only replaced pages, the chunk-map leaves
 * holding their records and the pointer nodes above those leaves are written; everything else is
 * shared with the old version. A file that was not paged (written by `write()`) is converted.
 * Pages the new version no longer uses are freed once everything new is written.
 */
export function writePagedContent(
  io: ContentIO, old: FileRecord | undefined, ch: PagedChange, created: number, modified: number, path: string,
): FileRecord {
  const n1 = Math.ceil(ch.size / P)
  const lenOf = (i: number) => Math.min(P, ch.size - i * P)
  const keep = Math.min(ch.keep, old?.size ?? 0)
  // Old chunks may hold many pages (64 KiB chunks of a file being converted): keep the last one read.
  const memo = chunkMemo()
  const cursor: LeafCursor = { index: -1, page: undefined }
  /** Content of page `i` when it is not in `ch.pages`: the old bytes below `keep`, zeros after. */
  const rebuilt = (i: number): Uint8Array => {
    const out = new Uint8Array(lenOf(i))
    const start = i * P
    if (old && start < keep) out.set(readWithinChunk(io, old, path, start, Math.min(keep, start + out.length) - start, memo, cursor))
    return out
  }
  const store = (bytes: Uint8Array, i: number): ChunkRecord => storeChunk(io, io.allocate(1), bytes, i, true)
  /** The chunk for page `i` given as new content. */
  const given = (i: number, p: Uint8Array | StoredPage): ChunkRecord => {
    if (!isStored(p)) return store(p.subarray(0, lenOf(i)), i)
    if (lenOf(i) === P) return storedRecord(io, p)
    // A short last page: store its first bytes on their own and release the full one.
    const bytes = loadChunk(io, storedRecord(io, p), path, i)
    io.freeRun(p.page, 1, io.txn)
    return store(bytes.subarray(0, lenOf(i)), i)
  }

  if (!isPaged(old)) {
    const chunks: ChunkRecord[] = []
    for (let i = 0; i < n1; i++) {
      const p = ch.pages.get(i)
      chunks.push(p ? given(i, p) : store(rebuilt(i), i))
    }
    // Pages past the new end that were given are not used.
    for (const [i, p] of ch.pages) if (i >= n1 && isStored(p)) io.freeRun(p.page, 1, io.txn)
    if (old) freeContent(io, old)
    return recordFor(io, ch.size, chunks, created, modified, PAGED_CHUNK_SHIFT)
  }

  const r0 = old!
  const n0 = r0.chunkCount
  // Every chunk of an encrypted container is sealed, so every chunk map holds sealed records.
  const L = recordsPerLeaf(io.cipher !== undefined)
  const leaves = new Map<number, ChunkRecord[]>()
  const oldChunk = (i: number): ChunkRecord => {
    if (r0.kind === RecordKind.DIRECT) return chunkAt(io, r0, i, path)
    const j = Math.floor(i / L)
    let recs = leaves.get(j)
    if (!recs) {
      recs = readMapLeaf(io, lookupPointerTree(io, r0.map!, j))
      leaves.set(j, recs)
    }
    return recs[i - j * L]
  }
  const oldLen = (i: number) => Math.min(P, r0.size - i * P)
  const released: Array<() => void> = []
  const releaseChunk = (c: ChunkRecord) => released.push(() => io.freeRun(c.page, 1, c.txn))

  // Pages that can change: the written ones, those past the kept bytes or the old end, and the
  // old and new last pages (their lengths change). Everything else keeps its chunk.
  const candidates = new Set<number>()
  for (const i of ch.pages.keys()) if (i < n1) candidates.add(i)
  for (let i = Math.min(n0, Math.floor(keep / P)); i < n1; i++) candidates.add(i)
  if (n0 > 0 && n0 - 1 < n1) candidates.add(n0 - 1)
  if (n1 > 0) candidates.add(n1 - 1)
  const fresh = new Map<number, ChunkRecord>()
  for (const i of [...candidates].sort((a, b) => a - b)) {
    const page = ch.pages.get(i)
    let next: ChunkRecord | undefined
    if (page) next = given(i, page)
    else if (i >= n0 || lenOf(i) !== oldLen(i) || i * P + lenOf(i) > keep) next = store(rebuilt(i), i)
    if (!next) continue
    if (i < n0) releaseChunk(oldChunk(i))
    fresh.set(i, next)
  }
  for (let i = n1; i < n0; i++) releaseChunk(oldChunk(i))
  for (const [i, p] of ch.pages) if (i >= n1 && isStored(p)) io.freeRun(p.page, 1, io.txn)
  const chunk = (i: number) => fresh.get(i) ?? oldChunk(i)

  let rec: FileRecord
  const base = { chunkShift: PAGED_CHUNK_SHIFT, size: ch.size, created, modified, chunkCount: n1 }
  if (n1 <= DIRECT_CHUNKS_MAX) {
    const chunks = Array.from({ length: n1 }, (_, i) => chunk(i))
    if (r0.kind === RecordKind.MAP) releaseMap(io, r0.map!, released)
    rec = { ...base, kind: RecordKind.DIRECT, chunks }
  } else if (r0.kind === RecordKind.DIRECT) {
    rec = { ...base, kind: RecordKind.MAP, map: buildChunkMap(io, Array.from({ length: n1 }, (_, i) => chunk(i))) }
  } else {
    const nl0 = Math.ceil(n0 / L)
    const nl1 = Math.ceil(n1 / L)
    const touched = new Set<number>()
    for (const i of fresh.keys()) touched.add(Math.floor(i / L))
    // The last leaf changes when its record count does.
    if (nl1 > 0 && Math.min(L, n1 - (nl1 - 1) * L) !== (nl1 - 1 < nl0 ? Math.min(L, n0 - (nl1 - 1) * L) : -1)) touched.add(nl1 - 1)
    const updates = new Map<number, BlockPtr>()
    for (const j of touched) {
      if (j >= nl1) continue
      const recs: ChunkRecord[] = []
      for (let i = j * L; i < Math.min(n1, (j + 1) * L); i++) recs.push(chunk(i))
      updates.set(j, writeMapLeaf(io, recs))
    }
    const root = updatePointerTree(io, r0.map!, nl0, nl1, updates, (p) => released.push(() => io.free(p)))
    rec = { ...base, kind: RecordKind.MAP, map: root! }
  }
  for (const free of released) free()
  if (io.cipher && rec.chunkCount > 0) rec.sealed = true
  return rec
}

/** Queues the release of every page of a chunk map (leaves and pointer nodes). */
function releaseMap(io: ContentIO, root: BlockPtr, released: Array<() => void>): void {
  for (const leaf of readPointerTree(io, root, (p) => released.push(() => io.free(p)))) released.push(() => io.free(leaf))
}
