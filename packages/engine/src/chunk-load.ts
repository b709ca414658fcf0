import { CartridgeError, ErrorCodes, crc32 } from '@cartridge/core'
import { CodecId, isApplicationCodecId, type Codec } from '@cartridge/codec'
import { PAGE_SIZE } from '@cartridge/pager'
import { PAGE_SUMS, pageSumsOf, type ChunkRecord } from './file-record.js'
import { pagesFor, type ContentIO } from './content-io.js'

// Loading a chunk: reading its stored bytes inside the container, verifying them (CRC-32, page
// checksums), opening a sealed chunk and decoding a compressed one (spec §10, §24, §25).

/**
 * Reads `into.length` stored bytes at byte `offset` of the run starting at `page`; the bytes
 * must lie inside the container.
 */
export function readStored(io: ContentIO, page: number, offset: number, into: Uint8Array, path: string): void {
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

/**
 * Refuses a chunk this reader cannot read: unsealed in an encrypted container (`CARTRIDGE_AUTH_FAILED`),
 * sealed in a plain one, or with a cipher or codec id the format does not give (`CARTRIDGE_UNSUPPORTED`).
 */
export function checkChunkCodec(io: Pick<ContentIO, 'cipher'>, c: ChunkRecord, path: string): void {
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

/** Checks a chunk's stored bytes against its checksum (and, with `everyPage`, its page checksums). */
export function verifyChunk(c: ChunkRecord, bytes: Uint8Array, path: string, everyPage = false): void {
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
export function readPages(io: ContentIO, c: ChunkRecord, path: string, from: number, into: Uint8Array, scratch: Uint8Array): void {
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
  checkChunkCodec(io, c, path)
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

/** Pages a chunk owns: its run's when it heads one, 0 for a continuation inside another chunk's run. */
export function chunkPages(c: ChunkRecord): number {
  return c.offset !== 0 ? 0 : c.runPages || pagesFor(c.storedLength)
}
