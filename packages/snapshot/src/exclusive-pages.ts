import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { BlockPtr } from '@cartridge/pager'
import type { BlockVisitor, RootWalker } from './block-visitor.js'
import { MAX_SNAPSHOTS } from './snapshot-entry.js'

const NONE = 0
const SHARED = 0xffff

/**
 * For each root, the pages only that root reaches: what deleting it would free. One walk over
 * all roots together, each shared block read at most twice: every block's first page carries an
 * owner tag (2 bytes per page), the first root to reach it or "shared"; a block that becomes
 * shared passes that on to its whole subtree, since whatever reaches a node reaches all below it.
 * @param roots catalog roots (live state and snapshots); the result is in the same order
 * @param totalPages container size, to size the tags
 */
export function exclusivePages(roots: readonly BlockPtr[], walk: RootWalker, totalPages: number): number[] {
  if (roots.length > MAX_SNAPSHOTS + 1) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'too many roots')
  const owner = new Uint16Array(totalPages)
  const only = new Array<number>(roots.length).fill(0)
  const inRange = (page: number, count: number) => {
    if (page < 0 || page + count > totalPages) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `a block at pages ${page}..${page + count - 1} lies outside the container`, { page })
    }
  }
  // Below a block that became shared: everything is shared.
  const shared: BlockVisitor = {
    enter(page, count) {
      inRange(page, count)
      const o = owner[page]
      if (o === SHARED) return null
      if (o !== NONE) only[o - 1] -= count
      owner[page] = SHARED
      return shared
    },
  }
  roots.forEach((root, i) => {
    const tag = i + 1
    const mine: BlockVisitor = {
      enter(page, count) {
        inRange(page, count)
        const o = owner[page]
        if (o === NONE) {
          owner[page] = tag
          only[i] += count
          return mine
        }
        if (o === tag || o === SHARED) return null
        only[o - 1] -= count
        owner[page] = SHARED
        return shared
      },
    }
    walk(root, mine)
  })
  return only
}
