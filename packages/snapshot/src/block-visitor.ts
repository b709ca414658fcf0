import type { BlockPtr } from '@cartridge/pager'

/**
 * Receives the blocks a walk reaches from one root: nodes (one page holding pointers) and runs
 * of content pages. A block's first page identifies it.
 */
export interface BlockVisitor {
  /**
   * Called once per block reached; `txn` is its birth transaction. Returns the visitor for the
   * block's children, or `null` to skip them (a run has none).
   */
  enter(page: number, count: number, txn: number): BlockVisitor | null
}

/**
 * Walks every block reachable from a catalog root, parents before children, asking `visitor`
 * at each node whether to descend. The container implements it over its own formats.
 */
export type RootWalker = (root: BlockPtr, visitor: BlockVisitor) => void
