import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { PageStore } from './page-store.js'
import { PAGE_SIZE } from './page-format.js'

/**
 * A {@link PageStore} decorator that merges writes landing back to back into one write of up to
 * `maxRunBytes` (default 8 MiB), so thousands of small files written in one transaction cost a
 * few system calls instead of thousands. Pending bytes are written before any read, resize, sync
 * or close, so callers see exactly the semantics of the wrapped store.
 */
export class CoalescingPageStore implements PageStore {
  readonly pageSize = PAGE_SIZE
  readonly inner: PageStore
  readonly #max: number
  #run: Uint8Array
  #runPage = -1
  #runBytes = 0
  #closed = false
  /**
   * Passes {@link PageStore.prewrite} on (after the pending bytes); present only when the wrapped
   * store has it, so callers can tell that prewriting gains nothing.
   */
  readonly prewrite?: (pageNo: number, count: number) => void

  constructor(inner: PageStore, maxRunBytes = 8 * 1024 * 1024) {
    this.inner = inner
    this.#max = maxRunBytes
    this.#run = new Uint8Array(Math.min(maxRunBytes, 1024 * 1024))
    if (inner.prewrite) {
      this.prewrite = (pageNo, count) => {
        this.flush()
        inner.prewrite!(pageNo, count)
      }
    }
  }

  get readOnly(): boolean {
    return this.inner.readOnly
  }

  pageCount(): number {
    const pending = this.#runPage < 0 ? 0 : this.#runPage + Math.ceil(this.#runBytes / PAGE_SIZE)
    return Math.max(this.inner.pageCount(), pending)
  }

  read(pageNo: number, into: Uint8Array): void {
    this.flush()
    this.inner.read(pageNo, into)
  }

  write(pageNo: number, data: Uint8Array): void {
    if (this.#closed) throw new CartridgeError(ErrorCodes.CLOSED, 'page store is closed')
    const appends = this.#runPage >= 0 && this.#runBytes % PAGE_SIZE === 0 && pageNo === this.#runPage + this.#runBytes / PAGE_SIZE
    if (!appends || this.#runBytes + data.length > this.#max) this.flush()
    if (data.length >= this.#max) {
      this.inner.write(pageNo, data)
      return
    }
    if (this.#runPage < 0) this.#runPage = pageNo
    if (this.#runBytes + data.length > this.#run.length) {
      const grown = new Uint8Array(Math.min(this.#max, Math.max(this.#run.length * 2, this.#runBytes + data.length)))
      grown.set(this.#run.subarray(0, this.#runBytes))
      this.#run = grown
    }
    this.#run.set(data, this.#runBytes)
    this.#runBytes += data.length
  }

  /** Writes pending bytes to the wrapped store. */
  flush(): void {
    if (this.#runPage < 0) return
    const page = this.#runPage
    const bytes = this.#run.subarray(0, this.#runBytes)
    this.#runPage = -1
    this.#runBytes = 0
    this.inner.write(page, bytes)
  }

  sync(): void {
    this.flush()
    this.inner.sync()
  }

  resize(pageCount: number): void {
    this.flush()
    this.inner.resize(pageCount)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.flush()
    } finally {
      this.inner.close()
    }
  }
}
