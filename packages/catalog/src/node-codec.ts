import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import {
  BLOCK_PTR_SIZE, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, readBlockPtr, readHeader, writeBlockPtr, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import { BranchNode, type CatalogNode } from './catalog-node.js'
import type { LeafLayout } from './leaf-layout.js'
import { BRANCH_ENTRY_OVERHEAD, MAX_KEY_BYTES } from './limits.js'
import { fromSortKey, toSortKey } from './sort-key.js'
import { readUtf8, writeAscii, writeUtf8 } from './utf8-key.js'

/*
 * On-disk layout (format version 1), after the 32-byte page header:
 *   branch (CATALOG_BRANCH, level ≥ 1, count = children): ptr0, { u16 keyLen, key, ptr } × (count − 1)
 *   leaf: per the catalog's LeafLayout (`reference-leaf.ts`, `prefix/prefix-leaf.ts`)
 * Little-endian; keys are UTF-8; `used` is the payload length.
 */

/** The largest level a catalog page may claim (far above any real tree height). */
const MAX_LEVEL = 32

/** @throws CartridgeError `CARTRIDGE_CORRUPT`: catalog page `page` is malformed (`problem`). */
export function corrupt(page: number, problem: string): never {
  throw new CartridgeError(ErrorCodes.CORRUPT, `catalog page ${page} is malformed: ${problem}`, { page })
}

/** @throws CartridgeError `CARTRIDGE_CORRUPT`: an entry of catalog page `page` runs past its payload. */
export function entryPastPayload(page: number): never {
  return corrupt(page, 'entry runs past the payload')
}

/** The sort key of the `len` UTF-8 bytes at `page[off]`, or `CARTRIDGE_CORRUPT` naming page `pageNo`. */
export function decodeKey(page: Uint8Array, off: number, len: number, pageNo: number): string {
  try {
    return toSortKey(readUtf8(page, off, len))
  } catch {
    return corrupt(pageNo, 'key is not valid UTF-8')
  }
}

/** Encodes a branch whose children are all written (`ptrs[i]` for child i) and returns the payload length. */
export function encodeBranch(node: BranchNode, ptrs: readonly BlockPtr[], page: Uint8Array): number {
  const v = viewOf(page)
  writeBlockPtr(v, PAGE_HEADER_SIZE, ptrs[0])
  let off = PAGE_HEADER_SIZE + BLOCK_PTR_SIZE
  for (let i = 1; i < ptrs.length; i++) {
    // An ASCII sort key is its own key.
    const k = node.keys[i]
    const keyLen = writeAscii(page, off + 2, k) ?? writeUtf8(page, off + 2, fromSortKey(k))
    v.setUint16(off, keyLen, true)
    writeBlockPtr(v, off + 2 + keyLen, ptrs[i])
    off += BRANCH_ENTRY_OVERHEAD + keyLen
  }
  return off - PAGE_HEADER_SIZE
}

/**
 * Checks that the keys of a parsed node (entries, or separators) lie within `[lo, hi)`, the range
 * its parent gives it (undefined: unbounded).
 * @throws CartridgeError `CARTRIDGE_CORRUPT` naming the page
 */
export function checkBounds(node: CatalogNode, lo: string | undefined, hi: string | undefined, page: number): void {
  const { keys } = node
  const first = node.leaf ? 0 : 1
  if (keys.length <= first) return
  if (lo !== undefined && keys[first] < lo) corrupt(page, 'key below its parent separator')
  if (hi !== undefined && keys[keys.length - 1] >= hi) corrupt(page, 'key at or above the next parent separator')
}

function decodeBranch(page: Uint8Array, end: number, level: number, count: number, ptr: BlockPtr): BranchNode {
  if (level < 1 || level > MAX_LEVEL) corrupt(ptr.page, `branch claims level ${level}`)
  let off = PAGE_HEADER_SIZE
  if (count < 1 || end < off + BLOCK_PTR_SIZE) corrupt(ptr.page, 'branch without children')
  const v = viewOf(page)
  const keys = new Array<string>(count)
  const children = new Array<BlockPtr>(count)
  keys[0] = ''
  children[0] = readBlockPtr(v, off)
  off += BLOCK_PTR_SIZE
  for (let i = 1; i < count; i++) {
    if (off + 2 > end) corrupt(ptr.page, 'separator runs past the payload')
    const keyLen = v.getUint16(off, true)
    if (keyLen > MAX_KEY_BYTES || off + BRANCH_ENTRY_OVERHEAD + keyLen > end) corrupt(ptr.page, 'separator runs past the payload')
    keys[i] = decodeKey(page, off + 2, keyLen, ptr.page)
    if (i > 1 && keys[i - 1] >= keys[i]) corrupt(ptr.page, 'separators out of order')
    children[i] = readBlockPtr(v, off + 2 + keyLen)
    off += BRANCH_ENTRY_OVERHEAD + keyLen
  }
  for (const c of children) if (c.page === 0) corrupt(ptr.page, 'null child pointer')
  if (off !== end) corrupt(ptr.page, 'payload length does not match its entries')
  return new BranchNode(-1, level, keys, children, end - PAGE_HEADER_SIZE)
}

/**
 * Parses a verified catalog page into a clean node (`ptr` set, keys in sort-key form): a branch,
 * or a leaf of `layout`. Every length and the key order are checked, so a well-checksummed but
 * malformed page is reported, never trusted.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` naming the page
 */
export function decodeNode(page: Uint8Array, ptr: BlockPtr, layout: LeafLayout): CatalogNode {
  const h = readHeader(page)
  if (h.used > PAGE_PAYLOAD) corrupt(ptr.page, 'payload length out of range')
  let node: CatalogNode
  if (h.type === PageType.CATALOG_BRANCH) node = decodeBranch(page, PAGE_HEADER_SIZE + h.used, h.level, h.count, ptr)
  else if (h.type === layout.type) node = layout.decode(page, h, ptr)
  else corrupt(ptr.page, `not a catalog page (type ${h.type})`)
  node.ptr = ptr
  return node
}

const nodeTypes = new Map<PageType, readonly PageType[]>()

/** The page types a catalog root of `layout` may have: its leaves' or a branch. */
export function catalogPageTypes(layout: LeafLayout): readonly PageType[] {
  let types = nodeTypes.get(layout.type)
  if (types === undefined) nodeTypes.set(layout.type, (types = Object.freeze([layout.type, PageType.CATALOG_BRANCH])))
  return types
}

/**
 * Reads, verifies and parses the catalog page behind `ptr`, whose leaves have `layout`. `level`
 * is the level its parent expects (undefined for a root); the node's keys must also lie within
 * `[lo, hi)`, the range the parent gives it.
 * @throws CartridgeError `CARTRIDGE_CHECKSUM` or `CARTRIDGE_CORRUPT` naming the page
 */
export function readNode(io: Pick<PageIO, 'read'>, ptr: BlockPtr, layout: LeafLayout, level?: number, lo?: string, hi?: string): CatalogNode {
  const type = level === undefined ? catalogPageTypes(layout) : level === 0 ? layout.type : PageType.CATALOG_BRANCH
  const node = decodeNode(io.read(ptr, type), ptr, layout)
  if (level !== undefined && node.level !== level) corrupt(ptr.page, `level ${node.level} where ${level} was expected`)
  checkBounds(node, lo, hi, ptr.page)
  return node
}
