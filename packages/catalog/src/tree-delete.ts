import { PAGE_PAYLOAD } from '@cartridge/pager'
import { childHigh, childIndex, childLow, searchKeys, type BranchNode, type CatalogNode, type Child } from './catalog-node.js'
import { leafUsed, type LeafLayout } from './leaf-layout.js'
import { BRANCH_BASE_BYTES, BRANCH_ENTRY_OVERHEAD, LEAF_ENTRY_OVERHEAD, MERGE_THRESHOLD } from './limits.js'
import type { NodeStore } from './node-store.js'
import { sortKeyUtf8Length } from './sort-key.js'

/**
 * Removes sort key `key`, which the caller has found in the tree at `root`, and returns the new root
 * (`null` when the tree is empty). Emptied nodes leave their parent, nodes under a quarter full
 * merge with a neighbour when the two fit one page, and a root branch with one child gives way to it.
 */
export function removeEntry(store: NodeStore, root: Child, key: string): Child | null {
  const node = store.mutable(store.load(root))
  removeFrom(store, node, key, undefined, undefined)
  return collapseRoot(store, node)
}

/** Removes `key` from the subtree of mutable `node`, whose key range is `[lo, hi)`. */
function removeFrom(store: NodeStore, node: CatalogNode, key: string, lo: string | undefined, hi: string | undefined): void {
  if (node.leaf) {
    const i = searchKeys(node.keys, key)
    if (i < 0) return
    node.bytes -= LEAF_ENTRY_OVERHEAD + node.keyBytes[i] + node.values[i].length
    node.keys.splice(i, 1)
    node.keyBytes.splice(i, 1)
    node.values.splice(i, 1)
    return
  }
  const i = childIndex(node, key)
  removeFrom(store, store.mutableChild(node, i, lo, hi), key, childLow(node, i, lo), childHigh(node, i, hi))
  rebalance(store, node, i, lo, hi)
}

function isEmpty(node: CatalogNode): boolean {
  return node.leaf ? node.keys.length === 0 : node.children.length === 0
}

/** After a delete below child `i` (mutable) of `parent` (key range `[lo, hi)`): drop it if empty, merge it if small. */
function rebalance(store: NodeStore, parent: BranchNode, i: number, lo: string | undefined, hi: string | undefined): void {
  const child = parent.children[i] as CatalogNode
  if (isEmpty(child)) {
    removeSlot(parent, i, i === 0 ? 1 : i)
    return
  }
  const { layout } = store
  if ((child.leaf ? leafUsed(layout, child) : child.bytes) >= MERGE_THRESHOLD) return
  if (i > 0) {
    const left = store.child(parent, i - 1, lo, hi)
    if (mergeFits(layout, left, child, parent.keys[i])) {
      merge(left, child, parent.keys[i], child)
      store.release(parent.children[i - 1])
      removeSlot(parent, i - 1, i)
      return
    }
  }
  if (i + 1 < parent.children.length) {
    const right = store.child(parent, i + 1, lo, hi)
    if (mergeFits(layout, child, right, parent.keys[i + 1])) {
      merge(child, right, parent.keys[i + 1], child)
      store.release(parent.children[i + 1])
      removeSlot(parent, i + 1, i + 1)
    }
  }
}

/** The `bytes` of neighbours `left` and `right` (separated by `sep`) merged: a leaf's raw size, a branch's payload. */
function mergedBytes(left: CatalogNode, right: CatalogNode, sep: string): number {
  if (left.leaf) return left.bytes + right.bytes
  return left.bytes + right.bytes - BRANCH_BASE_BYTES + BRANCH_ENTRY_OVERHEAD + sortKeyUtf8Length(sep)
}

/** True when neighbours `left` and `right` (separated by `sep`) fit one page merged. */
function mergeFits(layout: LeafLayout, left: CatalogNode, right: CatalogNode, sep: string): boolean {
  const bytes = mergedBytes(left, right, sep)
  if (!left.leaf || bytes <= layout.rawLimit) return bytes <= PAGE_PAYLOAD
  const last = right.keys.length - 1
  return layout.size(left.keys[0], right.keys[last], left.keys.length + last + 1, bytes) <= PAGE_PAYLOAD
}

/**
 * Puts the contents of neighbours `left` and `right` (separated by `sep` in their parent) into
 * `into`, which is one of them and mutable; the other is only read, never changed.
 */
function merge(left: CatalogNode, right: CatalogNode, sep: string, into: CatalogNode): void {
  const bytes = mergedBytes(left, right, sep)
  if (left.leaf && right.leaf && into.leaf) {
    into.keys = left.keys.concat(right.keys)
    into.keyBytes = left.keyBytes.concat(right.keyBytes)
    into.values = left.values.concat(right.values)
  } else if (!left.leaf && !right.leaf && !into.leaf) {
    into.keys = left.keys.concat([sep], right.keys.slice(1))
    into.children = left.children.concat(right.children)
  }
  into.bytes = bytes
}

/** Removes child `i` and separator `k` of `parent` (k = i, or k = 1 when child 0 goes). */
function removeSlot(parent: BranchNode, i: number, k: number): void {
  if (parent.children.length === 1) {
    parent.children.length = parent.keys.length = 0
    parent.bytes = 0
    return
  }
  parent.bytes -= BRANCH_ENTRY_OVERHEAD + sortKeyUtf8Length(parent.keys[k])
  parent.keys.splice(k, 1)
  parent.children.splice(i, 1)
}

function collapseRoot(store: NodeStore, node: CatalogNode): Child | null {
  if (isEmpty(node)) return null
  let root: Child = node
  for (;;) {
    const n = store.load(root)
    if (n.leaf || n.children.length !== 1) return root
    store.release(root)
    root = n.children[0]
  }
}
