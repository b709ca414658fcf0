import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { PageStore } from './page-store.js'
import { PAGE_SIZE } from './page-format.js'

/** A page store in process memory. Grows by doubling its buffer; `sync()` is a no-op. */
export class MemoryPageStore implements PageStore {
  readonly pageSize = PAGE_SIZE
  readonly readOnly = false
  #buf: Uint8Array
  #pages: number
  #closed = false

  /** @param image optional initial bytes (copied), e.g. a crash image */
  constructor(image?: Uint8Array) {
    const pages = image ? Math.ceil(image.length / PAGE_SIZE) : 0
    this.#buf = new Uint8Array(Math.max(pages, 4) * PAGE_SIZE)
    if (image) this.#buf.set(image)
    this.#pages = pages
  }

  pageCount(): number {
    this.#check()
    return this.#pages
  }

  read(pageNo: number, into: Uint8Array): void {
    this.#check()
    const start = pageNo * PAGE_SIZE
    const end = Math.min(start + into.length, this.#pages * PAGE_SIZE)
    if (end > start) into.set(this.#buf.subarray(start, end))
    if (end - start < into.length) into.fill(0, Math.max(0, end - start))
  }

  write(pageNo: number, data: Uint8Array): void {
    this.#check()
    const pages = pageNo + Math.ceil(data.length / PAGE_SIZE)
    if (pages > this.#pages) this.resize(pages)
    this.#buf.set(data, pageNo * PAGE_SIZE)
  }

  sync(): void {
    this.#check()
  }

  resize(pageCount: number): void {
    this.#check()
    const bytes = pageCount * PAGE_SIZE
    if (bytes > this.#buf.length) {
      const next = new Uint8Array(Math.max(bytes, this.#buf.length * 2))
      next.set(this.#buf.subarray(0, this.#pages * PAGE_SIZE))
      this.#buf = next
    } else if (pageCount < this.#pages) {
      this.#buf.fill(0, bytes, this.#pages * PAGE_SIZE)
    }
    this.#pages = pageCount
  }

  /** A copy of the store's bytes. */
  snapshot(): Uint8Array {
    return this.#buf.slice(0, this.#pages * PAGE_SIZE)
  }

  close(): void {
    this.#closed = true
  }

  #check(): void {
    if (this.#closed) throw new CartridgeError(ErrorCodes.CLOSED, 'page store is closed')
  }
}
