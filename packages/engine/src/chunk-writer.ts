import { createHash, type Hash } from 'node:crypto'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_SIZE } from '@cartridge/pager'
import type { Engine } from './engine.js'
import { CHUNK_SHIFT, INLINE_MAX, PAGED_CHUNK_SHIFT, type ChunkRecord } from './file-record.js'
import type { Codec } from '@cartridge/codec'
import { ChunkGroup, GROUP_BYTES, sealStored, storeChunk } from './chunk-store.js'
import { chunkPages } from './chunk-load.js'
import { recordFor } from './chunk-map.js'

/**
 * Streams a file into the container: each full 64 KiB chunk goes to pages reserved outside any
 * transaction (free in every committed state, so a crash leaks nothing); `finish()` claims them
 * and installs the file record in one atomic operation.
 */
export class ChunkWriter {
  readonly #engine: Engine
  readonly #mutate: <T>(op: (e: Engine) => T) => Promise<T>
  readonly #path: string
  readonly #shift: number
  readonly #buf: Uint8Array
  #fill = 0
  #size = 0
  #chunks: ChunkRecord[] = []
  #done = false
  /** Index in the file of the next chunk. */
  #index = 0
  readonly #codec: Codec | undefined
  /** Compressed chunks not yet stored: packed into one run when it fills or the stream ends. */
  readonly #group = new ChunkGroup()
  /** SHA-256 of the content so far, for the audit log's entry (when the log is on). */
  readonly #hash: Hash | undefined

  /**
   * `paged`: store 4 KiB chunks (the layout of SQLite database files) instead of 64 KiB.
   * `codec`: compress each 64 KiB chunk that shrinks (paged files are never compressed).
   */
  /** Called with the file's final size before it is installed; throws to refuse (an access policy's size conditions). */
  readonly #check: ((size: number) => void) | undefined

  constructor(engine: Engine, mutate: <T>(op: (e: Engine) => T) => Promise<T>, path: string, paged = false, codec?: Codec, check?: (size: number) => void) {
    this.#check = check
    this.#shift = paged ? PAGED_CHUNK_SHIFT : CHUNK_SHIFT
    this.#codec = paged ? undefined : codec
    this.#buf = new Uint8Array(1 << this.#shift)
    this.#engine = engine
    this.#mutate = mutate
    this.#path = path
    this.#hash = engine.audit.enabled ? createHash('sha256') : undefined
  }

  /** Adds bytes; stores every chunk that fills up. */
  async push(data: Uint8Array): Promise<void> {
    if (this.#done) throw new CartridgeError(ErrorCodes.CLOSED, 'write stream has ended', { path: this.#path })
    this.#hash?.update(data)
    let off = 0
    while (off < data.length) {
      const take = Math.min(this.#buf.length - this.#fill, data.length - off)
      this.#buf.set(data.subarray(off, off + take), this.#fill)
      this.#fill += take
      off += take
      this.#size += take
      if (this.#fill === this.#buf.length) await this.#storeChunk()
    }
  }

  async #storeChunk(): Promise<void> {
    const bytes = this.#buf.subarray(0, this.#fill)
    const index = this.#index++
    const packed = this.#codec?.compress(bytes)
    if (packed || this.#engine.cipher) {
      const codec = packed ? this.#codec!.id : 0
      const { stored, seal } = sealStored(this.#engine, packed ?? bytes, index, bytes.length, codec)
      this.#fill = 0
      this.#group.add(stored === bytes ? bytes.slice() : stored, bytes.length, codec, seal)
      if (this.#group.bytes >= GROUP_BYTES) await this.#storeGroup()
      return
    }
    await this.#storeGroup()
    const page = await this.#reserve(Math.ceil(bytes.length / PAGE_SIZE))
    this.#chunks.push(storeChunk(this.#engine, page, bytes, index, this.#shift !== CHUNK_SHIFT))
    this.#fill = 0
  }

  /** Stores the compressed chunks waiting in the group as one packed run. */
  async #storeGroup(): Promise<void> {
    if (this.#group.size === 0) return
    const page = await this.#reserve(this.#group.pages)
    this.#engine.store.write(page, this.#group.concat())
    this.#chunks.push(...this.#group.take(page, this.#engine.txn))
  }

  /** Reserves a run of `pages` free pages outside any transaction, growing the container when needed. */
  async #reserve(pages: number): Promise<number> {
    let page = this.#engine.reserveRun(pages)
    for (let attempt = 0; page === undefined; attempt++) {
      // Growth is committed on its own: a bigger container is harmless if the stream fails later.
      const before = this.#engine.alloc.totalPages
      await this.#mutate((e) => e.ensureFree(pages))
      page = this.#engine.reserveRun(pages)
      // Room was made without growing, and the commit that made it (or a writer in between)
      // took it again, twice: the container is full.
      if (page === undefined && attempt > 0 && this.#engine.alloc.totalPages === before) {
        throw new CartridgeError(ErrorCodes.FULL, `container is full: no room for a run of ${pages} pages`)
      }
    }
    return page
  }

  /** Stores the tail and installs the file atomically. */
  async finish(): Promise<void> {
    if (this.#check) {
      try {
        this.#check(this.#size)
      } catch (err) {
        this.abort()
        throw err
      }
    }
    if (this.#size <= INLINE_MAX && this.#shift === CHUNK_SHIFT) {
      const data = this.#buf.slice(0, this.#fill)
      this.#done = true
      await this.#mutate((e) => e.files.writeFile(this.#path, data))
      return
    }
    if (this.#fill > 0) await this.#storeChunk()
    await this.#storeGroup()
    this.#done = true
    try {
      await this.#mutate((e) => {
        for (const c of this.#chunks) if (chunkPages(c) > 0) e.alloc.claim(c.page, chunkPages(c))
        const now = Date.now()
        const chunks = this.#chunks.map((c) => ({ ...c, txn: e.txn }))
        const old = e.files.record(this.#path)
        const rec = recordFor(e, this.#size, chunks, old?.created ?? now, now, this.#shift)
        e.files.putRecord(this.#path, rec, old, this.#hash ? new Uint8Array(this.#hash.copy().digest()) : undefined)
      })
    } catch (err) {
      this.abort()
      throw err
    }
    this.#chunks = []
  }

  /** Gives reserved pages back (after a failure or destroy). */
  abort(): void {
    this.#done = true
    for (const c of this.#chunks) if (chunkPages(c) > 0) this.#engine.alloc.unreserve(c.page, chunkPages(c))
    this.#chunks = []
  }
}
