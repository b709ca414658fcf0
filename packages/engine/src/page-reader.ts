import { CartridgeError, ErrorCodes, getU64, viewOf } from '@cartridge/core'
import { PAGE_SIZE, verifyPage, type BlockPtr, type PageIO, type PageType, type Pager } from '@cartridge/pager'
import type { Cache } from '@cartridge/arc-cache'
import type { ContainerCipher } from '@cartridge/crypto'
import type { CacheFactory } from './engine-options.js'

interface CachedPage {
  txn: number
  checksum: number
  page: Uint8Array
}

/**
 * Verified reads of structure pages: a page staged by the transaction being built, else a cached
 * page of the same birth txn and checksum, else the store's bytes, opened (in an encrypted
 * container) and checked against the pointer that reached them. Holds the two caches of the
 * buffer pool: pages (a quarter) and decoded catalog nodes (the rest, filled by the catalog).
 */
export class PageReader {
  /** Decoded catalog nodes, for the catalog implementation to use. */
  readonly nodeCache: Cache<number, unknown>
  readonly #pageCache: Cache<number, unknown>
  readonly #pager: Pager
  readonly #limit: () => number
  readonly #cipher: () => ContainerCipher | undefined
  /** The one page block walks read catalog nodes into (see {@link walkNodes}). */
  readonly #walkPage = new Uint8Array(PAGE_SIZE)
  readonly #walkNodes: Pick<PageIO, 'read'> = { read: (ptr, type) => this.#read(ptr, type, this.#walkPage) }

  /**
   * @param pager - staged pages and the store to read
   * @param limit - pages of the container: a pointer at or past it is damage
   * @param cipher - the data key's cipher of an encrypted container
   */
  constructor(pager: Pager, cache: CacheFactory, bufferPoolSize: number, limit: () => number, cipher: () => ContainerCipher | undefined) {
    this.#pager = pager
    this.#limit = limit
    this.#cipher = cipher
    this.nodeCache = cache(Math.max(16, Math.floor(bufferPoolSize * 0.75)))
    this.#pageCache = cache(Math.max(16, Math.floor(bufferPoolSize * 0.25)))
  }

  /** Reads and verifies the page `ptr` points to, expecting `type`; caches it. */
  read(ptr: BlockPtr, type: PageType | readonly PageType[]): Uint8Array {
    return this.#read(ptr, type, undefined)
  }

  /**
   * Reads catalog nodes for one-pass walks over many of them (snapshot deletion and listing,
   * marking): a staged or cached page as it is, else read and verified into one scratch page and
   * not cached, so such a walk neither allocates a page per node nor pushes the pages other
   * reads use out of the cache. A result is valid until the next read through it.
   */
  get walkNodes(): Pick<PageIO, 'read'> {
    return this.#walkNodes
  }

  /** Keeps a page a commit wrote (a log's last page and the nodes above it are read again by the next commit). */
  remember(pageNo: number, page: Uint8Array): void {
    const v = viewOf(page)
    this.#pageCache.set(pageNo, { txn: getU64(v, 8), checksum: v.getUint32(0, true), page } satisfies CachedPage)
  }

  /** Forgets cached pages and catalog nodes. */
  clear(): void {
    this.#pageCache.clear()
    this.nodeCache.clear()
  }

  #read(ptr: BlockPtr, type: PageType | readonly PageType[], scratch: Uint8Array | undefined): Uint8Array {
    const limit = this.#limit()
    if (!(ptr.page >= 2 && ptr.page < limit)) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `a pointer to page ${ptr.page} lies outside the container (${limit} pages)`, { page: ptr.page })
    }
    const staged = this.#pager.staged(ptr.page)
    if (staged) {
      verifyPage(staged, ptr, type)
      return staged
    }
    const hit = this.#pageCache.get(ptr.page) as CachedPage | undefined
    if (hit && hit.txn === ptr.txn && hit.checksum === ptr.checksum) return hit.page
    let page: Uint8Array = scratch ?? new Uint8Array(PAGE_SIZE)
    this.#pager.direct.read(ptr.page, page)
    const cipher = this.#cipher()
    if (cipher) {
      const plain = cipher.openPage(page, ptr.page, ptr.txn, page)
      if (!plain) throw new CartridgeError(ErrorCodes.AUTH_FAILED, `page ${ptr.page} failed authentication: the container was changed or damaged`, { page: ptr.page })
      page = plain
      try {
        verifyPage(page, ptr, type)
      } catch (err) {
        // An authentic page that is not what its parent points to: another version put in its place.
        throw new CartridgeError(ErrorCodes.AUTH_FAILED, `page ${ptr.page} failed authentication: ${(err as Error).message}`, { page: ptr.page, cause: err })
      }
    } else verifyPage(page, ptr, type)
    if (!scratch) this.#pageCache.set(ptr.page, { txn: ptr.txn, checksum: ptr.checksum, page } satisfies CachedPage)
    return page
  }
}
