import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { NULL_PTR, isNullPtr, type BlockPtr, type PageIO } from '@cartridge/pager'
import type { Catalog, CatalogEntriesOptions, CatalogVersion } from './catalog.js'
import { isNode, type Child } from './catalog-node.js'
import type { LeafLayout } from './leaf-layout.js'
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.js'
import { NodeStore, type NodeCache } from './node-store.js'
import { referenceLeafLayout } from './reference-leaf.js'
import { removeEntry } from './tree-delete.js'
import { insertEntry } from './tree-insert.js'
import { toSortKey } from './sort-key.js'
import { iterateEntries, lookup } from './tree-read.js'
import { utf8Length } from './utf8-key.js'

/** Options of {@link BTreeCatalog}. */
export interface BTreeCatalogOptions {
  /** Keeps parsed clean nodes by page number; checked against each pointer before use. */
  cache?: NodeCache
  /**
   * How leaves lie in their pages: the reference layout of §9 (default), or another such as
   * `prefixLeafLayout`. Every page of one tree has the same layout.
   */
  layout?: LeafLayout
}

/** A version or savepoint of one BTreeCatalog. */
class CatalogToken implements CatalogVersion {
  constructor(
    readonly root: Child | null,
    readonly owner: BTreeCatalog,
    readonly epoch: number,
  ) {}
}

function invalid(message: string): never {
  throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, message)
}

const NON_ASCII = /[^\x00-\x7F]/

/**
 * The catalog as a copy-on-write B+tree in 4 KiB pages (page layout: §9 of `spec/FORMAT.md`;
 * leaves per {@link BTreeCatalogOptions.layout}).
 *
 * Committed nodes are loaded lazily through `io` and never changed: changing one clones it and
 * frees its page (`io.free`, once per page). Each {@link savepoint} or {@link version} starts a new
 * generation, so the nodes a token refers to stay untouched while later changes clone them; dirty
 * nodes get pages only at {@link flush}.
 */
export class BTreeCatalog implements Catalog {
  readonly #store: NodeStore
  #root: Child | null
  #flushed: Child | null
  #epoch = 0

  /**
   * @param io the transaction being built (a live object: `io.txn` moves on between commits)
   * @param root the committed root to start from (`NULL_PTR` for an empty catalog)
   */
  constructor(io: PageIO, root: BlockPtr, options: BTreeCatalogOptions = {}) {
    this.#store = new NodeStore(io, options.cache, options.layout ?? referenceLeafLayout)
    this.#root = this.#flushed = isNullPtr(root) ? null : { ...root }
  }

  get dirty(): boolean {
    return this.#root !== this.#flushed
  }

  get height(): number {
    const root = this.#root
    return root === null ? 0 : this.#store.load(root).level + 1
  }

  get(key: string, at?: CatalogVersion): Uint8Array | undefined {
    if (typeof key !== 'string') invalid('catalog key must be a string')
    return lookup(this.#store, this.#resolve(at), toSortKey(key))?.slice()
  }

  put(key: string, value: Uint8Array): void {
    if (typeof key !== 'string') invalid('catalog key must be a string')
    let sortKey = key
    let keyBytes = key.length
    if (NON_ASCII.test(key)) {
      keyBytes = utf8Length(key)
      if (keyBytes < 0) invalid('catalog key is not well-formed Unicode (lone surrogate)')
      sortKey = toSortKey(key)
    }
    if (keyBytes > MAX_KEY_BYTES) invalid(`catalog key is ${keyBytes} bytes, the limit is ${MAX_KEY_BYTES}`)
    if (!(value instanceof Uint8Array)) invalid('catalog value must be a Uint8Array')
    if (value.length > MAX_VALUE_BYTES) invalid(`catalog value is ${value.length} bytes, the limit is ${MAX_VALUE_BYTES}`)
    this.#root = insertEntry(this.#store, this.#root, sortKey, keyBytes, value.slice())
  }

  delete(key: string): boolean {
    if (typeof key !== 'string') invalid('catalog key must be a string')
    const root = this.#root
    const sortKey = toSortKey(key)
    if (root === null || lookup(this.#store, root, sortKey) === undefined) return false
    this.#root = removeEntry(this.#store, root, sortKey)
    return true
  }

  entries(options: CatalogEntriesOptions = {}): IterableIterator<[string, Uint8Array]> {
    const { from = '', prefix = '', at } = options
    if (typeof from !== 'string' || typeof prefix !== 'string') invalid('entries: from and prefix must be strings')
    const root = this.#resolve(at)
    if (at === undefined) this.#store.gen++ // later changes clone, so the iteration sees this state
    return iterateEntries(this.#store, root, toSortKey(from), toSortKey(prefix))
  }

  version(): CatalogVersion {
    return this.savepoint()
  }

  savepoint(): CatalogVersion {
    this.#store.gen++
    return new CatalogToken(this.#root, this, this.#epoch)
  }

  rollback(to: CatalogVersion): void {
    if (!(to instanceof CatalogToken) || to.owner !== this) invalid('rollback: not a savepoint of this catalog')
    if (to.epoch !== this.#epoch) invalid('rollback: the savepoint predates the last flush')
    this.#root = to.root
    this.#store.gen++
  }

  flush(): BlockPtr {
    if (this.dirty) this.#epoch++
    const root = this.#root
    const ptr = root === null ? NULL_PTR : isNode(root) ? this.#store.write(root) : root
    this.#flushed = root
    return { ...ptr }
  }

  /** The root of a version token, or of the working state. */
  #resolve(at: CatalogVersion | undefined): Child | null {
    if (at === undefined) return this.#root
    if (at instanceof CatalogToken) return at.root
    const r = (at as { root?: unknown } | null)?.root as BlockPtr | undefined
    if (r === null || typeof r !== 'object' || typeof r.page !== 'number') invalid('not a catalog version')
    return isNullPtr(r) ? null : r
  }
}
