import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { EMPTY_ROOT, MerkleFrontier, perfectSubtreeSizes } from './merkle-tree.js'

/**
 * Merkle proofs (RFC 9162 §2.1.3 and §2.1.4) over a log too large to hold in memory: the leaf
 * hashes are read in one forward pass from a {@link LeafSource}, and the log may have been rotated,
 * keeping only the frontier ({@link RotatedBase}) of the entries moved out. Results equal those of
 * {@link inclusionProof}, {@link consistencyProof} and {@link rootOf} over the whole leaf array.
 */

/**
 * Reads leaf hashes in order: yields the leaf hashes of indices `from`, `from + 1`, … It may yield
 * more than the caller needs; the caller stops consuming (and so closes the iterator) when done.
 */
export type LeafSource = (from: number) => Iterable<Uint8Array>

/**
 * What a rotated log keeps of the entries it moved out: the frontier of the tree of its first
 * `size` leaves (the roots of its perfect subtrees, largest first, as {@link MerkleFrontier.hashes}
 * returns). Leaves before `size` are not available; the source is only called with `from >= size`.
 */
export interface RotatedBase {
  /** Number of leaves rotated out of the log. */
  size: number
  /** Roots of the perfect subtrees of the first `size` leaves, largest first (popcount(`size`) of them). */
  hashes: readonly Uint8Array[]
}

/** A subtree [lo, hi) whose MTH the proof needs, at position `slot` of the proof. */
interface Range {
  lo: number
  hi: number
  slot: number
}

/**
 * The inclusion proof of leaf `m` in the tree of the first `n` leaves, equal to
 * `inclusionProof(allLeaves, m, n)`, reading the leaves in one pass from `source`.
 *
 * @param base - the frontier kept when the log was rotated, if it was.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` unless 0 ≤ m < n (integers), or when the source
 *   ends before leaf n − 1; `CARTRIDGE_NOT_FOUND` when the proof needs entries rotated out of the log;
 *   `CARTRIDGE_CORRUPT` when `base.hashes` does not match `base.size`.
 */
export function inclusionProofFrom(source: LeafSource, m: number, n: number, base?: RotatedBase): Uint8Array[] {
  checkIndex(n, 'tree size')
  checkIndex(m, 'leaf index')
  if (!(m < n)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `leaf index ${m} is outside the tree of ${n} leaves`)
  return compute(source, pathRanges(m, n), base)
}

/**
 * The consistency proof from the tree of the first `m` leaves to the tree of the first `n`,
 * equal to `consistencyProof(allLeaves, m, n)` (empty when m is 0 or n), reading the leaves in one
 * pass from `source`.
 *
 * @param base - the frontier kept when the log was rotated, if it was.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` unless 0 ≤ m ≤ n (integers), or when the source
 *   ends before leaf n − 1; `CARTRIDGE_NOT_FOUND` when the proof needs entries rotated out of the log;
 *   `CARTRIDGE_CORRUPT` when `base.hashes` does not match `base.size`.
 */
export function consistencyProofFrom(source: LeafSource, m: number, n: number, base?: RotatedBase): Uint8Array[] {
  checkIndex(n, 'tree size')
  checkIndex(m, 'old tree size')
  if (!(m <= n)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `old tree size ${m} is larger than the new tree size ${n}`)
  return compute(source, subproofRanges(m, n), base)
}

/**
 * The root (RFC 9162 MTH) of the tree of the first `n` leaves, reading the leaves in one pass from
 * `source`; {@link EMPTY_ROOT} for n = 0. With a `base`, n should be at least `base.size` (smaller
 * n work only when n is a boundary of the base's perfect subtrees).
 *
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` unless n is a non-negative integer, or when the
 *   source ends before leaf n − 1; `CARTRIDGE_NOT_FOUND` when the root needs entries rotated out of the
 *   log; `CARTRIDGE_CORRUPT` when `base.hashes` does not match `base.size`.
 */
export function rootFrom(source: LeafSource, n: number, base?: RotatedBase): Uint8Array {
  checkIndex(n, 'tree size')
  if (n === 0) {
    if (base !== undefined) restoreBase(base)
    return EMPTY_ROOT.slice()
  }
  return compute(source, [{ lo: 0, hi: n, slot: 0 }], base)[0]
}

function checkIndex(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${what} ${x} is not a non-negative integer`)
}

/** Largest power of two strictly below `n` (n ≥ 2). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** The subtrees of RFC 9162 §2.1.3.1 PATH(m, D[0:n]), in proof order (deepest first). */
function pathRanges(m: number, n: number): Range[] {
  const topDown: { lo: number; hi: number }[] = []
  let lo = 0
  let hi = n
  while (hi - lo > 1) {
    const k = split(hi - lo)
    if (m < lo + k) {
      topDown.push({ lo: lo + k, hi })
      hi = lo + k
    } else {
      topDown.push({ lo, hi: lo + k })
      lo += k
    }
  }
  return topDown.reverse().map((r, slot) => ({ ...r, slot }))
}

/** The subtrees of RFC 9162 §2.1.4.1 SUBPROOF(m, D[0:n], true), in proof order (deepest first). */
function subproofRanges(m: number, n: number): Range[] {
  if (m === 0 || m === n) return []
  const topDown: { lo: number; hi: number }[] = []
  let lo = 0
  let hi = n
  let rest = m // leaves of the old tree inside [lo, hi)
  let complete = true
  for (;;) {
    if (rest === hi - lo) {
      if (!complete) topDown.push({ lo, hi })
      break
    }
    const k = split(hi - lo)
    if (rest <= k) {
      topDown.push({ lo: lo + k, hi })
      hi = lo + k
    } else {
      topDown.push({ lo, hi: lo + k })
      lo += k
      rest -= k
      complete = false
    }
  }
  return topDown.reverse().map((r, slot) => ({ ...r, slot }))
}

function restoreBase(base: RotatedBase): MerkleFrontier {
  if (base === null || typeof base !== 'object') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the rotated base must be an object { size, hashes }')
  return MerkleFrontier.restore(base.size, base.hashes)
}

/** How one range is computed: its leaves [start, hi) are appended to `initial` (restored from base subtrees). */
interface Task {
  range: Range
  start: number
  initial: { size: number; hashes: readonly Uint8Array[] } | undefined
}

/** Computes the MTH of every range (disjoint) with one pass over the leaves they need. */
function compute(source: LeafSource, ranges: Range[], base: RotatedBase | undefined): Uint8Array[] {
  const out: Uint8Array[] = new Array<Uint8Array>(ranges.length)
  const tasks: Task[] = []
  const baseSize = base === undefined ? 0 : base.size
  let hashes: Uint8Array[] = []
  // boundary → index in `hashes` of the first base subtree starting there.
  const boundaries = new Map<number, number>([[0, 0]])
  if (base !== undefined) {
    hashes = restoreBase(base).hashes()
    let at = 0
    perfectSubtreeSizes(baseSize).forEach((s, i) => {
      at += s
      boundaries.set(at, i + 1)
    })
  }
  for (const r of [...ranges].sort((a, b) => a.lo - b.lo)) {
    if (r.lo >= baseSize) {
      tasks.push({ range: r, start: r.lo, initial: undefined })
      continue
    }
    const first = boundaries.get(r.lo)
    if (first === undefined || (r.hi < baseSize && !boundaries.has(r.hi))) {
      throw new CartridgeError(
        ErrorCodes.NOT_FOUND,
        `the proof needs the hash of entries [${r.lo}, ${r.hi}), and entries before ${baseSize} were rotated out of the log`,
      )
    }
    const end = r.hi < baseSize ? boundaries.get(r.hi)! : hashes.length
    const initial = { size: Math.min(r.hi, baseSize) - r.lo, hashes: hashes.slice(first, end) }
    if (r.hi <= baseSize) out[r.slot] = MerkleFrontier.restore(initial.size, initial.hashes).root()
    else tasks.push({ range: r, start: baseSize, initial })
  }
  if (tasks.length === 0) return out

  // One pass from the first leaf needed; at most one frontier is live at a time.
  let t = 0
  let i = tasks[0].start
  let live: MerkleFrontier | undefined
  for (const leaf of source(i)) {
    const task = tasks[t]
    if (i >= task.start) {
      live ??= task.initial === undefined ? new MerkleFrontier() : MerkleFrontier.restore(task.initial.size, task.initial.hashes)
      live.append(leaf)
      if (i + 1 === task.range.hi) {
        out[task.range.slot] = live.root()
        live = undefined
        if (++t === tasks.length) break
      }
    }
    i++
  }
  if (t < tasks.length) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `the leaf source ended at index ${i}, before leaf ${tasks[tasks.length - 1].range.hi - 1} the proof needs`)
  }
  return out
}
