import { CartridgeError, ErrorCodes, viewOf } from '@cartridge/core'
import {
  BLOCK_PTR_SIZE, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, readBlockPtr, readHeader, writeBlockPtr, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import { BranchNode, LeafNode, type CatalogNode } from './catalog-node.js'
import { BRANCH_ENTRY_OVERHEAD, LEAF_ENTRY_OVERHEAD, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.js'
import { fromSortKey, toSortKey } from './sort-key.js'
import { readUtf8, writeAscii, writeUtf8 } from './utf8-key.js'

/*
 * On-disk layout (format version 1), after the 32-byte page header:
 *   leaf   (CATALOG_LEAF, level 0, count = entries):  { u16 keyLen, u16 valueLen, key, value } × count
 *   branch (CATALOG_BRANCH, level ≥ 1, count = children): ptr0, { u16 keyLen, key, ptr } × (count − 1)
 * Little-endian; keys are UTF-8; `used` is the payload length.
 */

/** The largest level a catalog page may claim (far above any real tree height). */
const MAX_LEVEL = 32

const ANY_NODE = [PageType.CATALOG_LEAF, PageType.CATALOG_BRANCH] as const

function corrupt(page: number, problem: string): never {
  throw new CartridgeError(ErrorCodes.CORRUPT, `catalog page ${page} is malformed: ${problem}`, { page })
}

/** Encodes a leaf's entries into `page` and returns the payload length. */
export function encodeLeaf(node: LeafNode, page: Uint8Array): number {
  const v = viewOf(page)
  let off = PAGE_HEADER_SIZE
  const { keys, keyBytes, values } = node
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    const keyLen = keyBytes[i] === k.length ? writeUtf8(page, off + LEAF_ENTRY_OVERHEAD, k) : writeUtf8(page, off + LEAF_ENTRY_OVERHEAD, fromSortKey(k))
    const value = values[i]
    page.set(value, off + LEAF_ENTRY_OVERHEAD + keyLen)
    v.setUint16(off, keyLen, true)
    v.setUint16(off + 2, value.length, true)
    off += LEAF_ENTRY_OVERHEAD + keyLen + value.length
  }
  return off - PAGE_HEADER_SIZE
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

/** The sort key of the UTF-8 key at `page[off]`. */
function key(page: Uint8Array, off: number, len: number, pageNo: number): string {
  try {
    return toSortKey(readUtf8(page, off, len))
  } catch {
    return corrupt(pageNo, 'key is not valid UTF-8')
  }
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

/**
 * Parses a verified catalog page into a clean node (`ptr` set, keys in sort-key form), checking every length and the key
 * order, so a well-checksummed but malformed page is reported, never trusted.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` naming the page
 */
export function decodeNode(page: Uint8Array, ptr: BlockPtr): CatalogNode {
  const h = readHeader(page)
  const end = PAGE_HEADER_SIZE + h.used
  if (h.used > PAGE_PAYLOAD) corrupt(ptr.page, 'payload length out of range')
  if (h.type !== PageType.CATALOG_LEAF && h.type !== PageType.CATALOG_BRANCH) corrupt(ptr.page, `not a catalog page (type ${h.type})`)
  const v = viewOf(page)
  let off = PAGE_HEADER_SIZE
  let node: CatalogNode
  if (h.type === PageType.CATALOG_LEAF) {
    if (h.level !== 0) corrupt(ptr.page, `leaf claims level ${h.level}`)
    const data = page.slice(PAGE_HEADER_SIZE, end)
    const keys = new Array<string>(h.count)
    const keyBytes = new Array<number>(h.count)
    const values = new Array<Uint8Array>(h.count)
    for (let i = 0; i < h.count; i++) {
      if (off + LEAF_ENTRY_OVERHEAD > end) corrupt(ptr.page, 'entry runs past the payload')
      const keyLen = v.getUint16(off, true)
      const valueLen = v.getUint16(off + 2, true)
      const k = off + LEAF_ENTRY_OVERHEAD
      if (keyLen > MAX_KEY_BYTES || valueLen > MAX_VALUE_BYTES || k + keyLen + valueLen > end) corrupt(ptr.page, 'entry runs past the payload')
      keys[i] = key(page, k, keyLen, ptr.page)
      keyBytes[i] = keyLen
      if (i > 0 && keys[i - 1] >= keys[i]) corrupt(ptr.page, 'keys out of order')
      const vs = k + keyLen - PAGE_HEADER_SIZE
      values[i] = data.subarray(vs, vs + valueLen)
      off = k + keyLen + valueLen
    }
    node = new LeafNode(-1, keys, keyBytes, values, h.used)
  } else {
    if (h.level < 1 || h.level > MAX_LEVEL) corrupt(ptr.page, `branch claims level ${h.level}`)
    if (h.count < 1 || end < off + BLOCK_PTR_SIZE) corrupt(ptr.page, 'branch without children')
    const keys = new Array<string>(h.count)
    const children = new Array<BlockPtr>(h.count)
    keys[0] = ''
    children[0] = readBlockPtr(v, off)
    off += BLOCK_PTR_SIZE
    for (let i = 1; i < h.count; i++) {
      if (off + 2 > end) corrupt(ptr.page, 'separator runs past the payload')
      const keyLen = v.getUint16(off, true)
      if (keyLen > MAX_KEY_BYTES || off + BRANCH_ENTRY_OVERHEAD + keyLen > end) corrupt(ptr.page, 'separator runs past the payload')
      keys[i] = key(page, off + 2, keyLen, ptr.page)
      if (i > 1 && keys[i - 1] >= keys[i]) corrupt(ptr.page, 'separators out of order')
      children[i] = readBlockPtr(v, off + 2 + keyLen)
      off += BRANCH_ENTRY_OVERHEAD + keyLen
    }
    for (const c of children) if (c.page === 0) corrupt(ptr.page, 'null child pointer')
    node = new BranchNode(-1, h.level, keys, children, h.used)
  }
  if (off !== end) corrupt(ptr.page, 'payload length does not match its entries')
  node.ptr = ptr
  return node
}

/**
 * Reads, verifies and parses the catalog page behind `ptr`. `level` is the level its parent
 * expects (undefined for a root); the node's keys must also lie within `[lo, hi)`, the range the
 * parent gives it.
 * @throws CartridgeError `CARTRIDGE_CHECKSUM` or `CARTRIDGE_CORRUPT` naming the page
 */
export function readNode(io: Pick<PageIO, 'read'>, ptr: BlockPtr, level?: number, lo?: string, hi?: string): CatalogNode {
  const type = level === undefined ? ANY_NODE : level === 0 ? PageType.CATALOG_LEAF : PageType.CATALOG_BRANCH
  const node = decodeNode(io.read(ptr, type), ptr)
  if (level !== undefined && node.level !== level) corrupt(ptr.page, `level ${node.level} where ${level} was expected`)
  checkBounds(node, lo, hi, ptr.page)
  return node
}
