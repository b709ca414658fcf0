import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import { BLOCK_PTR_SIZE, readBlockPtr, writeBlockPtr, type BlockPtr } from './block-pointer.js'
import { PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType } from './page-format.js'
import { writeNode, type PageIO } from './page-io.js'

/** Pointers per pointer-node page. */
export const POINTERS_PER_NODE = Math.floor(PAGE_PAYLOAD / BLOCK_PTR_SIZE)

/** Index pages needed above `leaves` leaf pages. */
export function pointerNodesFor(leaves: number): number {
  let total = 0
  let n = leaves
  while (n > 1) {
    n = Math.ceil(n / POINTERS_PER_NODE)
    total += n
  }
  return total
}

/**
 * Builds a radix tree of POINTER_NODE pages over `leaves` (in order) and returns the root pointer
 * with `aux` = height (0: the root is the only leaf). `nextPage` supplies page numbers (defaults to
 * `io.allocate(1)`), so a caller that must allocate ahead of time can.
 */
export function buildPointerTree(io: PageIO, leaves: BlockPtr[], nextPage: () => number = () => io.allocate(1)): BlockPtr {
  if (leaves.length === 0) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'pointer tree needs at least one leaf')
  let level = leaves
  let height = 0
  while (level.length > 1) {
    height++
    const next: BlockPtr[] = []
    for (let i = 0; i < level.length; i += POINTERS_PER_NODE) {
      const slice = level.slice(i, i + POINTERS_PER_NODE)
      next.push(
        writeNode(io, PageType.POINTER_NODE, height, slice.length, slice.length * BLOCK_PTR_SIZE, (page) => {
          const v = viewOf(page)
          slice.forEach((p, j) => writeBlockPtr(v, PAGE_HEADER_SIZE + j * BLOCK_PTR_SIZE, p))
        }, nextPage()),
      )
    }
    level = next
  }
  return { ...level[0], aux: height }
}

/** Reads the pointers stored in one pointer node. */
export function readPointerNode(page: Uint8Array, count: number): BlockPtr[] {
  const v = viewOf(page)
  const out: BlockPtr[] = []
  for (let i = 0; i < count; i++) out.push(readBlockPtr(v, PAGE_HEADER_SIZE + i * BLOCK_PTR_SIZE))
  return out
}

/** Visits every pointer node of the tree (pre-order) and returns the leaf pointers in order. */
export function readPointerTree(io: Pick<PageIO, 'read'>, root: BlockPtr, onNode?: (ptr: BlockPtr) => void): BlockPtr[] {
  const height = root.aux
  const walk = (ptr: BlockPtr, h: number, out: BlockPtr[]): void => {
    if (h === 0) {
      out.push(ptr)
      return
    }
    onNode?.(ptr)
    const page = io.read(ptr, PageType.POINTER_NODE)
    const count = viewOf(page).getUint16(6, true)
    for (const child of readPointerNode(page, count)) walk(child, h - 1, out)
  }
  const out: BlockPtr[] = []
  walk({ ...root, aux: 0 }, height, out)
  return out
}

/** Finds leaf number `index` of the tree without reading other branches. */
export function lookupPointerTree(io: Pick<PageIO, 'read'>, root: BlockPtr, index: number): BlockPtr {
  let ptr: BlockPtr = { ...root, aux: 0 }
  for (let h = root.aux; h > 0; h--) {
    const span = POINTERS_PER_NODE ** (h - 1)
    const page = io.read(ptr, PageType.POINTER_NODE)
    const slot = Math.floor(index / span)
    index -= slot * span
    const count = viewOf(page).getUint16(6, true)
    if (slot >= count) throw new CartridgeError(ErrorCodes.CORRUPT, `pointer tree index out of range at page ${ptr.page}`, { page: ptr.page })
    ptr = readPointerNode(page, count)[slot]
  }
  return ptr
}
