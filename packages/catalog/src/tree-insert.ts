import { PAGE_PAYLOAD } from '@cartridge/pager'
import { BranchNode, LeafNode, childHigh, childIndex, childLow, searchKeys, type CatalogNode, type Child } from './catalog-node.js'
import { leafFits } from './leaf-layout.js'
import { BRANCH_BASE_BYTES, BRANCH_ENTRY_OVERHEAD, LEAF_ENTRY_OVERHEAD } from './limits.js'
import type { NodeStore } from './node-store.js'
import { splitBranch, splitLeaf, type Piece } from './node-split.js'
import { sortKeyUtf8Length } from './sort-key.js'

const NONE: readonly Piece[] = []

/**
 * Inserts or replaces `key` (a validated sort key of `keyBytes` UTF-8 bytes) in the tree at `root` and returns
 * the new root. Nodes on the path are made mutable (cloned when older than the current generation);
 * overfull nodes split, and a split root grows a new root above it.
 */
export function insertEntry(store: NodeStore, root: Child | null, key: string, keyBytes: number, value: Uint8Array): Child {
  if (root === null) return new LeafNode(store.gen, [key], [keyBytes], [value], LEAF_ENTRY_OVERHEAD + keyBytes + value.length)
  let node: CatalogNode = store.mutable(store.load(root))
  let pieces = insertInto(store, node, key, keyBytes, value, true, undefined, undefined)
  while (pieces.length > 0) {
    let bytes = BRANCH_BASE_BYTES
    for (const p of pieces) bytes += BRANCH_ENTRY_OVERHEAD + sortKeyUtf8Length(p.sep)
    const top: BranchNode = new BranchNode(store.gen, node.level + 1, ['', ...pieces.map((p) => p.sep)], [node, ...pieces.map((p) => p.node)], bytes)
    node = top
    pieces = top.bytes > PAGE_PAYLOAD ? splitBranch(top, store.gen) : NONE
  }
  return node
}

/**
 * Inserts into the subtree of mutable `node` (key range `[lo, hi)`) and returns the new right
 * siblings it split into. `rightmost` says the node is the last of its level: appending there cuts
 * pages full, not in half.
 */
function insertInto(
  store: NodeStore, node: CatalogNode, key: string, keyBytes: number, value: Uint8Array,
  rightmost: boolean, lo: string | undefined, hi: string | undefined,
): readonly Piece[] {
  if (node.leaf) {
    const layout = store.layout
    const found = searchKeys(node.keys, key)
    if (found >= 0) {
      node.bytes += value.length - node.values[found].length
      node.values[found] = value
      return leafFits(layout, node) ? NONE : splitLeaf(node, store.gen, layout)
    }
    const at = ~found
    node.keys.splice(at, 0, key)
    node.keyBytes.splice(at, 0, keyBytes)
    node.values.splice(at, 0, value)
    node.bytes += LEAF_ENTRY_OVERHEAD + keyBytes + value.length
    if (leafFits(layout, node)) return NONE
    return splitLeaf(node, store.gen, layout, rightmost && at === node.keys.length - 1 ? at : undefined)
  }
  const i = childIndex(node, key)
  const last = i === node.children.length - 1
  const child = store.mutableChild(node, i, lo, hi)
  const pieces = insertInto(store, child, key, keyBytes, value, rightmost && last, childLow(node, i, lo), childHigh(node, i, hi))
  if (pieces.length === 0) return NONE
  for (let j = 0; j < pieces.length; j++) {
    node.keys.splice(i + 1 + j, 0, pieces[j].sep)
    node.children.splice(i + 1 + j, 0, pieces[j].node)
    node.bytes += BRANCH_ENTRY_OVERHEAD + sortKeyUtf8Length(pieces[j].sep)
  }
  if (node.bytes <= PAGE_PAYLOAD) return NONE
  return splitBranch(node, store.gen, rightmost && last ? i + 1 : undefined)
}
