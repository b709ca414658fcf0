import { PAGE_PAYLOAD, type BlockPtr, type PageHeader, type PageType } from '@cartridge/pager'
import type { LeafNode } from './catalog-node.js'

/**
 * How the leaves of one catalog lie in their pages: the B+tree code (inserts, splits, merges,
 * writes, reads, walks) asks its layout what a run of entries takes and how it is encoded, so one
 * tree serves several leaf formats. Branches always have the reference format (§9, type 3).
 *
 * A leaf node's `bytes` is its raw size Σ(4 + keyBytes + valueLen), kept up to date by the tree
 * as entries come and go; {@link size} turns a raw size into the layout's payload length. The
 * reference layout's payload is the raw size itself, so its checks stay integer comparisons.
 */
export interface LeafLayout {
  /** Page type of every leaf (level 0). */
  readonly type: PageType
  /**
   * A leaf whose raw size is at most this surely fits a page (`PAGE_PAYLOAD` less what the
   * layout may add to the raw size), without asking {@link size}.
   */
  readonly rawLimit: number
  /**
   * Payload bytes of a leaf of `count` ≥ 1 entries whose first and last keys (sort keys) are
   * `first` and `last` and whose raw size is `raw`. Grows when an entry is added to a run and
   * shrinks when one is removed, so a run that fits keeps fitting when it loses entries.
   */
  size(first: string, last: string, count: number, raw: number): number
  /** Encodes the entries of `node` into the payload of `page` and returns the payload length. */
  encode(node: LeafNode, page: Uint8Array): number
  /**
   * Parses the payload of a verified page of this layout's type (`h` its header, `used` within
   * the payload, level not yet checked) into a leaf node, checking every length and the key order,
   * so a well-checksummed but malformed page is reported, never trusted.
   * @throws CartridgeError `CARTRIDGE_CORRUPT` naming the page
   */
  decode(page: Uint8Array, h: PageHeader, ptr: BlockPtr): LeafNode
  /**
   * The values of the `count` entries of a verified leaf page whose payload ends at page offset
   * `end`, as views into the page, without decoding keys. Lengths are checked, key order is not.
   * @throws CartridgeError `CARTRIDGE_CORRUPT` naming the page
   */
  values(page: Uint8Array, count: number, end: number, ptr: BlockPtr): Uint8Array[]
}

/** Payload bytes of leaf `node` (with at least one entry) in `layout`. */
export function leafUsed(layout: LeafLayout, node: LeafNode): number {
  const { keys } = node
  return layout.size(keys[0], keys[keys.length - 1], keys.length, node.bytes)
}

/** True when leaf `node` fits a page in `layout`. */
export function leafFits(layout: LeafLayout, node: LeafNode): boolean {
  return node.bytes <= layout.rawLimit || leafUsed(layout, node) <= PAGE_PAYLOAD
}
