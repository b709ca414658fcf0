import { crc32 } from '@cartridge/core'
import type { PageIO } from '@cartridge/pager'
import { ZERO_NONCE, pageSumsOf, type ChunkRecord } from './file-record.js'
import { pagesFor, type ContentIO } from './content-io.js'

// Storing chunks: sealing (encrypted containers), raw chunk records with page checksums, and
// packing compressed chunks back to back into runs (spec §10, §24).

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
export function rawChunk(io: PageIO, page: number, bytes: Uint8Array, summed = true): ChunkRecord {
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
