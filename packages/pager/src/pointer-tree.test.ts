import { describe, expect, it } from 'vitest'
import { seededRandom } from '@cartridge/core'
import { MemoryPageIO } from './memory-page-io.js'
import { PageType } from './page-format.js'
import { writeNode } from './page-io.js'
import { POINTERS_PER_NODE, buildPointerTree, readPointerTree, updatePointerTree } from './pointer-tree.js'
import type { BlockPtr } from './block-pointer.js'

const leaf = (io: MemoryPageIO, tag: number): BlockPtr => writeNode(io, PageType.CHUNK_MAP_LEAF, 0, 0, 0, (p) => (p[40] = tag & 0xff))

describe('updatePointerTree', () => {
  it('matches a rebuilt tree through random growth, shrinking and updates, releasing exactly what is unreachable', () => {
    const rnd = seededRandom(7)
    const io = new MemoryPageIO()
    let leaves: BlockPtr[] = [leaf(io, 0)]
    let root: BlockPtr | undefined = buildPointerTree(io, leaves)
    io.commit()
    const sizes = [1, 2, 168, 169, 170, 400, 169 * 169 + 3, 169 * 2, 5, 0, 3, 169 * 169, 169 * 169 + 170, 1, 169 * 169 + 1, 169 * 169 + 2]
    for (let round = 0; round < 30; round++) {
      const n = round < sizes.length ? sizes[round] : Math.floor(rnd() * 2_000)
      const updates = new Map<number, BlockPtr>()
      for (let i = leaves.length; i < n; i++) updates.set(i, leaf(io, i))
      for (let k = 0; k < 20 && n > 0; k++) {
        const i = Math.floor(rnd() * n)
        if (!updates.has(i)) updates.set(i, leaf(io, i + 1))
      }
      const released: BlockPtr[] = []
      const liveBefore = new Set(io.live)
      root = updatePointerTree(io, root, leaves.length, n, updates, (p) => released.push(p))
      const expected = Array.from({ length: n }, (_, i) => updates.get(i) ?? leaves[i])
      for (const p of released) io.free(p)
      io.commit()
      if (n === 0) expect(root).toBeUndefined()
      else expect(readPointerTree(io, root!).map((p) => p.page)).toEqual(expected.map((p) => p.page))
      // Everything still live is reachable from the new root; nothing reachable was released.
      const reachable = new Set<number>()
      if (root) for (const l of readPointerTree(io, root, (p) => reachable.add(p.page))) reachable.add(l.page)
      for (const p of io.live) if (!reachable.has(p) && liveBefore.has(p)) throw new Error(`page ${p} leaked in round ${round}`)
      for (const p of released) expect(reachable.has(p.page)).toBe(false)
      leaves = expected
      root = n === 0 ? undefined : root
    }
  })

  it('rewrites only the path above one changed leaf', () => {
    const io = new MemoryPageIO()
    const leaves = Array.from({ length: POINTERS_PER_NODE * 5 }, (_, i) => leaf(io, i))
    const root = buildPointerTree(io, leaves)
    io.commit()
    const before = io.live.size
    const released: BlockPtr[] = []
    const next = updatePointerTree(io, root, leaves.length, leaves.length, new Map([[3, leaf(io, 99)]]), (p) => released.push(p))!
    // one new leaf + one new level-1 node + one new root
    expect(io.live.size - before).toBe(3)
    const level1: number[] = []
    readPointerTree(io, root, (p) => level1.push(p.page))
    // released: the old leaf, the old level-1 node above it, the old root
    expect(released.map((p) => p.page).sort((a, b) => a - b)).toEqual([leaves[3].page, level1[0], level1[1]].sort((a, b) => a - b))
    expect(next.aux).toBe(2)
  })
})
