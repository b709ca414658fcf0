import { viewOf } from '@cartridge/core'
import { PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, type BlockPtr, type PageHeader } from '@cartridge/pager'
import { LeafNode } from './catalog-node.js'
import type { LeafLayout } from './leaf-layout.js'
import { LEAF_ENTRY_OVERHEAD, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.js'
import { corrupt, decodeKey, entryPastPayload } from './node-codec.js'
import { fromSortKey } from './sort-key.js'
import { writeUtf8 } from './utf8-key.js'

/*
 * Reference leaf (CATALOG_LEAF, level 0, count = entries), after the 32-byte page header:
 *   { u16 keyLen, u16 valueLen, key, value } × count
 * Little-endian; keys are UTF-8; `used` is the payload length, the raw size of the entries.
 */

/** Encodes a leaf's entries into `page` and returns the payload length. */
function encodeLeaf(node: LeafNode, page: Uint8Array): number {
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

function decodeLeaf(page: Uint8Array, h: PageHeader, ptr: BlockPtr): LeafNode {
  if (h.level !== 0) corrupt(ptr.page, `leaf claims level ${h.level}`)
  const end = PAGE_HEADER_SIZE + h.used
  const v = viewOf(page)
  const data = page.slice(PAGE_HEADER_SIZE, end)
  const keys = new Array<string>(h.count)
  const keyBytes = new Array<number>(h.count)
  const values = new Array<Uint8Array>(h.count)
  let off = PAGE_HEADER_SIZE
  for (let i = 0; i < h.count; i++) {
    if (off + LEAF_ENTRY_OVERHEAD > end) entryPastPayload(ptr.page)
    const keyLen = v.getUint16(off, true)
    const valueLen = v.getUint16(off + 2, true)
    const k = off + LEAF_ENTRY_OVERHEAD
    if (keyLen > MAX_KEY_BYTES || valueLen > MAX_VALUE_BYTES || k + keyLen + valueLen > end) entryPastPayload(ptr.page)
    keys[i] = decodeKey(page, k, keyLen, ptr.page)
    keyBytes[i] = keyLen
    if (i > 0 && keys[i - 1] >= keys[i]) corrupt(ptr.page, 'keys out of order')
    const vs = k + keyLen - PAGE_HEADER_SIZE
    values[i] = data.subarray(vs, vs + valueLen)
    off = k + keyLen + valueLen
  }
  if (off !== end) corrupt(ptr.page, 'payload length does not match its entries')
  return new LeafNode(-1, keys, keyBytes, values, h.used)
}

function leafValues(page: Uint8Array, count: number, end: number, ptr: BlockPtr): Uint8Array[] {
  return entryValues(page, count, PAGE_HEADER_SIZE, end, ptr)
}

/**
 * The values of `count` leaf entries `{ u16 keyLen, u16 valueLen, key, value }` from `off` on
 * (views into `page`), lengths checked against `end`, keys not decoded.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` naming the page
 */
export function entryValues(page: Uint8Array, count: number, from: number, end: number, ptr: BlockPtr): Uint8Array[] {
  const v = viewOf(page)
  const values = new Array<Uint8Array>(count)
  let off = from
  for (let i = 0; i < count; i++) {
    if (off + LEAF_ENTRY_OVERHEAD > end) entryPastPayload(ptr.page)
    const start = off + LEAF_ENTRY_OVERHEAD + v.getUint16(off, true)
    off = start + v.getUint16(off + 2, true)
    if (off > end) entryPastPayload(ptr.page)
    values[i] = page.subarray(start, off)
  }
  return values
}

/** The reference leaf layout of §9 (type 2): the payload is the raw size of the entries. */
export const referenceLeafLayout: LeafLayout = Object.freeze<LeafLayout>({
  type: PageType.CATALOG_LEAF,
  rawLimit: PAGE_PAYLOAD,
  size: (_first, _last, _count, raw) => raw,
  encode: encodeLeaf,
  decode: decodeLeaf,
  values: leafValues,
})
