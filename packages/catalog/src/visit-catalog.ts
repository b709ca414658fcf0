import { isNullPtr, type BlockPtr, type PageIO } from '@cartridge/pager'
import { childHigh, childLow } from './catalog-node.js'
import type { LeafLayout } from './leaf-layout.js'
import { readNode } from './node-codec.js'
import { referenceLeafLayout } from './reference-leaf.js'
import { fromSortKey } from './sort-key.js'

/** Options of {@link visitCatalog}. */
export interface VisitCatalogOptions {
  /** Visit only subtrees whose pointer's birth txn is greater (default -1: all). */
  minTxn?: number
  /** Called before a node is read: `true` leaves its subtree out (one already walked from another root). */
  skip?(ptr: BlockPtr): boolean
  /** Called for each visited node, parents first: its pointer, level, and keys (entry keys of a leaf, separators of a branch). */
  onNode?(ptr: BlockPtr, level: number, keys: string[]): void
  /** Called for each entry of each visited leaf, in key order. */
  onEntry?(key: string, value: Uint8Array): void
}

/**
 * Walks a committed catalog tree from `root`, reading and so verifying every page it visits (only
 * subtrees born after `minTxn` when given: what the last commit wrote, for crash recovery), and
 * checks the structure: levels step down by one, keys are ordered within and across pages, and
 * every key lies within its parent's separators. `layout` is the catalog's leaf layout (default:
 * the reference, §9).
 * @throws CartridgeError `CARTRIDGE_CHECKSUM` or `CARTRIDGE_CORRUPT` naming the bad page
 */
export function visitCatalog(io: Pick<PageIO, 'read'>, root: BlockPtr, options: VisitCatalogOptions = {}, layout: LeafLayout = referenceLeafLayout): void {
  const minTxn = options.minTxn ?? -1
  const { onNode, onEntry } = options
  const walk = (ptr: BlockPtr, level: number | undefined, lo: string | undefined, hi: string | undefined): void => {
    if (ptr.txn <= minTxn || options.skip?.(ptr)) return
    const node = readNode(io, ptr, layout, level, lo, hi)
    const keys = node.leaf ? node.keys : node.keys.slice(1)
    onNode?.(ptr, node.level, keys.map(fromSortKey))
    if (node.leaf) {
      if (onEntry) for (let i = 0; i < node.keys.length; i++) onEntry(fromSortKey(node.keys[i]), node.values[i])
      return
    }
    const children = node.children as BlockPtr[]
    for (let i = 0; i < children.length; i++) walk(children[i], node.level - 1, childLow(node, i, lo), childHigh(node, i, hi))
  }
  if (!isNullPtr(root)) walk(root, undefined, undefined, undefined)
}
