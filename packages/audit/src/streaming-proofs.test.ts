import { CartridgeError, ErrorCodes } from '@cartridge/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  EMPTY_ROOT, MerkleFrontier, consistencyProof, consistencyProofFrom, inclusionProof, inclusionProofFrom, leafHash, rootFrom, rootOf,
  verifyConsistency, verifyInclusion,
} from './index.js'
import type { LeafSource, RotatedBase } from './index.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const hexes = (bs: readonly Uint8Array[]) => bs.map(hex)
const LEAVES = Array.from({ length: 50_100 }, (_, i) => leafHash(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, i >> 16, 42)))

/** A source over LEAVES (which run past every n used) that records how it is used and refuses leaves before `min`. */
function counting(min = 0) {
  const stats = { calls: 0, from: -1, consumed: 0, last: -1 }
  const source: LeafSource = (from) => {
    stats.calls++
    stats.from = from
    if (from < min) throw new Error(`source called from ${from}, below the rotated base ${min}`)
    return (function* () {
      for (let i = from; i < LEAVES.length; i++) {
        stats.consumed++
        stats.last = i
        yield LEAVES[i]
      }
    })()
  }
  return { source, stats }
}

/** The frontier a log keeps when it rotates out its first `size` entries. */
function baseAt(size: number): RotatedBase {
  const f = new MerkleFrontier()
  for (let i = 0; i < size; i++) f.append(LEAVES[i])
  return { size, hashes: f.hashes() }
}

/** Runs `fn`, returning its result or the CartridgeError code it threw (anything else fails the test). */
function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; code: string } {
  try {
    return { ok: true, value: fn() }
  } catch (e) {
    if (e instanceof CartridgeError) return { ok: false, code: e.code }
    throw e
  }
}

function codeOf(fn: () => unknown): string {
  const r = attempt(fn)
  return r.ok ? 'ok' : r.code
}

// Reference: the subtrees RFC 9162 PATH and SUBPROOF hash, written recursively as in the RFC.
type R = [number, number]
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1)
function refPath(m: number, lo: number, hi: number): R[] {
  if (hi - lo <= 1) return []
  const k = split(hi - lo)
  return m < lo + k ? [...refPath(m, lo, lo + k), [lo + k, hi]] : [...refPath(m, lo + k, hi), [lo, lo + k]]
}
function refSub(m: number, lo: number, hi: number, complete: boolean): R[] {
  if (m === hi - lo) return complete ? [] : [[lo, hi]]
  const k = split(hi - lo)
  return m <= k ? [...refSub(m, lo, lo + k, complete), [lo + k, hi]] : [...refSub(m - k, lo + k, hi, false), [lo, lo + k]]
}
/** Whether MTH(D[lo:hi]) can be had from leaves ≥ b and the base frontier at b. */
function computable([lo, hi]: R, b: number): boolean {
  const bounds = new Set([0])
  for (let bit = 0, at = 0; 2 ** bit <= b; bit++) {
    // b with its low `bit` bits cleared
    at = b - (b % 2 ** bit)
    bounds.add(at)
  }
  return lo >= b || (bounds.has(lo) && (hi >= b || bounds.has(hi)))
}

describe('streaming Merkle proofs', () => {
  it('the reference range lists give the array-based proofs (so the rotation oracle below is sound)', () => {
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m < n; m++) expect(hexes(refPath(m, 0, n).map(([lo, hi]) => rootOf(LEAVES, lo, hi)))).toEqual(hexes(inclusionProof(LEAVES, m, n)))
      for (let m = 1; m < n; m++) expect(hexes(refSub(m, 0, n, true).map(([lo, hi]) => rootOf(LEAVES, lo, hi)))).toEqual(hexes(consistencyProof(LEAVES, m, n)))
    }
  })

  it('equal the array-based proofs and verify, for every n ≤ 70 and every m, reading the leaves once', () => {
    for (let n = 0; n <= 70; n++) {
      const root = rootOf(LEAVES, 0, n)
      const r = counting()
      expect(hex(rootFrom(r.source, n)), `root ${n}`).toBe(hex(root))
      expect(r.stats.calls).toBe(n === 0 ? 0 : 1)
      if (n > 0) expect([r.stats.from, r.stats.last, r.stats.consumed]).toEqual([0, n - 1, n])

      for (let m = 0; m < n; m++) {
        const c = counting()
        const proof = inclusionProofFrom(c.source, m, n)
        expect(hexes(proof), `inclusion ${m} in ${n}`).toEqual(hexes(inclusionProof(LEAVES, m, n)))
        expect(verifyInclusion(LEAVES[m], m, n, proof, root)).toBe(true)
        if (n === 1) expect(c.stats.calls).toBe(0)
        else {
          // Leaf m itself is not needed: not read when it is first or last.
          const from = m === 0 ? 1 : 0
          const last = m === n - 1 ? n - 2 : n - 1
          expect([c.stats.calls, c.stats.from, c.stats.last, c.stats.consumed]).toEqual([1, from, last, last - from + 1])
        }
      }

      for (let m = 0; m <= n; m++) {
        const c = counting()
        const proof = consistencyProofFrom(c.source, m, n)
        expect(hexes(proof), `consistency ${m} → ${n}`).toEqual(hexes(consistencyProof(LEAVES, m, n)))
        expect(verifyConsistency(m, n, rootOf(LEAVES, 0, m), root, proof)).toBe(true)
        if (m === 0 || m === n) expect([proof.length, c.stats.calls]).toEqual([0, 0])
        else {
          // A power-of-two old tree is one whole subtree the proof leaves out, so reading starts after it.
          const from = (m & (m - 1)) === 0 ? m : 0
          expect([c.stats.calls, c.stats.from, c.stats.last, c.stats.consumed]).toEqual([1, from, n - 1, n - from])
        }
      }
    }
  })

  it('read a large log in one call, each leaf at most once and none past n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5_000, max: 50_000 }), fc.nat(), fc.nat(), (n, a, b) => {
        const m = a % n
        const root = rootOf(LEAVES, 0, n)

        const r = counting()
        expect(hex(rootFrom(r.source, n))).toBe(hex(root))
        expect([r.stats.calls, r.stats.consumed, r.stats.last]).toEqual([1, n, n - 1])

        const c = counting()
        const proof = inclusionProofFrom(c.source, m, n)
        expect(hexes(proof)).toEqual(hexes(inclusionProof(LEAVES, m, n)))
        expect(verifyInclusion(LEAVES[m], m, n, proof, root)).toBe(true)
        const last = m === n - 1 ? n - 2 : n - 1
        expect([c.stats.calls, c.stats.from, c.stats.last, c.stats.consumed]).toEqual([1, m === 0 ? 1 : 0, last, last + 1 - (m === 0 ? 1 : 0)])

        const old = 1 + (b % n)
        const k = counting()
        const cp = consistencyProofFrom(k.source, old, n)
        expect(hexes(cp)).toEqual(hexes(consistencyProof(LEAVES, old, n)))
        expect(verifyConsistency(old, n, rootOf(LEAVES, 0, old), root, cp)).toBe(true)
        expect(k.stats.calls).toBe(old === n ? 0 : 1)
        if (old < n) expect([k.stats.last, k.stats.consumed]).toEqual([n - 1, n - k.stats.from])

        // Rotated at some base ≤ m: inclusion of m still works and never reads before the base.
        const base = baseAt(b % (m + 1))
        const rb = counting(base.size)
        expect(hexes(inclusionProofFrom(rb.source, m, n, base))).toEqual(hexes(proof))
        expect(rb.stats.calls).toBe(1)
        expect(rb.stats.from).toBeGreaterThanOrEqual(base.size)
        expect([rb.stats.last, rb.stats.consumed]).toEqual([last, last + 1 - rb.stats.from])
        const rr = counting(base.size)
        expect(hex(rootFrom(rr.source, n, base))).toBe(hex(root))
        expect([rr.stats.from, rr.stats.consumed]).toEqual([base.size, n - base.size])
      }),
      { numRuns: 6 },
    )
  })

  it('with a rotated base at every size, for n ≤ 40: equal the array-based proofs exactly when the needed subtrees survive, else NOT_FOUND', () => {
    let ok = 0
    let rotated = 0
    const N = 40
    const roots = Array.from({ length: N + 1 }, (_, n) => rootOf(LEAVES, 0, n))
    const incl = roots.map((_, n) => Array.from({ length: n }, (_, m) => inclusionProof(LEAVES, m, n)))
    const cons = roots.map((_, n) => Array.from({ length: n + 1 }, (_, m) => consistencyProof(LEAVES, m, n)))
    for (let b = 0; b <= N; b++) {
      const base = baseAt(b)
      const expectCase = (what: string, ranges: R[], got: ReturnType<typeof attempt<Uint8Array[]>>, want: Uint8Array[]) => {
        if (ranges.every((r) => computable(r, b))) {
          expect(got.ok, what).toBe(true)
          if (got.ok) expect(hexes(got.value), what).toEqual(hexes(want))
          ok++
        } else {
          expect(got, what).toEqual({ ok: false, code: ErrorCodes.NOT_FOUND })
          rotated++
        }
      }
      for (let n = 0; n <= N; n++) {
        const root = attempt(() => [rootFrom(counting(b).source, n, base)])
        expectCase(`root ${n}, base ${b}`, n === 0 ? [] : [[0, n]], root, [roots[n]])
        if (n >= b) expect(root.ok, `root ${n} ≥ base ${b}`).toBe(true)

        for (let m = 0; m < n; m++) {
          const what = `inclusion ${m} in ${n}, base ${b}`
          const got = attempt(() => inclusionProofFrom(counting(b).source, m, n, base))
          expectCase(what, refPath(m, 0, n), got, incl[n][m])
          if (m >= b) expect(got.ok, what).toBe(true)
          if (got.ok) expect(verifyInclusion(LEAVES[m], m, n, got.value, roots[n]), what).toBe(true)
        }
        for (let m = 0; m <= n; m++) {
          const what = `consistency ${m} → ${n}, base ${b}`
          const got = attempt(() => consistencyProofFrom(counting(b).source, m, n, base))
          expectCase(what, m === 0 || m === n ? [] : refSub(m, 0, n, true), got, cons[n][m])
          if (m === b || m === 0 || m === n) expect(got.ok, what).toBe(true)
          if (got.ok) expect(verifyConsistency(m, n, roots[m], roots[n], got.value), what).toBe(true)
        }
      }
    }
    // Both outcomes really occur.
    expect(ok).toBeGreaterThan(20_000)
    expect(rotated).toBeGreaterThan(1_000)
  })

  it('property: any n, m and base give the array-based proof or NOT_FOUND, and succeed whenever the needed leaves are kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.nat(), fc.nat(), fc.nat(), (n, a, c, d) => {
        const m = a % n
        const b = c % (n + 1)
        const old = d % (n + 1)
        const base = baseAt(b)
        const root = rootOf(LEAVES, 0, n)
        expect(hex(rootFrom(counting(b).source, n, base))).toBe(hex(root))

        const inc = attempt(() => inclusionProofFrom(counting(b).source, m, n, base))
        if (inc.ok) expect(hexes(inc.value)).toEqual(hexes(inclusionProof(LEAVES, m, n)))
        else expect(inc.code).toBe(ErrorCodes.NOT_FOUND)
        expect(inc.ok).toBe(refPath(m, 0, n).every((r) => computable(r, b)))
        if (m >= b) expect(inc.ok).toBe(true)

        const con = attempt(() => consistencyProofFrom(counting(b).source, old, n, base))
        if (con.ok) expect(hexes(con.value)).toEqual(hexes(consistencyProof(LEAVES, old, n)))
        else expect(con.code).toBe(ErrorCodes.NOT_FOUND)
        expect(con.ok).toBe(old === 0 || old === n || refSub(old, 0, n, true).every((r) => computable(r, b)))
        expect(hexes(consistencyProofFrom(counting(b).source, b, n, base))).toEqual(hexes(consistencyProof(LEAVES, b, n)))
      }),
      { numRuns: 300 },
    )
  })

  it('reject bad arguments with INVALID_ARGUMENT without reading', () => {
    const r = counting()
    const bad = [
      () => inclusionProofFrom(r.source, 5, 5), () => inclusionProofFrom(r.source, -1, 5), () => inclusionProofFrom(r.source, 0, 0),
      () => inclusionProofFrom(r.source, 1.5, 5), () => inclusionProofFrom(r.source, 0, Number.NaN),
      () => consistencyProofFrom(r.source, 6, 5), () => consistencyProofFrom(r.source, -1, 5), () => consistencyProofFrom(r.source, 1, 2 ** 53),
      () => rootFrom(r.source, -1), () => rootFrom(r.source, 2.5), () => rootFrom(r.source, Number.POSITIVE_INFINITY),
    ]
    for (const fn of bad) expect(codeOf(fn)).toBe(ErrorCodes.INVALID_ARGUMENT)
    expect(r.stats.calls).toBe(0)
    // consistencyProof allows m = 0 and m = n (empty proofs); so does the streaming version.
    expect(consistencyProofFrom(r.source, 0, 9)).toEqual([])
    expect(consistencyProofFrom(r.source, 9, 9)).toEqual([])
    expect(hex(rootFrom(r.source, 0))).toBe(hex(EMPTY_ROOT))
    expect(r.stats.calls).toBe(0)
  })

  it('report a source that ends too early, and a base whose hashes do not fit its size', () => {
    const short: LeafSource = function* (from) {
      for (let i = from; i < 10; i++) yield LEAVES[i]
    }
    expect(hex(rootFrom(short, 10))).toBe(hex(rootOf(LEAVES, 0, 10)))
    expect(codeOf(() => rootFrom(short, 11))).toBe(ErrorCodes.INVALID_ARGUMENT)
    expect(codeOf(() => inclusionProofFrom(short, 3, 12))).toBe(ErrorCodes.INVALID_ARGUMENT)
    expect(codeOf(() => consistencyProofFrom(short, 3, 12))).toBe(ErrorCodes.INVALID_ARGUMENT)

    const base = baseAt(11) // 8 + 2 + 1
    expect(codeOf(() => rootFrom(counting(11).source, 20, { size: 11, hashes: base.hashes.slice(1) }))).toBe(ErrorCodes.CORRUPT)
    expect(codeOf(() => rootFrom(counting(12).source, 20, { size: 12, hashes: base.hashes }))).toBe(ErrorCodes.CORRUPT)
    expect(codeOf(() => consistencyProofFrom(counting(11).source, 0, 20, { size: 11, hashes: [] }))).toBe(ErrorCodes.CORRUPT)
    // A wrong (but well-formed) base hash changes the result: the base is really used.
    const forged = { size: 11, hashes: [leafHash(Uint8Array.of(1)), ...base.hashes.slice(1)] }
    expect(hex(rootFrom(counting(11).source, 20, forged))).not.toBe(hex(rootOf(LEAVES, 0, 20)))
    expect(hex(rootFrom(counting(11).source, 20, base))).toBe(hex(rootOf(LEAVES, 0, 20)))
  })

  it('rotated-out entries give NOT_FOUND with a message saying so', () => {
    const base = baseAt(13) // 8 + 4 + 1: boundaries 0, 8, 12, 13
    let err: unknown
    try {
      inclusionProofFrom(counting(13).source, 5, 20, base) // needs [4, 5), inside the rotated subtree [0, 8)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(CartridgeError)
    expect((err as CartridgeError).code).toBe(ErrorCodes.NOT_FOUND)
    expect((err as CartridgeError).message).toMatch(/rotated out/)
    // The boundaries themselves work, even below the base.
    expect(hex(rootFrom(counting(13).source, 12, base))).toBe(hex(rootOf(LEAVES, 0, 12)))
    expect(hex(rootFrom(counting(13).source, 8, base))).toBe(hex(rootOf(LEAVES, 0, 8)))
    expect(codeOf(() => rootFrom(counting(13).source, 10, base))).toBe(ErrorCodes.NOT_FOUND)
    expect(hexes(consistencyProofFrom(counting(13).source, 12, 13, base))).toEqual(hexes(consistencyProof(LEAVES, 12, 13)))
  })
})
