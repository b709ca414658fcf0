import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { BlockPtr } from './block-pointer.js'
import { PAGE_SIZE, verifyPage, type PageType } from './page-format.js'
import type { PageIO } from './page-io.js'

/**
 * A self-contained {@link PageIO} over a map of pages, for testing structures in isolation:
 * allocation hands out fresh page numbers (or reuses freed ones after {@link commit}), staged
 * pages become readable after `commit()`, and reads are verified like the engine's.
 */
export class MemoryPageIO implements PageIO {
  txn = 1
  readonly pages = new Map<number, Uint8Array>()
  /** Pages currently referenced (allocated and not freed). */
  readonly live = new Set<number>()
  #next = 2
  #staged = new Map<number, Uint8Array>()
  #freedThisTxn: number[] = []
  #reusable: number[] = []
  reads = 0

  read(ptr: BlockPtr, type: PageType | readonly PageType[]): Uint8Array {
    this.reads++
    const page = this.#staged.get(ptr.page) ?? this.pages.get(ptr.page)
    if (!page) throw new CartridgeError(ErrorCodes.CORRUPT, `page ${ptr.page} was never written`, { page: ptr.page })
    verifyPage(page, ptr, type)
    return page
  }

  allocate(count: number): number {
    if (count === 1 && this.#reusable.length > 0) {
      const p = this.#reusable.pop()!
      this.live.add(p)
      return p
    }
    const p = this.#next
    this.#next += count
    for (let i = 0; i < count; i++) this.live.add(p + i)
    return p
  }

  free(ptr: BlockPtr): void {
    if (!this.live.delete(ptr.page)) throw new CartridgeError(ErrorCodes.CORRUPT, `double free of page ${ptr.page}`, { page: ptr.page })
    this.#freedThisTxn.push(ptr.page)
  }

  stage(pageNo: number, page: Uint8Array): void {
    if (page.length !== PAGE_SIZE) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'stage takes whole pages')
    this.#staged.set(pageNo, page)
  }

  /** Makes staged pages readable, frees become reusable, and starts the next txn. */
  commit(): void {
    for (const [no, p] of this.#staged) this.pages.set(no, p)
    this.#staged.clear()
    this.#reusable.push(...this.#freedThisTxn)
    this.#freedThisTxn = []
    this.txn++
  }
}
