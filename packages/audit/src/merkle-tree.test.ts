import fc from 'fast-check'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { EMPTY_ROOT, MerkleFrontier, consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion } from './index.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))
// The test data of RFC 6962's reference implementation (Certificate Transparency), used by every CT log library.
const DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex)
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
const LEAVES = DATA.map(leafHash)

describe('RFC 9162 Merkle tree', () => {
  it('matches the published roots for sizes 0..8, by recursion and by the frontier', () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0])
    const f = new MerkleFrontier()
    expect(hex(f.root())).toBe(ROOTS[0])
    for (let n = 1; n <= 8; n++) {
      expect(hex(rootOf(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n])
      f.append(LEAVES[n - 1])
      expect(hex(f.root()), `frontier ${n}`).toBe(ROOTS[n])
    }
  })

  it('produces the published inclusion proofs', () => {
    expect(inclusionProof(LEAVES, 0, 8).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ])
    expect(inclusionProof(LEAVES, 5, 8).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ])
  })

  it('every inclusion and consistency proof verifies, and any change to a proof, leaf, index or root fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), fc.nat(), (n, a, b, c) => {
        const leaves = Array.from({ length: n }, (_, i) => leafHash(Uint8Array.of(i & 0xff, i >> 8, 7)))
        const f = new MerkleFrontier()
        for (const l of leaves) f.append(l)
        const root = rootOf(leaves)
        expect(f.root()).toEqual(root)
        const m = a % n
        const proof = inclusionProof(leaves, m)
        expect(verifyInclusion(leaves[m], m, n, proof, root)).toBe(true)
        expect(verifyInclusion(leaves[(m + 1) % n], m, n, proof, root)).toBe(n === 1)
        if (n > 1) expect(verifyInclusion(leaves[m], (m + 1) % n, n, proof, root)).toBe(false)
        if (proof.length > 0) {
          const bad = proof.map((p) => p.slice())
          bad[b % bad.length][c % 32] ^= 1
          expect(verifyInclusion(leaves[m], m, n, bad, root)).toBe(false)
          expect(verifyInclusion(leaves[m], m, n, proof.slice(1), root)).toBe(false)
        }
        const first = b % (n + 1)
        const oldRoot = rootOf(leaves, 0, first)
        const cp = consistencyProof(leaves, first)
        expect(verifyConsistency(first, n, oldRoot, root, cp)).toBe(true)
        if (first > 0 && first < n) {
          // A rewritten history (one old entry changed) is not consistent with the kept head.
          const rewritten = leaves.slice()
          rewritten[c % first] = leafHash(Uint8Array.of(99, 99))
          expect(verifyConsistency(first, n, oldRoot, rootOf(rewritten), consistencyProof(rewritten, first))).toBe(false)
          const bad = cp.map((p) => p.slice())
          bad[c % bad.length][a % 32] ^= 1
          expect(verifyConsistency(first, n, oldRoot, root, bad)).toBe(false)
          expect(verifyConsistency(first, n, oldRoot, leafHash(Uint8Array.of(1, 2, 3)), cp)).toBe(false)
          expect(verifyConsistency(first, n, leafHash(Uint8Array.of(4, 5, 6)), root, cp)).toBe(false)
        }
      }),
      { numRuns: 400 },
    )
  })
})

describe('MerkleFrontier.restore, hashes and clone', () => {
  const leaves = Array.from({ length: 140 }, (_, i) => leafHash(Uint8Array.of(i, 1)))
  const popcount = (n: number) => n.toString(2).replace(/0/g, '').length

  it('round-trips every size 0..70 and keeps growing like the original', () => {
    for (let size = 0; size <= 70; size++) {
      const f = new MerkleFrontier()
      for (let i = 0; i < size; i++) f.append(leaves[i])
      const hashes = f.hashes()
      expect(hashes.length, `size ${size}`).toBe(popcount(size))
      const r = MerkleFrontier.restore(size, hashes)
      expect(r.size).toBe(size)
      expect(r.hashes()).toEqual(hashes)
      expect(hex(r.root())).toBe(hex(rootOf(leaves, 0, size)))
      // The hashes are the roots of the perfect subtrees, largest first.
      let at = 0
      for (let b = 6, k = 0; b >= 0; b--) {
        if (size & (1 << b)) {
          expect(hex(hashes[k++])).toBe(hex(rootOf(leaves, at, at + (1 << b))))
          at += 1 << b
        }
      }
      const c = f.clone()
      for (let i = size; i < size + 70; i++) {
        r.append(leaves[i])
        c.append(leaves[i])
      }
      expect(hex(r.root())).toBe(hex(rootOf(leaves, 0, size + 70)))
      expect(hex(c.root())).toBe(hex(rootOf(leaves, 0, size + 70)))
      // The clone grew; the original did not.
      expect(f.size).toBe(size)
      expect(hex(f.root())).toBe(hex(rootOf(leaves, 0, size)))
    }
  })

  it('hashes() and restore() copy, so callers cannot change the frontier', () => {
    const f = new MerkleFrontier()
    for (let i = 0; i < 7; i++) f.append(leaves[i])
    const root = hex(f.root())
    f.hashes()[0][0] ^= 1
    expect(hex(f.root())).toBe(root)
    const given = f.hashes()
    const r = MerkleFrontier.restore(7, given)
    given[1][3] ^= 1
    expect(hex(r.root())).toBe(root)
  })

  it('rejects a hash count that is not popcount(size), and bad sizes or hashes, as CORRUPT', () => {
    const f = new MerkleFrontier()
    for (let i = 0; i < 11; i++) f.append(leaves[i]) // 8 + 2 + 1
    const h = f.hashes()
    const bad: [number, Uint8Array[]][] = [
      [11, h.slice(0, 2)], [11, [...h, h[0]]], [12, h], [10, h], [0, [h[0]]], [1, []],
      [-1, []], [1.5, h], [Number.NaN, []], [3, [h[0], new Uint8Array(31)]],
    ]
    for (const [size, hashes] of bad) {
      let err: unknown
      try {
        MerkleFrontier.restore(size, hashes)
      } catch (e) {
        err = e
      }
      expect(err, `size ${size}, ${hashes.length} hashes`).toBeInstanceOf(CartridgeError)
      expect((err as CartridgeError).code).toBe(ErrorCodes.CORRUPT)
    }
    expect(hex(MerkleFrontier.restore(0, []).root())).toBe(hex(EMPTY_ROOT))
  })

  it('restores sizes beyond 32 bits', () => {
    const size = 2 ** 40 + 2 ** 33 + 5
    const hashes = [leaves[0], leaves[1], leaves[2], leaves[3]]
    const r = MerkleFrontier.restore(size, hashes)
    expect(r.size).toBe(size)
    expect(r.hashes()).toEqual(hashes)
    expect(() => MerkleFrontier.restore(size, hashes.slice(1))).toThrow(CartridgeError)
  })
})
