import type { BlockPtr } from './block-pointer.js'
import { PAGE_SIZE, sealPage, type PageType } from './page-format.js'

/**
 * What a copy-on-write structure (catalog, chunk map, free map) needs from the transaction
 * being built: verified reads of committed pages, page allocation, and staging of new pages.
 * The engine implements it over the page store, the cache and the allocator.
 */
export interface PageIO {
  /** The transaction id new pages are born in. */
  readonly txn: number
  /** Reads and verifies the page `ptr` points to (possibly from cache). Do not mutate the result. */
  read(ptr: BlockPtr, type: PageType | readonly PageType[]): Uint8Array
  /** Allocates `count` contiguous pages for this transaction. */
  allocate(count: number): number
  /** Releases a page the state being built no longer references. */
  free(ptr: BlockPtr): void
  /** Stages a sealed page for writing at commit. */
  stage(pageNo: number, page: Uint8Array): void
}

/**
 * Allocates a page, lets `fill` write the payload of a fresh zeroed page buffer, seals the header
 * and stages it. Returns the pointer a parent stores.
 */
export function writeNode(
  io: PageIO,
  type: PageType,
  level: number,
  count: number,
  used: number,
  fill: (page: Uint8Array) => void,
  pageNo: number = io.allocate(1),
  aux = 0,
): BlockPtr {
  const page = new Uint8Array(PAGE_SIZE)
  fill(page)
  const checksum = sealPage(page, { type, level, count, txn: io.txn, pageNo, used })
  io.stage(pageNo, page)
  return { page: pageNo, txn: io.txn, checksum, aux }
}
