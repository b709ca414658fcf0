import type { BlockPtr, PageIO } from '@cartridge/pager'
import type { Catalog } from './catalog.js'
import type { NodeCache } from './node-store.js'
import type { VisitCatalogOptions } from './visit-catalog.js'

/** Options of {@link CatalogFactory.open}. */
export interface CatalogOpenOptions {
  /** Keeps parsed clean nodes by page number; entries must be checked against each pointer before use. */
  cache?: NodeCache
}

/** What one committed catalog page points to: a leaf's values (file records) or a branch's children. */
export type CatalogRefs = { readonly leaf: true; readonly values: Uint8Array[] } | { readonly leaf: false; readonly children: BlockPtr[] }

/**
 * A committed catalog page read for relocation: its values (with their keys) or its children.
 * `node` is the implementation's own parsed form, handed back to {@link CatalogFactory.copyPage}.
 */
export type CatalogPage =
  | { readonly leaf: true; readonly level: 0; readonly keys: string[]; readonly values: Uint8Array[]; readonly node: unknown }
  | { readonly leaf: false; readonly level: number; readonly children: BlockPtr[]; readonly node: unknown }

/**
 * A catalog implementation as a container uses it: how to open one at a committed root, and how
 * to walk and move its pages without opening it (recovery, `check`, snapshot accounting, vacuum).
 *
 * The container records {@link id} in its meta page and, when opened, picks the factory with
 * that id among the reference and the one passed in the open options, or fails with
 * `CARTRIDGE_UNSUPPORTED` naming the id. Any implementation
 * passes the conformance suite `runCatalogSuite` of `@cartridge/catalog/test`.
 *
 * The pages an implementation writes carry the common page header (§7 of `spec/FORMAT.md`), are
 * written through the given `PageIO` and freed through it once each, like every other structure.
 */
export interface CatalogFactory {
  /**
   * Stable id recorded in the meta page: 1–16 bytes of lowercase ASCII letters, digits and
   * hyphens. `btree` is the reference; containers that record no id were written with it.
   */
  readonly id: string
  /** The catalog whose committed root is `root` (`NULL_PTR`: empty), changed through `io`. */
  open(io: PageIO, root: BlockPtr, options?: CatalogOpenOptions): Catalog
  /**
   * Walks the committed tree at `root`, reading and so verifying every page it visits, and checks
   * its structure (see {@link VisitCatalogOptions}).
   * @throws CartridgeError `CARTRIDGE_CHECKSUM` or `CARTRIDGE_CORRUPT` naming the bad page
   */
  visit(io: Pick<PageIO, 'read'>, root: BlockPtr, options?: VisitCatalogOptions): void
  /**
   * Reads and verifies one committed page and returns only what it points to (no keys decoded):
   * for walks that visit every block. Values may be views into the page read.
   */
  refs(io: Pick<PageIO, 'read'>, ptr: BlockPtr): CatalogRefs
  /** Reads and verifies one committed page with its keys, for relocation. */
  readPage(io: Pick<PageIO, 'read'>, ptr: BlockPtr): CatalogPage
  /**
   * Stages (through `stage`) a copy of `page` (read from `ptr`) at page `pageNo`, its values or
   * children replaced by `replace` (same count, and for values the same lengths), keeping the
   * birth txn of `ptr`. Returns the pointer a parent stores for the copy.
   */
  copyPage(
    stage: (pageNo: number, page: Uint8Array) => void, page: CatalogPage, ptr: BlockPtr, pageNo: number,
    replace: readonly Uint8Array[] | readonly BlockPtr[],
  ): BlockPtr
}
