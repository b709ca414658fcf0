import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import {
  BLOCK_PTR_SIZE, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PAGE_SIZE, PageType, readBlockPtr, sealPage, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import { BRANCH_ENTRY_OVERHEAD } from './limits.js'
import type { BranchNode, LeafNode } from './catalog-node.js'
import type { LeafLayout } from './leaf-layout.js'
import { catalogPageTypes, corrupt, encodeBranch, entryPastPayload, readNode } from './node-codec.js'
import { referenceLeafLayout } from './reference-leaf.js'
import { fromSortKey } from './sort-key.js'
import type { CatalogPage, CatalogRefs } from './catalog-factory.js'


/**
 * Reads and verifies one committed catalog page (at any level) for walks that follow every
 * pointer: space accounting, reclaiming, relocation. `keys` are paths. `layout` is the catalog's
 * leaf layout (default: the reference, §9).
 */
export function readCatalogPage(io: Pick<PageIO, 'read'>, ptr: BlockPtr, layout: LeafLayout = referenceLeafLayout): CatalogPage {
  const node = readNode(io, ptr, layout)
  if (node.leaf) return { leaf: true, level: 0, keys: node.keys.map(fromSortKey), values: node.values, node }
  return { leaf: false, level: node.level, children: node.children as BlockPtr[], node }
}


/**
 * Reads and verifies one committed catalog page and returns only what it points to, without
 * decoding keys: for walks that visit every block (marking, space accounting). Lengths are
 * checked; key order is not (a full read, {@link readCatalogPage}, checks it). Values are views
 * into the cached page: use them before the next read. `layout` is the catalog's leaf layout
 * (default: the reference, §9).
 * @throws CartridgeError `CARTRIDGE_CHECKSUM` or `CARTRIDGE_CORRUPT` naming the page
 */
export function readCatalogRefs(io: Pick<PageIO, 'read'>, ptr: BlockPtr, layout: LeafLayout = referenceLeafLayout): CatalogRefs {
  const page = io.read(ptr, catalogPageTypes(layout))
  const v = viewOf(page)
  const count = v.getUint16(6, true)
  const end = PAGE_HEADER_SIZE + Math.min(v.getUint32(24, true), PAGE_PAYLOAD)
  if (page[4] === layout.type) return { leaf: true, values: layout.values(page, count, end, ptr) }
  // A reader may hand back a cached page without checking its type again.
  if (page[4] !== PageType.CATALOG_BRANCH) corrupt(ptr.page, `not a catalog page (type ${page[4]})`)
  let off = PAGE_HEADER_SIZE
  const children = new Array<BlockPtr>(count)
  if (count < 1 || off + BLOCK_PTR_SIZE > end) entryPastPayload(ptr.page)
  children[0] = readBlockPtr(v, off)
  off += BLOCK_PTR_SIZE
  for (let i = 1; i < count; i++) {
    if (off + BRANCH_ENTRY_OVERHEAD > end) entryPastPayload(ptr.page)
    off += 2 + v.getUint16(off, true)
    if (off + BLOCK_PTR_SIZE > end) entryPastPayload(ptr.page)
    children[i] = readBlockPtr(v, off)
    off += BLOCK_PTR_SIZE
  }
  return { leaf: false, children }
}

/**
 * Writes a copy of a catalog page at page `pageNo`, keeping its birth txn (`ptr.txn`), with a
 * leaf's values or a branch's children replaced. A value must keep its length. For moving pages
 * without changing what they say (vacuum); the caller syncs the copies before any meta page
 * points at them, since recovery verifies only pages born after the last durable commit.
 * `layout` is the catalog's leaf layout (default: the reference, §9); a leaf copy is encoded by
 * it from the same keys and value lengths, so it fits as the original did.
 * @returns the pointer a parent stores for the copy
 */
export function copyCatalogPage(
  stage: (pageNo: number, page: Uint8Array) => void, page: CatalogPage, ptr: BlockPtr, pageNo: number, replace: readonly Uint8Array[] | readonly BlockPtr[],
  layout: LeafLayout = referenceLeafLayout,
): BlockPtr {
  const out = new Uint8Array(PAGE_SIZE)
  let used: number
  let count: number
  if (page.leaf) {
    const values = replace as readonly Uint8Array[]
    if (values.length !== page.values.length || values.some((v, i) => v.length !== page.values[i].length)) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a copied catalog leaf must keep its value lengths')
    }
    const node = (page.node as LeafNode).clone(0)
    node.values = values.slice()
    used = layout.encode(node, out)
    count = values.length
  } else {
    const children = replace as readonly BlockPtr[]
    if (children.length !== page.children.length) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a copied catalog branch must keep its children')
    used = encodeBranch(page.node as BranchNode, children, out)
    count = children.length
  }
  const type = page.leaf ? layout.type : PageType.CATALOG_BRANCH
  const checksum = sealPage(out, { type, level: page.level, count, txn: ptr.txn, pageNo, used })
  stage(pageNo, out)
  return { page: pageNo, txn: ptr.txn, checksum, aux: ptr.aux }
}
