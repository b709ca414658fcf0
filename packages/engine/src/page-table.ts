import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { lookupPointerTree, type PageIO } from '@cartridge/pager'
import { RecordKind, type ChunkRecord, type FileRecord } from './file-record.js'
import { checkChunk, readMapLeaf, recordsPerLeaf } from './chunk-map.js'
import { rawChunkRecord, sealedRecord } from './chunk-store.js'

/**
 * Where each page of one paged file lives, decoded once: container page, birth txn, checksum and
 * length per file page, filled a chunk-map leaf at a time on first use. After a commit that
 * rewrote some pages only the leaves holding them are decoded again (the rest of the map is
 * shared with the previous version).
 */
export class PageTable {
  record: FileRecord
  /** Records per chunk-map leaf. */
  #L: number
  #pages: Float64Array
  #txns: Float64Array
  #sums: Uint32Array
  #lens: Uint32Array
  #loaded: Uint8Array
  /** Nonce and tag of each page, for sealed records (encrypted containers). */
  #seals: ({ nonce: Uint8Array; tag: Uint8Array } | undefined)[] = []

  constructor(record: FileRecord) {
    this.record = record
    const n = record.chunkCount
    this.#L = recordsPerLeaf(record.sealed)
    this.#pages = new Float64Array(n)
    this.#txns = new Float64Array(n)
    this.#sums = new Uint32Array(n)
    this.#lens = new Uint32Array(n)
    this.#loaded = new Uint8Array(Math.ceil(n / this.#L))
  }

  /** Moves to `next`, a later version of the same file where only pages in `changed` (and pages at or past `from`) differ. */
  advance(next: FileRecord, changed: Iterable<number>, from: number): void {
    const n = next.chunkCount
    if (recordsPerLeaf(next.sealed) !== this.#L && next.chunkCount > 0 && this.record.chunkCount > 0) {
      throw new CartridgeError(ErrorCodes.CORRUPT, 'a paged file changed between sealed and plain records')
    }
    if (this.record.chunkCount === 0 && next.sealed) {
      this.#L = recordsPerLeaf(true)
      this.#loaded = new Uint8Array(0)
    }
    if (n !== this.record.chunkCount) {
      const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const b = make(n)
        b.set(a.subarray(0, Math.min(n, a.length)))
        return b
      }
      this.#pages = grow(this.#pages, (k) => new Float64Array(k))
      this.#txns = grow(this.#txns, (k) => new Float64Array(k))
      this.#sums = grow(this.#sums, (k) => new Uint32Array(k))
      this.#lens = grow(this.#lens, (k) => new Uint32Array(k))
      const loaded = new Uint8Array(Math.ceil(n / this.#L))
      loaded.set(this.#loaded.subarray(0, loaded.length))
      this.#loaded = loaded
    }
    for (const i of changed) if (i < n) this.#loaded[Math.floor(i / this.#L)] = 0
    for (let leaf = Math.floor(Math.min(from, this.record.chunkCount, n) / this.#L); leaf < this.#loaded.length; leaf++) this.#loaded[leaf] = 0
    // The previous last leaf may have grown or shrunk.
    if (this.record.chunkCount > 0) {
      const lastOld = Math.floor((this.record.chunkCount - 1) / this.#L)
      if (lastOld < this.#loaded.length) this.#loaded[lastOld] = 0
    }
    if (next.kind !== RecordKind.MAP || this.record.kind !== RecordKind.MAP) this.#loaded.fill(0)
    this.record = next
  }

  /** Location of page `i` (which must be below the record's chunk count). */
  locate(io: Pick<PageIO, 'read'>, i: number, path: string): ChunkRecord {
    const leaf = Math.floor(i / this.#L)
    if (!this.#loaded[leaf]) this.#load(io, leaf, path)
    const raw = rawChunkRecord(this.#pages[i], this.#txns[i], this.#lens[i], this.#sums[i])
    const seal = this.#seals[i]
    return seal ? sealedRecord(raw, seal) : raw
  }

  #load(io: Pick<PageIO, 'read'>, leaf: number, path: string): void {
    const r = this.record
    const first = leaf * this.#L
    const last = Math.min(r.chunkCount, first + this.#L)
    if (r.kind === RecordKind.DIRECT) {
      for (let i = first; i < last; i++) this.#set(i, checkChunk(r.chunks![i], i, r, path))
    } else {
      const ptr = lookupPointerTree(io, r.map!, leaf)
      const recs = readMapLeaf(io, ptr)
      if (recs.length !== last - first) {
        throw new CartridgeError(ErrorCodes.CORRUPT, `chunk map page ${ptr.page} of ${path} holds the wrong number of records`, { path, page: ptr.page })
      }
      for (let i = first; i < last; i++) this.#set(i, checkChunk(recs[i - first], i, r, path))
    }
    this.#loaded[leaf] = 1
  }

  #set(i: number, c: ChunkRecord): void {
    if (c.codec !== 0 || (c.cipher !== 0 && !c.tag)) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `page ${i} uses an unsupported codec or cipher`)
    this.#seals[i] = c.cipher !== 0 ? { nonce: c.nonce, tag: c.tag! } : undefined
    this.#pages[i] = c.page
    this.#txns[i] = c.txn
    this.#sums[i] = c.checksum
    this.#lens[i] = c.storedLength
  }
}
