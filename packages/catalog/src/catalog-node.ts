import type { BlockPtr } from '@cartridge/pager'

/**
 * What a branch holds for each child: the block pointer of a clean (written) child, or the node
 * object of a dirty one. Clean children are never held as objects, so memory stays bounded by the
 * node cache.
 */
export type Child = CatalogNode | BlockPtr

/** A parsed or in-memory tree node. */
export type CatalogNode = LeafNode | BranchNode

/** State shared by both node kinds. */
export abstract class NodeBase {
  /**
   * Copy-on-write generation: a dirty node of the catalog's current generation may be changed in
   * place; an older one is cloned first. Clean nodes (with `ptr`) are never changed.
   */
  gen: number
  /** Where this node lives on disk; `undefined` while dirty (never written in its current form). */
  ptr: BlockPtr | undefined = undefined
  /**
   * A branch's payload bytes when encoded; a leaf's raw size Σ(4 + keyBytes + valueLen), which is
   * its payload in the reference layout (see `LeafLayout.size` for others).
   */
  bytes: number

  constructor(gen: number, bytes: number) {
    this.gen = gen
    this.bytes = bytes
  }
}

/**
 * A leaf: entries in key order. `keys` are in sort-key form (see `sort-key.ts`); `keyBytes[i]` is
 * the UTF-8 length of key i (equal to its string length exactly when the key is ASCII).
 */
export class LeafNode extends NodeBase {
  readonly leaf = true as const
  readonly level = 0
  constructor(
    gen: number,
    public keys: string[],
    public keyBytes: number[],
    public values: Uint8Array[],
    bytes: number,
  ) {
    super(gen, bytes)
  }

  /** A dirty copy of generation `gen` (values are shared: they are never changed in place). */
  clone(gen: number): LeafNode {
    return new LeafNode(gen, this.keys.slice(), this.keyBytes.slice(), this.values.slice(), this.bytes)
  }
}

/**
 * A branch: `children[i]` holds keys ≥ `keys[i]` and < `keys[i + 1]`. `keys[0]` is an unused
 * placeholder (`''`) so both arrays share indices.
 */
export class BranchNode extends NodeBase {
  readonly leaf = false as const
  constructor(
    gen: number,
    public readonly level: number,
    public keys: string[],
    public children: Child[],
    bytes: number,
  ) {
    super(gen, bytes)
  }

  /** A dirty copy of generation `gen`. */
  clone(gen: number): BranchNode {
    return new BranchNode(gen, this.level, this.keys.slice(), this.children.slice(), this.bytes)
  }
}

/** True when `c` is a node object rather than a block pointer. */
export function isNode(c: Child): c is CatalogNode {
  return c instanceof NodeBase
}

/** Index of sort key `key` in sorted `keys`, or `~insertionPoint` when absent. */
export function searchKeys(keys: readonly string[], key: string, from = 0): number {
  let lo = from
  let hi = keys.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const k = keys[mid]
    if (k < key) lo = mid + 1
    else if (k > key) hi = mid - 1
    else return mid
  }
  return ~lo
}

/** Lower bound (inclusive) of child `i`'s keys, given `lo`, the branch's own (undefined: none). */
export function childLow(branch: BranchNode, i: number, lo: string | undefined): string | undefined {
  return i > 0 ? branch.keys[i] : lo
}

/** Upper bound (exclusive) of child `i`'s keys, given `hi`, the branch's own (undefined: none). */
export function childHigh(branch: BranchNode, i: number, hi: string | undefined): string | undefined {
  return i + 1 < branch.keys.length ? branch.keys[i + 1] : hi
}

/** Index of the child of `branch` whose range holds `key`. */
export function childIndex(branch: BranchNode, key: string): number {
  const i = searchKeys(branch.keys, key, 1)
  return i >= 0 ? i : ~i - 1
}
