import { viewOf } from '@cartridge/core'
import { PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, type BlockPtr, type PageHeader } from '@cartridge/pager'
import { LeafNode } from '../catalog-node.js'
import type { LeafLayout } from '../leaf-layout.js'
import { LEAF_ENTRY_OVERHEAD, MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../limits.js'
import { corrupt, decodeKey, entryPastPayload } from '../node-codec.js'
import { fromSortKey } from '../sort-key.js'
import { writeUtf8 } from '../utf8-key.js'
import { entryValues } from '../reference-leaf.js'

/*
 * Prefix-compressed leaf (CATALOG_PREFIX_LEAF, level 0, count = entries ≥ 1), after the 32-byte
 * page header (spec §9, "Prefix-compressed leaves"):
 *   u16 prefixLen, prefix, { u16 suffixLen, u16 valueLen, suffix, value } × count
 * Little-endian, UTF-8; key i = prefix + suffix i, and prefix and suffixes are each well-formed
 * UTF-8 (the prefix ends on a character boundary). Writers use the longest common prefix of the
 * first and last keys that ends on a character boundary; readers accept any shorter one.
 */

/** Bytes of the prefix header: `u16 prefixLen`. */
export const PREFIX_HEADER_BYTES = 2

/** Sort-key code units of the first halves of surrogate pairs (U+D800–DBFF moved up by 0x2000). */
const HIGH_FIRST = 0xf800
const HIGH_LAST = 0xfbff

/**
 * The longest common prefix of sort keys `a` and `b` that ends on a character boundary, as
 * `units` (UTF-16 code units) and `bytes` (its UTF-8 length). Written into `out` to spare an
 * allocation on the hot path.
 */
export function commonPrefix(a: string, b: string, out: { units: number; bytes: number }): void {
  const n = Math.min(a.length, b.length)
  let i = 0
  let bytes = 0
  for (; i < n; i++) {
    const c = a.charCodeAt(i)
    if (c !== b.charCodeAt(i)) break
    // UTF-8 length of the unit in sort-key form: surrogate halves (F800–FFFF) are 2 of a pair's 4.
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0xf800 ? 3 : 2
  }
  if (i > 0) {
    const c = a.charCodeAt(i - 1)
    if (c >= HIGH_FIRST && c <= HIGH_LAST) {
      i--
      bytes -= 2
    }
  }
  out.units = i
  out.bytes = bytes
}

const scratch = { units: 0, bytes: 0 }

/** Payload bytes of `count` ≥ 1 entries from `first` to `last` of raw size `raw`: raw − (count − 1) × P + 2. */
function size(first: string, last: string, count: number, raw: number): number {
  if (count <= 1) return raw + PREFIX_HEADER_BYTES
  commonPrefix(first, last, scratch)
  return raw - (count - 1) * scratch.bytes + PREFIX_HEADER_BYTES
}

/** Writes code units `[from, s.length)` of sort key `s` (ASCII when `ascii`) at `page[off]`; returns the byte count. */
function writeTail(page: Uint8Array, off: number, s: string, from: number, ascii: boolean): number {
  if (!ascii) return writeUtf8(page, off, fromSortKey(s.slice(from)))
  const n = s.length - from
  for (let i = 0; i < n; i++) page[off + i] = s.charCodeAt(from + i)
  return n
}

function encode(node: LeafNode, page: Uint8Array): number {
  const v = viewOf(page)
  const { keys, keyBytes, values } = node
  const first = keys[0]
  commonPrefix(first, keys[keys.length - 1], scratch)
  const { units, bytes } = scratch
  let off = PAGE_HEADER_SIZE + PREFIX_HEADER_BYTES
  // The prefix is ASCII exactly when its UTF-8 length is its length in code units.
  const prefixLen = units === bytes ? writeTail(page, off, first.slice(0, units), 0, true) : writeUtf8(page, off, fromSortKey(first.slice(0, units)))
  v.setUint16(PAGE_HEADER_SIZE, prefixLen, true)
  off += prefixLen
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    const suffixLen = writeTail(page, off + LEAF_ENTRY_OVERHEAD, k, units, keyBytes[i] === k.length)
    const value = values[i]
    page.set(value, off + LEAF_ENTRY_OVERHEAD + suffixLen)
    v.setUint16(off, suffixLen, true)
    v.setUint16(off + 2, value.length, true)
    off += LEAF_ENTRY_OVERHEAD + suffixLen + value.length
  }
  return off - PAGE_HEADER_SIZE
}

/** Reads the prefix: its sort key and where the entries start. */
function readPrefix(page: Uint8Array, end: number, ptr: BlockPtr): { prefix: string; prefixLen: number; off: number } {
  const off = PAGE_HEADER_SIZE + PREFIX_HEADER_BYTES
  if (off > end) corrupt(ptr.page, 'prefix runs past the payload')
  const prefixLen = viewOf(page).getUint16(PAGE_HEADER_SIZE, true)
  if (prefixLen > MAX_KEY_BYTES || off + prefixLen > end) corrupt(ptr.page, 'prefix runs past the payload')
  return { prefix: decodeKey(page, off, prefixLen, ptr.page), prefixLen, off: off + prefixLen }
}

function decode(page: Uint8Array, h: PageHeader, ptr: BlockPtr): LeafNode {
  if (h.level !== 0) corrupt(ptr.page, `leaf claims level ${h.level}`)
  if (h.count < 1) corrupt(ptr.page, 'empty leaf')
  const end = PAGE_HEADER_SIZE + h.used
  const v = viewOf(page)
  const data = page.slice(PAGE_HEADER_SIZE, end)
  const keys = new Array<string>(h.count)
  const keyBytes = new Array<number>(h.count)
  const values = new Array<Uint8Array>(h.count)
  const { prefix, prefixLen, off: entries } = readPrefix(page, end, ptr)
  let off = entries
  let raw = 0
  for (let i = 0; i < h.count; i++) {
    if (off + LEAF_ENTRY_OVERHEAD > end) entryPastPayload(ptr.page)
    const suffixLen = v.getUint16(off, true)
    const valueLen = v.getUint16(off + 2, true)
    const s = off + LEAF_ENTRY_OVERHEAD
    if (prefixLen + suffixLen > MAX_KEY_BYTES || valueLen > MAX_VALUE_BYTES || s + suffixLen + valueLen > end) entryPastPayload(ptr.page)
    keys[i] = suffixLen === 0 ? prefix : prefix + decodeKey(page, s, suffixLen, ptr.page)
    keyBytes[i] = prefixLen + suffixLen
    if (i > 0 && keys[i - 1] >= keys[i]) corrupt(ptr.page, 'keys out of order')
    const vs = s + suffixLen - PAGE_HEADER_SIZE
    values[i] = data.subarray(vs, vs + valueLen)
    raw += LEAF_ENTRY_OVERHEAD + prefixLen + suffixLen + valueLen
    off = s + suffixLen + valueLen
  }
  if (off !== end) corrupt(ptr.page, 'payload length does not match its entries')
  return new LeafNode(-1, keys, keyBytes, values, raw)
}

function leafValues(page: Uint8Array, count: number, end: number, ptr: BlockPtr): Uint8Array[] {
  let off = PAGE_HEADER_SIZE + PREFIX_HEADER_BYTES
  if (off > end) corrupt(ptr.page, 'prefix runs past the payload')
  off += viewOf(page).getUint16(PAGE_HEADER_SIZE, true)
  if (off > end) corrupt(ptr.page, 'prefix runs past the payload')
  return entryValues(page, count, off, end, ptr)
}

/**
 * Prefix-compressed leaves (type 11, spec §9): the keys' common prefix is stored once per leaf.
 * A leaf of entries with raw size `raw` and common prefix P (UTF-8 bytes) takes
 * raw − (count − 1) × P + 2 bytes, which is 2 more than the raw size when the keys share nothing.
 */
export const prefixLeafLayout: LeafLayout = Object.freeze<LeafLayout>({
  type: PageType.CATALOG_PREFIX_LEAF,
  rawLimit: PAGE_PAYLOAD - PREFIX_HEADER_BYTES,
  size,
  encode,
  decode,
  values: leafValues,
})
