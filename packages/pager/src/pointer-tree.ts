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
      next.push(writePointerNode(io, height, slice, nextPage()))
    }
    level = next
  }
  return { ...level[0], aux: height }
}

/** Writes one pointer node at `level` holding `ptrs` to page `pageNo` (born in `io.txn`) and returns its pointer. */
export function writePointerNode(io: PageIO, level: number, ptrs: readonly BlockPtr[], pageNo: number): BlockPtr {
  return writeNode(io, PageType.POINTER_NODE, level, ptrs.length, ptrs.length * BLOCK_PTR_SIZE, (page) => {
    const v = viewOf(page)
    ptrs.forEach((p, j) => writeBlockPtr(v, PAGE_HEADER_SIZE + j * BLOCK_PTR_SIZE, p))
  }, pageNo)
}

/** The pointer count in a page header. */
function headerCount(v: DataView): number {
  return v.getUint16(6, true)
}

/** Reads the pointers stored in one pointer node (as many as its header counts). */
export function readPointerNode(page: Uint8Array): BlockPtr[] {
  const v = viewOf(page)
  const count = headerCount(v)
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
    for (const child of readPointerNode(io.read(ptr, PageType.POINTER_NODE))) walk(child, h - 1, out)
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
    const v = viewOf(page)
    if (slot >= headerCount(v)) throw new CartridgeError(ErrorCodes.CORRUPT, `pointer tree index out of range at page ${ptr.page}`, { page: ptr.page })
    ptr = readBlockPtr(v, PAGE_HEADER_SIZE + slot * BLOCK_PTR_SIZE)
  }
  return ptr
}

/** Height of the smallest pointer tree over `leaves` leaves (0: one leaf is the root). */
export function pointerTreeHeight(leaves: number): number {
  let h = 0
  for (let span = 1; span < leaves; span *= POINTERS_PER_NODE) h++
  return h
}

/**
 * Copy-on-write update of a pointer tree: the tree over `oldLeaves` leaves (root `root`, or none)
 * becomes a tree over `newLeaves` leaves where leaf `i` is `updates.get(i)` when present and the
 * old leaf `i` otherwise (every `i` ≥ `oldLeaves` must be in `updates`). Only the nodes above a
 * changed leaf, or whose fan-out changes, are rewritten; `release` receives every old node
 * (`POINTER_NODE`) and every old leaf that is no longer referenced, and `nextPage` supplies new
 * node pages. Returns the new root (`aux` = height), or undefined when `newLeaves` is 0.
 */
export function updatePointerTree(
  io: PageIO,
  root: BlockPtr | undefined,
  oldLeaves: number,
  newLeaves: number,
  updates: ReadonlyMap<number, BlockPtr>,
  release: (ptr: BlockPtr, isLeaf: boolean) => void,
  nextPage: () => number = () => io.allocate(1),
): BlockPtr | undefined {
  const changed = [...updates.keys()].sort((a, b) => a - b)
  const anyChangeIn = (from: number, to: number): boolean => {
    let lo = 0
    let hi = changed.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (changed[mid] < from) lo = mid + 1
      else hi = mid
    }
    return lo < changed.length && changed[lo] < to
  }
  const releaseSubtree = (ptr: BlockPtr, h: number): void => {
    if (h === 0) return release(ptr, true)
    for (const child of readPointerNode(io.read(ptr, PageType.POINTER_NODE))) releaseSubtree(child, h - 1)
    release(ptr, false)
  }
  const oldHeight = root && oldLeaves > 0 ? root.aux : -1
  let oldTop: BlockPtr | undefined = root && oldLeaves > 0 ? { ...root, aux: 0 } : undefined
  const newHeight = pointerTreeHeight(newLeaves)
  if (newLeaves === 0) {
    if (oldTop) releaseSubtree(oldTop, oldHeight)
    return undefined
  }
  // Shrinking below the old height: keep the leftmost subtree, release the rest.
  let topHeight = oldHeight
  while (oldTop && topHeight > newHeight) {
    const children = readPointerNode(io.read(oldTop, PageType.POINTER_NODE))
    for (let i = 1; i < children.length; i++) releaseSubtree(children[i], topHeight - 1)
    release(oldTop, false)
    oldTop = children[0]
    topHeight--
  }
  // `old` is the old node at height h covering leaves [base, base + span), if there was one.
  const build = (h: number, base: number, old: BlockPtr | undefined): BlockPtr => {
    const span = POINTERS_PER_NODE ** h
    const n = Math.min(newLeaves - base, span)
    if (h === 0) {
      const next = updates.get(base)
      if (next) {
        if (old) release(old, true)
        return next
      }
      if (!old) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `pointer tree update has no leaf ${base}`)
      return old
    }
    const oldN = old ? Math.min(Math.max(oldLeaves - base, 0), span) : 0
    if (old && oldN === n && !anyChangeIn(base, base + span)) return old
    const children = old ? readPointerNode(io.read(old, PageType.POINTER_NODE)) : []
    const childSpan = POINTERS_PER_NODE ** (h - 1)
    const next: BlockPtr[] = []
    for (let slot = 0; slot * childSpan < n; slot++) {
      const childBase = base + slot * childSpan
      let oldChild: BlockPtr | undefined = children[slot]
      // A tree growing taller: the old root becomes the leftmost subtree at its height.
      if (!old && childBase === 0 && h - 1 === topHeight) oldChild = oldTop
      next.push(build(h - 1, childBase, oldChild))
    }
    for (let slot = next.length; slot < children.length; slot++) releaseSubtree(children[slot], h - 1)
    if (old) release(old, false)
    return writePointerNode(io, h, next, nextPage())
  }
  const top = build(newHeight, 0, topHeight === newHeight ? oldTop : undefined)
  return { ...top, aux: newHeight }
}
