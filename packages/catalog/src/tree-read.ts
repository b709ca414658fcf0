import { childHigh, childIndex, childLow, searchKeys, type BranchNode, type CatalogNode, type Child } from './catalog-node.js'
import type { NodeStore } from './node-store.js'
import { fromSortKey } from './sort-key.js'

/** The stored value of sort key `key` in the tree at `root` (not copied), or `undefined`. */
export function lookup(store: NodeStore, root: Child | null, key: string): Uint8Array | undefined {
  if (root === null) return undefined
  let node = store.load(root)
  let lo: string | undefined
  let hi: string | undefined
  while (!node.leaf) {
    const i = childIndex(node, key)
    const child = store.child(node, i, lo, hi)
    lo = childLow(node, i, lo)
    hi = childHigh(node, i, hi)
    node = child
  }
  const i = searchKeys(node.keys, key)
  return i >= 0 ? node.values[i] : undefined
}

/** A branch on the path of an iteration: the child being visited and the branch's own key range. */
interface Frame {
  node: BranchNode
  i: number
  lo: string | undefined
  hi: string | undefined
}

/**
 * Entries of the tree at `root` with key ≥ `from` that start with `prefix` (both sort keys), in
 * order, each key converted back and each value copied. Seeks by binary search down one path,
 * then walks leaves through a stack of branches, loading each node only when reached: O(log n + k).
 */
export function* iterateEntries(store: NodeStore, root: Child | null, from: string, prefix: string): Generator<[string, Uint8Array], void, undefined> {
  if (root === null) return
  const start = from > prefix ? from : prefix
  const stack: Frame[] = []
  let node: CatalogNode = store.load(root)
  let lo: string | undefined
  let hi: string | undefined
  while (!node.leaf) {
    const i = childIndex(node, start)
    stack.push({ node, i, lo, hi })
    const child = store.child(node, i, lo, hi)
    lo = childLow(node, i, lo)
    hi = childHigh(node, i, hi)
    node = child
  }
  let j = searchKeys(node.keys, start)
  if (j < 0) j = ~j
  for (;;) {
    const { keys, values } = node
    for (; j < keys.length; j++) {
      const key = keys[j]
      if (prefix !== '' && !key.startsWith(prefix)) return
      yield [fromSortKey(key), values[j].slice()]
    }
    let top = stack[stack.length - 1]
    while (top !== undefined && ++top.i >= top.node.children.length) {
      stack.pop()
      top = stack[stack.length - 1]
    }
    if (top === undefined) return
    node = store.child(top.node, top.i, top.lo, top.hi)
    lo = childLow(top.node, top.i, top.lo)
    hi = childHigh(top.node, top.i, top.hi)
    while (!node.leaf) {
      stack.push({ node, i: 0, lo, hi })
      const child = store.child(node, 0, lo, hi)
      hi = childHigh(node, 0, hi)
      node = child
    }
    j = 0
  }
}
