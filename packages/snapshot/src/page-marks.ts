import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { BlockVisitor } from './block-visitor.js'

/**
 * One bit per page of a container (32 KiB per GiB): the pages some set of roots reaches. Its
 * {@link visitor} marks every block it is shown and skips blocks marked already, so walking
 * several roots that share subtrees reads each shared page once.
 */
export class PageMarks {
  readonly totalPages: number
  readonly #bits: Uint8Array
  #count = 0

  constructor(totalPages: number) {
    this.totalPages = totalPages
    this.#bits = new Uint8Array(Math.ceil(totalPages / 8))
  }

  /** Marked pages. */
  get count(): number {
    return this.#count
  }

  has(page: number): boolean {
    return (this.#bits[page >> 3] & (1 << (page & 7))) !== 0
  }

  /**
   * Marks `count` pages from `page`; returns false (and marks nothing) when the first is marked already.
   * @throws CartridgeError `CARTRIDGE_CORRUPT` for pages outside the container
   */
  mark(page: number, count: number): boolean {
    if (page < 0 || page + count > this.totalPages) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `a block at pages ${page}..${page + count - 1} lies outside the container (${this.totalPages} pages)`, { page })
    }
    if (this.has(page)) return false
    for (let p = page; p < page + count; p++) {
      const bit = 1 << (p & 7)
      if ((this.#bits[p >> 3] & bit) === 0) {
        this.#bits[p >> 3] |= bit
        this.#count++
      }
    }
    return true
  }

  /** A visitor that marks what it reaches and does not descend into marked blocks. */
  visitor(): BlockVisitor {
    const v: BlockVisitor = { enter: (page, count) => (this.mark(page, count) ? v : null) }
    return v
  }
}
