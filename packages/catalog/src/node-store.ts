import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { PAGE_PAYLOAD, PageType, writeNode, type BlockPtr, type PageIO } from '@cartridge/pager'
import { NodeBase, childHigh, childLow, isNode, type BranchNode, type CatalogNode, type Child } from './catalog-node.js'
import { leafUsed, type LeafLayout } from './leaf-layout.js'
import { encodeBranch, readNode } from './node-codec.js'

/**
 * Where parsed clean nodes may be kept between uses, keyed by page number (an ARC or LRU cache,
 * or a `Map`). Entries are checked against the pointer before use, and foreign values are ignored,
 * so one cache can serve several structures.
 */
export interface NodeCache {
  get(key: number): unknown
  set(key: number, value: unknown): void
  delete(key: number): boolean
}

/**
 * Loads, clones, frees and writes the nodes of one catalog: the copy-on-write rules in one place.
 * @internal
 */
export class NodeStore {
  /** The current generation: dirty nodes of this generation may be changed in place. */
  gen = 0

  constructor(
    readonly io: PageIO,
    readonly cache: NodeCache | undefined,
    /** How the catalog's leaves lie in their pages. */
    readonly layout: LeafLayout,
  ) {}

  /**
   * The node behind `child`: the object itself, a cached clean node, or a verified and parsed page.
   * `level` is the level the parent expects (undefined for a root); a parsed page must also keep its
   * keys within `[lo, hi)`, the range the parent gives it.
   */
  load(child: Child, level?: number, lo?: string, hi?: string): CatalogNode {
    if (isNode(child)) return child
    const hit = this.cache?.get(child.page)
    if (hit instanceof NodeBase) {
      const p = hit.ptr
      if (p !== undefined && p.page === child.page && p.txn === child.txn && p.checksum === child.checksum) {
        const node = hit as CatalogNode
        if (level === undefined || node.level === level) return node
      }
    }
    const node = readNode(this.io, child, this.layout, level, lo, hi)
    this.cache?.set(child.page, node)
    return node
  }

  /** Child `i` of `parent`, whose own key range is `[lo, hi)`. */
  child(parent: BranchNode, i: number, lo: string | undefined, hi: string | undefined): CatalogNode {
    const slot = parent.children[i]
    if (isNode(slot)) return slot
    return this.load(slot, parent.level - 1, childLow(parent, i, lo), childHigh(parent, i, hi))
  }

  /** `node` itself when it may change in place, else a dirty clone (freeing the page it came from). */
  mutable(node: CatalogNode): CatalogNode {
    if (node.ptr === undefined && node.gen === this.gen) return node
    this.release(node)
    return node.clone(this.gen)
  }

  /** Makes child `i` of a mutable branch (key range `[lo, hi)`) mutable, stores it in the slot and returns it. */
  mutableChild(parent: BranchNode, i: number, lo: string | undefined, hi: string | undefined): CatalogNode {
    const slot = parent.children[i]
    if (isNode(slot) && slot.ptr === undefined && slot.gen === this.gen) return slot
    const node = this.mutable(this.child(parent, i, lo, hi))
    parent.children[i] = node
    return node
  }

  /** Frees the page of a child leaving the working tree (nothing to free for a dirty node). */
  release(child: Child): void {
    const ptr = isNode(child) ? child.ptr : child
    if (ptr === undefined) return
    this.io.free(ptr)
    this.cache?.delete(ptr.page)
  }

  /**
   * Writes `node` and its dirty descendants, children first, and returns its pointer. Written
   * nodes become clean: parents keep only their pointers, the cache keeps the objects.
   */
  write(node: CatalogNode): BlockPtr {
    if (node.ptr !== undefined) return node.ptr
    const layout = this.layout
    const used = node.leaf ? leafUsed(layout, node) : node.bytes
    if (used > PAGE_PAYLOAD) throw new CartridgeError(ErrorCodes.CORRUPT, `catalog node of ${used} bytes does not fit a page`)
    let ptr: BlockPtr
    if (node.leaf) {
      ptr = writeNode(this.io, layout.type, 0, node.keys.length, used, (page) => {
        checkLength(layout.encode(node, page), used)
      })
    } else {
      const ptrs = node.children.map((c) => (isNode(c) ? this.write(c) : c))
      node.children = ptrs
      ptr = writeNode(this.io, PageType.CATALOG_BRANCH, node.level, ptrs.length, node.bytes, (page) => {
        checkLength(encodeBranch(node, ptrs, page), node.bytes)
      })
    }
    node.ptr = ptr
    this.cache?.set(ptr.page, node)
    return ptr
  }
}

function checkLength(actual: number, expected: number): void {
  if (actual !== expected) throw new CartridgeError(ErrorCodes.CORRUPT, `catalog node encodes to ${actual} bytes, expected ${expected}`)
}
