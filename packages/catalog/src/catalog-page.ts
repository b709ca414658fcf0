import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_SIZE, PageType, sealPage, type BlockPtr, type PageIO } from '@cartridge/pager'
import type { BranchNode, LeafNode } from './catalog-node.js'
import { encodeBranch, encodeLeaf, readNode } from './node-codec.js'
import { fromSortKey } from './sort-key.js'

/** A committed catalog page, parsed: a leaf's entries or a branch's children. */
export type CatalogPage =
  | { readonly leaf: true; readonly level: 0; readonly keys: string[]; readonly values: Uint8Array[]; readonly node: LeafNode }
  | { readonly leaf: false; readonly level: number; readonly children: BlockPtr[]; readonly node: BranchNode }

/**
 * Reads and verifies one committed catalog page (at any level) for walks that follow every
 * pointer: space accounting, reclaiming, relocation. `keys` are paths.
 */
export function readCatalogPage(io: Pick<PageIO, 'read'>, ptr: BlockPtr): CatalogPage {
  const node = readNode(io, ptr)
  if (node.leaf) return { leaf: true, level: 0, keys: node.keys.map(fromSortKey), values: node.values, node }
  return { leaf: false, level: node.level, children: node.children as BlockPtr[], node }
}

/**
 * Writes a copy of a catalog page at page `pageNo`, keeping its birth txn (`ptr.txn`), with a
 * leaf's values or a branch's children replaced. A value must keep its length. For moving pages
 * without changing what they say (vacuum); the caller syncs the copies before any meta page
 * points at them, since recovery verifies only pages born after the last durable commit.
 * @returns the pointer a parent stores for the copy
 */
export function copyCatalogPage(
  stage: (pageNo: number, page: Uint8Array) => void, page: CatalogPage, ptr: BlockPtr, pageNo: number, replace: readonly Uint8Array[] | readonly BlockPtr[],
): BlockPtr {
  const out = new Uint8Array(PAGE_SIZE)
  let used: number
  let count: number
  if (page.leaf) {
    const values = replace as readonly Uint8Array[]
    if (values.length !== page.values.length || values.some((v, i) => v.length !== page.values[i].length)) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a copied catalog leaf must keep its value lengths')
    }
    const node = page.node.clone(0)
    node.values = values.slice()
    used = encodeLeaf(node, out)
    count = values.length
  } else {
    const children = replace as readonly BlockPtr[]
    if (children.length !== page.children.length) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a copied catalog branch must keep its children')
    used = encodeBranch(page.node, children, out)
    count = children.length
  }
  const type = page.leaf ? PageType.CATALOG_LEAF : PageType.CATALOG_BRANCH
  const checksum = sealPage(out, { type, level: page.level, count, txn: ptr.txn, pageNo, used })
  stage(pageNo, out)
  return { page: pageNo, txn: ptr.txn, checksum, aux: ptr.aux }
}
