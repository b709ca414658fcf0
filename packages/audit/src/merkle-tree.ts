import { createHash } from 'node:crypto'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency 2.0, as in RFC 6962): leaves are
 * hashed as SHA-256(0x00 ‖ entry), interior nodes as SHA-256(0x01 ‖ left ‖ right), and a tree of
 * n > 1 leaves splits at the largest power of two below n. A log whose head (size, root) an
 * outside party kept can be shown to contain an entry (inclusion proof) and to have only grown
 * since (consistency proof), each with O(log n) hashes.
 */

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

/** Hash of a log entry as a leaf: SHA-256(0x00 ‖ entry). */
export const leafHash = (entry: Uint8Array): Uint8Array => sha256(LEAF, entry)
/** Hash of an interior node: SHA-256(0x01 ‖ left ‖ right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => sha256(NODE, left, right)
/** Root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = sha256()

/** Largest power of two strictly below `n` (n ≥ 2). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** MTH(D[lo:hi]) of leaf hashes. */
export function rootOf(leaves: readonly Uint8Array[], lo = 0, hi = leaves.length): Uint8Array {
  const n = hi - lo
  if (n === 0) return EMPTY_ROOT
  if (n === 1) return leaves[lo]
  const k = split(n)
  return nodeHash(rootOf(leaves, lo, lo + k), rootOf(leaves, lo + k, hi))
}

/** PATH(m, D[lo:hi]): the inclusion proof of leaf `m` (0-based) in the tree of the first `size` leaves. */
export function inclusionProof(leaves: readonly Uint8Array[], m: number, size = leaves.length): Uint8Array[] {
  if (!(m >= 0 && m < size && size <= leaves.length)) throw new RangeError('leaf index outside the tree')
  const path = (m: number, lo: number, hi: number): Uint8Array[] => {
    const n = hi - lo
    if (n <= 1) return []
    const k = split(n)
    return m < k ? [...path(m, lo, lo + k), rootOf(leaves, lo + k, hi)] : [...path(m - k, lo + k, hi), rootOf(leaves, lo, lo + k)]
  }
  return path(m, 0, size)
}

/** RFC 9162 §2.1.3.2: whether `proof` shows `leaf` at `index` in the tree of `size` leaves with `root`. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!(index >= 0 && index < size)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else r = nodeHash(r, p)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equal(r, root)
}

/** PROOF(m, D[n]): the consistency proof from the tree of the first `m` leaves to the tree of `size` leaves. */
export function consistencyProof(leaves: readonly Uint8Array[], m: number, size = leaves.length): Uint8Array[] {
  if (!(m >= 0 && m <= size && size <= leaves.length)) throw new RangeError('tree sizes out of order')
  if (m === 0 || m === size) return []
  const sub = (m: number, lo: number, hi: number, complete: boolean): Uint8Array[] => {
    const n = hi - lo
    if (m === n) return complete ? [] : [rootOf(leaves, lo, hi)]
    const k = split(n)
    return m <= k ? [...sub(m, lo, lo + k, complete), rootOf(leaves, lo + k, hi)] : [...sub(m - k, lo + k, hi, false), rootOf(leaves, lo, lo + k)]
  }
  return sub(m, 0, size, true)
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree (`first`, `firstRoot`) is a prefix of (`second`, `secondRoot`). */
export function verifyConsistency(first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!(first >= 0 && first <= second)) return false
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot)
  if (first === 0) return proof.length === 0 && equal(firstRoot, EMPTY_ROOT)
  if (proof.length === 0) return false
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof]
  let fn = first - 1
  let sn = second - 1
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  let fr = path[0]
  let sr = path[0]
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else sr = nodeHash(sr, c)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return equal(fr, firstRoot) && equal(sr, secondRoot) && sn === 0
}

/**
 * The right edge of a growing tree: the roots of its perfect subtrees, largest first, so a log
 * appends in O(log n) and knows its root without rereading its entries.
 */
export class MerkleFrontier {
  #size = 0
  readonly #stack: { size: number; hash: Uint8Array }[] = []
  /** The root, once computed, until the next append. */
  #root: Uint8Array | undefined

  /** Number of leaves appended (or restored) so far. */
  get size(): number {
    return this.#size
  }

  /**
   * Rebuilds the frontier of a tree of `size` leaves from its perfect-subtree roots, as returned by
   * {@link MerkleFrontier.hashes}: largest subtree first, exactly one hash per set bit of `size`.
   * The hashes are copied.
   *
   * @throws CartridgeError `CARTRIDGE_CORRUPT` when `size` is not a non-negative safe integer, the
   *   number of hashes is not popcount(`size`), or a hash is not a 32-byte `Uint8Array`.
   */
  static restore(size: number, hashes: readonly Uint8Array[]): MerkleFrontier {
    if (!Number.isSafeInteger(size) || size < 0) throw new CartridgeError(ErrorCodes.CORRUPT, `Merkle frontier size ${size} is not a non-negative integer`)
    const sizes = perfectSubtreeSizes(size)
    if (!Array.isArray(hashes) || hashes.length !== sizes.length) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `a Merkle frontier of ${size} leaves has ${sizes.length} subtree hashes, got ${Array.isArray(hashes) ? hashes.length : typeof hashes}`)
    }
    const f = new MerkleFrontier()
    for (let i = 0; i < sizes.length; i++) {
      const h = hashes[i]
      if (!(h instanceof Uint8Array) || h.length !== 32) throw new CartridgeError(ErrorCodes.CORRUPT, `Merkle frontier hash ${i} is not a 32-byte SHA-256 value`)
      f.#stack.push({ size: sizes[i], hash: h.slice() })
    }
    f.#size = size
    return f
  }

  /** The roots of the perfect subtrees making up the tree so far, largest first (copies). */
  hashes(): Uint8Array[] {
    return this.#stack.map((n) => n.hash.slice())
  }

  /** An independent copy: appending to either leaves the other unchanged. */
  clone(): MerkleFrontier {
    const f = new MerkleFrontier()
    for (const n of this.#stack) f.#stack.push({ size: n.size, hash: n.hash })
    f.#size = this.#size
    return f
  }

  /** Appends a leaf hash. */
  append(leaf: Uint8Array): void {
    let node = { size: 1, hash: leaf }
    while (this.#stack.length > 0 && this.#stack[this.#stack.length - 1].size === node.size) {
      const left = this.#stack.pop()!
      node = { size: left.size * 2, hash: nodeHash(left.hash, node.hash) }
    }
    this.#stack.push(node)
    this.#size++
    this.#root = undefined
  }

  /** The root of the tree so far (RFC 9162 MTH). */
  root(): Uint8Array {
    if (this.#stack.length === 0) return EMPTY_ROOT
    if (this.#root) return this.#root
    let r = this.#stack[this.#stack.length - 1].hash
    for (let i = this.#stack.length - 2; i >= 0; i--) r = nodeHash(this.#stack[i].hash, r)
    this.#root = r
    return r
  }
}

/**
 * Sizes of the perfect subtrees a tree of `size` leaves is made of, largest first: the powers of
 * two of its binary representation (works for every safe integer, beyond 32 bits).
 */
export function perfectSubtreeSizes(size: number): number[] {
  const out: number[] = []
  let p = 1
  while (p * 2 <= size) p *= 2
  for (let rest = size; rest > 0; p /= 2) {
    if (p <= rest) {
      out.push(p)
      rest -= p
    }
  }
  return out
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i]
  return d === 0
}
