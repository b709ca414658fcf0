import { CartridgeError, ErrorCodes, crc32, getU64, setU64, viewOf } from '@cartridge/core'
import type { BlockPtr } from './block-pointer.js'

/** Bytes per page. Fixed in format version 1 (the meta page records it). */
export const PAGE_SIZE = 4096
/** Bytes of the common header at the start of every non-meta page. */
export const PAGE_HEADER_SIZE = 32
/** Payload bytes after the header. */
export const PAGE_PAYLOAD = PAGE_SIZE - PAGE_HEADER_SIZE

/** Page types (byte 4 of the header). */
export const PageType = {
  CATALOG_LEAF: 2,
  CATALOG_BRANCH: 3,
  FREEMAP_LEAF: 4,
  POINTER_NODE: 5,
  CHUNK_MAP_LEAF: 6,
  SNAPSHOT_TABLE: 7,
  /** The audit log's head (format 1.3, spec §26). */
  AUDIT_HEAD: 8,
  /** Entries of the audit log (format 1.3, spec §26). */
  AUDIT_ENTRIES: 9,
  /** The stored access policy (format 1.3, spec §27). */
  POLICY: 10,
  /** A prefix-compressed catalog leaf: every leaf of a `btree-prefix` catalog (format 1.5, spec §9). */
  CATALOG_PREFIX_LEAF: 11,
} as const
export type PageType = (typeof PageType)[keyof typeof PageType]

/** The decoded common header. */
export interface PageHeader {
  checksum: number
  type: number
  level: number
  count: number
  txn: number
  pageNo: number
  used: number
}

/**
 * Writes the header fields and the checksum into a whole page buffer.
 * Layout: crc32 u32 | type u8 | level u8 | count u16 | txn u64 | pageNo u64 | used u32 | reserved u32.
 * The checksum covers bytes 4..pageSize, so it also binds the page to its number and birth txn.
 * @returns the checksum
 */
export function sealPage(page: Uint8Array, h: Omit<PageHeader, 'checksum'>): number {
  const v = viewOf(page)
  v.setUint8(4, h.type)
  v.setUint8(5, h.level)
  v.setUint16(6, h.count, true)
  setU64(v, 8, h.txn)
  setU64(v, 16, h.pageNo)
  v.setUint32(24, h.used, true)
  v.setUint32(28, 0, true)
  const sum = crc32(page.subarray(4, PAGE_SIZE))
  v.setUint32(0, sum, true)
  return sum
}

/** Decodes a header without verifying it. */
export function readHeader(page: Uint8Array): PageHeader {
  const v = viewOf(page)
  return {
    checksum: v.getUint32(0, true),
    type: v.getUint8(4),
    level: v.getUint8(5),
    count: v.getUint16(6, true),
    txn: getU64(v, 8),
    pageNo: getU64(v, 16),
    used: v.getUint32(24, true),
  }
}

/**
 * Verifies a page read through `ptr`: its own checksum, its page number, its type, and that it is
 * the exact version the parent points to (checksum and birth txn). Never returns bad data.
 * @throws CartridgeError `CARTRIDGE_CHECKSUM` naming the page
 */
export function verifyPage(page: Uint8Array, ptr: BlockPtr, type: PageType | readonly PageType[]): PageHeader {
  const h = readHeader(page)
  const actual = crc32(page.subarray(4, PAGE_SIZE))
  const types = Array.isArray(type) ? type : [type]
  let problem = ''
  if (actual !== h.checksum) problem = 'checksum mismatch'
  else if (h.pageNo !== ptr.page) problem = `page claims to be page ${h.pageNo}`
  else if (!types.includes(h.type as PageType)) problem = `unexpected page type ${h.type}`
  else if (h.checksum !== ptr.checksum || h.txn !== ptr.txn) problem = 'page is not the version its parent points to'
  else if (h.used > PAGE_PAYLOAD) problem = 'payload length out of range'
  if (problem) {
    throw new CartridgeError(ErrorCodes.CHECKSUM, `page ${ptr.page} failed verification: ${problem}`, { page: ptr.page })
  }
  return h
}
