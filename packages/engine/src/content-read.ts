import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_SIZE } from '@cartridge/pager'
import { CHUNK_SIZE, RecordKind, chunkSizeOf, type ChunkRecord, type FileRecord } from './file-record.js'
import { pagesFor, type ContentIO } from './content-io.js'
import { chunkAt, type LeafCursor } from './chunk-map.js'
import { checkChunkCodec, loadChunk, readPages, readStored, verifyChunk } from './chunk-load.js'

// Reading a file version's content: whole or a range, chunk by chunk, merging raw chunks that lie
// back to back into one read, verifying only the pages a range needs.

/** A fresh array of `n` bytes with its own buffer, not zeroed (for bytes that are all overwritten before anyone sees them). */
const uninitialized = (n: number): Uint8Array => new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n)

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
    checkChunkCodec(io, first, path)
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
