import { PAGE_PAYLOAD } from '@cartridge/pager'
import { BranchNode, LeafNode, type CatalogNode } from './catalog-node.js'
import type { LeafLayout } from './leaf-layout.js'
import { BRANCH_BASE_BYTES, BRANCH_ENTRY_OVERHEAD, LEAF_ENTRY_OVERHEAD } from './limits.js'
import { separatorBetween, sortKeyUtf8Length } from './sort-key.js'

/** A new right sibling produced by a split, with the separator its parent stores before it. */
export interface Piece {
  sep: string
  node: CatalogNode
}

/**
 * Chooses where to cut `n` entries (prefix sums `pre`) into pieces that each fit a page: at
 * `appendCut` when given and valid (sequential appends fill pages instead of leaving them half
 * full), else the two-way cut with the most even byte split, else (entries near the size limit)
 * greedily into as many pieces as needed. Returns the boundaries `[0, …, n]`.
 */
function planCuts(pre: readonly number[], size: (from: number, to: number) => number, appendCut: number | undefined): number[] {
  const n = pre.length - 1
  if (appendCut !== undefined && appendCut > 0 && appendCut < n && size(0, appendCut) <= PAGE_PAYLOAD && size(appendCut, n) <= PAGE_PAYLOAD) {
    return [0, appendCut, n]
  }
  let best = -1
  let bestDiff = Infinity
  for (let m = 1; m < n; m++) {
    const left = size(0, m)
    if (left > PAGE_PAYLOAD) break
    const right = size(m, n)
    if (right <= PAGE_PAYLOAD && Math.abs(left - right) < bestDiff) {
      best = m
      bestDiff = Math.abs(left - right)
    }
  }
  if (best > 0) return [0, best, n]
  const cuts = [0]
  for (let start = 0; start < n; ) {
    let end = start + 1
    while (end < n && size(start, end + 1) <= PAGE_PAYLOAD) end++
    cuts.push(end)
    start = end
  }
  return cuts
}

/**
 * Splits an overfull leaf of the current generation into pieces that each fit a page in `layout`:
 * `node` keeps the first piece, the others are returned as new nodes of generation `gen`. (A
 * layout's size grows with every entry added to a run, so the cut planning stays valid.)
 */
export function splitLeaf(node: LeafNode, gen: number, layout: LeafLayout, appendCut?: number): Piece[] {
  const { keys, keyBytes, values } = node
  const pre = [0]
  for (let i = 0; i < keys.length; i++) pre.push(pre[i] + LEAF_ENTRY_OVERHEAD + keyBytes[i] + values[i].length)
  const cuts = planCuts(pre, (from, to) => layout.size(keys[from], keys[to - 1], to - from, pre[to] - pre[from]), appendCut)
  const pieces: Piece[] = []
  for (let j = 1; j < cuts.length - 1; j++) {
    const [from, to] = [cuts[j], cuts[j + 1]]
    const leaf = new LeafNode(gen, keys.slice(from, to), keyBytes.slice(from, to), values.slice(from, to), pre[to] - pre[from])
    pieces.push({ sep: separatorBetween(keys[from - 1], keys[from]), node: leaf })
  }
  keys.length = keyBytes.length = values.length = cuts[1]
  node.bytes = pre[cuts[1]]
  return pieces
}

/**
 * Splits an overfull branch of the current generation: the separator before each new piece's
 * first child moves up to the parent.
 */
export function splitBranch(node: BranchNode, gen: number, appendCut?: number): Piece[] {
  const { keys, children } = node
  const pre = [0, 0]
  for (let i = 1; i < keys.length; i++) pre.push(pre[i] + BRANCH_ENTRY_OVERHEAD + sortKeyUtf8Length(keys[i]))
  const size = (from: number, to: number): number => BRANCH_BASE_BYTES + pre[to] - pre[from + 1]
  const cuts = planCuts(pre, size, appendCut)
  const pieces: Piece[] = []
  for (let j = 1; j < cuts.length - 1; j++) {
    const [from, to] = [cuts[j], cuts[j + 1]]
    const branch = new BranchNode(gen, node.level, ['', ...keys.slice(from + 1, to)], children.slice(from, to), size(from, to))
    pieces.push({ sep: keys[from], node: branch })
  }
  keys.length = children.length = cuts[1]
  node.bytes = size(0, cuts[1])
  return pieces
}
