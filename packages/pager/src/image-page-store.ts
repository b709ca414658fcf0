import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { PageStore } from './page-store.js'
import { PAGE_SIZE } from './page-format.js'

/** The most pages one read covers while loading: 1 MiB. */
const MAX_RUN_PAGES = (1024 * 1024) / PAGE_SIZE

/**
 * A {@link PageStore} that holds the whole container in memory in front of the store it wraps:
 * construction reads every page of the wrapped store into one buffer, and reads are served from
 * that buffer alone. Writes go to both at once (write-through), and `sync()` syncs the wrapped
 * store, so every guarantee of the wrapped store holds unchanged: what a commit wrote reaches the
 * operating system when the commit returns (a killed process keeps it, and a reader in another
 * process sees it), and what was synced survives a power cut.
 *
 * Choosing this store means choosing to spend memory: it holds as many bytes as the container
 * has (up to half as much again while it grows, as the buffer grows by half at a time). It suits
 * containers that fit comfortably in memory and are read far more than they are written. The
 * image is taken once: changes another process makes to the wrapped store later are not seen.
 */
export class ImagePageStore implements PageStore {
  readonly pageSize = PAGE_SIZE
  /** The wrapped store: read once when constructed; every write, resize and sync goes to it too. */
  readonly inner: PageStore
  #buf: Uint8Array
  #pages: number
  #closed = false

  /**
   * Passes {@link PageStore.prewrite} on and zeros those pages in the image too, so the image
   * stays what the wrapped store holds; present only when the wrapped store has it.
   */
  readonly prewrite?: (pageNo: number, count: number) => void

  /** Reads all of `inner` into memory; from then on this store owns it (closing closes it). */
  constructor(inner: PageStore) {
    this.inner = inner
    if (inner.prewrite) this.prewrite = (pageNo, count) => this.#prewrite(pageNo, count)
    this.#pages = inner.pageCount()
    this.#buf = new Uint8Array(this.#pages * PAGE_SIZE)
    for (let p = 0; p < this.#pages; p += MAX_RUN_PAGES) {
      inner.read(p, this.#buf.subarray(p * PAGE_SIZE, Math.min(p + MAX_RUN_PAGES, this.#pages) * PAGE_SIZE))
    }
  }

  /** Whether writes are refused: as the wrapped store says. */
  get readOnly(): boolean {
    return this.inner.readOnly
  }

  /** Whole pages in the image. */
  pageCount(): number {
    this.#check()
    return this.#pages
  }

  /** Copies from the image; bytes past its end read as zero. Never touches the wrapped store. */
  read(pageNo: number, into: Uint8Array): void {
    this.#check()
    const start = pageNo * PAGE_SIZE
    const end = Math.min(start + into.length, this.#pages * PAGE_SIZE)
    if (end > start) into.set(this.#buf.subarray(start, end))
    if (end - start < into.length) into.fill(0, Math.max(0, end - start))
  }

  /** Writes `data` to the wrapped store, then into the image (a failed write leaves the image as it was). */
  write(pageNo: number, data: Uint8Array): void {
    this.#writable()
    const end = pageNo + Math.ceil(data.length / PAGE_SIZE)
    // Room in the image first: a write the image cannot hold must not reach the wrapped store either.
    this.#reserve(end)
    this.inner.write(pageNo, data)
    if (end > this.#pages) this.#pages = end
    this.#buf.set(data, pageNo * PAGE_SIZE)
  }

  /** Zeros pages of the image and passes the prewrite on (see {@link prewrite}). */
  #prewrite(pageNo: number, count: number): void {
    this.#writable()
    const from = Math.max(0, pageNo)
    const end = Math.min(pageNo + count, this.#pages)
    if (end <= from) return
    this.inner.prewrite!(from, end - from)
    this.#buf.fill(0, from * PAGE_SIZE, end * PAGE_SIZE)
  }

  /** Syncs the wrapped store (every write already reached it). */
  sync(): void {
    this.#writable()
    this.inner.sync()
  }

  /** Resizes the wrapped store, then the image (room for it is made first, so a failure changes neither). */
  resize(pageCount: number): void {
    this.#writable()
    this.#reserve(pageCount)
    this.inner.resize(pageCount)
    if (pageCount < this.#pages) this.#buf.fill(0, pageCount * PAGE_SIZE, this.#pages * PAGE_SIZE)
    this.#pages = pageCount
  }

  /** Drops the image and closes the wrapped store. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#buf = new Uint8Array(0)
    this.inner.close()
  }

  /** Makes the buffer hold at least `pages` pages (bytes past `#pages` are zero). */
  #reserve(pages: number): void {
    if (pages * PAGE_SIZE <= this.#buf.length) return
    let grown: Uint8Array
    try {
      grown = new Uint8Array(Math.max(pages, Math.ceil((this.#buf.length / PAGE_SIZE) * 1.5), 16) * PAGE_SIZE)
    } catch (err) {
      throw new CartridgeError(ErrorCodes.FULL, `the in-memory image cannot grow to ${pages} pages: ${(err as Error).message}`, { cause: err })
    }
    grown.set(this.#buf.subarray(0, this.#pages * PAGE_SIZE))
    this.#buf = grown
  }

  #check(): void {
    if (this.#closed) throw new CartridgeError(ErrorCodes.CLOSED, 'page store is closed')
  }

  #writable(): void {
    this.#check()
    if (this.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
  }
}
