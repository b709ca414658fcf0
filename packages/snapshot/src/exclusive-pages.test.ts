import { describe, expect, it } from 'vitest'
import type { BlockPtr } from '@cartridge/pager'
import { PageMarks, exclusivePages, type BlockVisitor, type RootWalker } from './index.js'

/** A tiny block graph: node page → children (nodes or runs of `pages` pages). */
type Graph = Map<number, Array<{ page: number; pages?: number }>>
const ptr = (page: number): BlockPtr => ({ page, txn: 1, checksum: 0, aux: 0 })
const walker = (g: Graph): RootWalker => (root, v) => {
  const walk = (page: number, count: number, visitor: BlockVisitor) => {
    const next = visitor.enter(page, count, 1)
    if (!next) return
    for (const c of g.get(page) ?? []) walk(c.page, c.pages ?? 1, next)
  }
  walk(root.page, 1, v)
}

/** Brute force: pages each root reaches, then the pages only one root reaches. */
function bruteForce(g: Graph, roots: number[]): number[] {
  const reach = roots.map((r) => {
    const seen = new Set<number>()
    const walk = (page: number, count: number) => {
      for (let p = page; p < page + count; p++) seen.add(p)
      for (const c of g.get(page) ?? []) walk(c.page, c.pages ?? 1)
    }
    walk(r, 1)
    return seen
  })
  return reach.map((set, i) => [...set].filter((p) => reach.every((other, j) => j === i || !other.has(p))).length)
}

describe('exclusivePages', () => {
  it('counts what only each root reaches when subtrees are shared at every depth', () => {
    // Root 10 and 20 share node 30 (and all below it); 20 and 40 share run 70.
    const g: Graph = new Map([
      [10, [{ page: 11 }, { page: 30 }, { page: 50, pages: 4 }]],
      [11, [{ page: 60, pages: 2 }]],
      [20, [{ page: 30 }, { page: 70, pages: 3 }]],
      [30, [{ page: 31 }, { page: 80, pages: 5 }]],
      [31, [{ page: 90, pages: 2 }]],
      [40, [{ page: 70, pages: 3 }, { page: 41 }]],
    ])
    const roots = [10, 20, 40]
    const got = exclusivePages(roots.map(ptr), walker(g), 100)
    expect(got).toEqual(bruteForce(g, roots))
    expect(got).toEqual([1 + 1 + 4 + 2, 1, 1 + 1])
  })

  it('matches brute force on random DAGs of copy-on-write versions', () => {
    let seed = 1
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let trial = 0; trial < 50; trial++) {
      // Versions of a 2-level tree: each version copies the root and some children, sharing the rest.
      const g: Graph = new Map()
      let next = 2
      const leaves = Array.from({ length: 6 }, () => ({ page: next++ }))
      for (const l of leaves) g.set(l.page, [{ page: (next += 4) - 4, pages: 4 }])
      const roots: number[] = []
      let children = leaves.map((l) => l.page)
      for (let v = 0; v < 4; v++) {
        children = children.map((c) => {
          if (rand() < 0.5) return c
          const copy = next++
          g.set(copy, [{ page: (next += 4) - 4, pages: 4 }])
          return copy
        })
        const root = next++
        g.set(root, children.map((page) => ({ page })))
        roots.push(root)
      }
      expect(exclusivePages(roots.map(ptr), walker(g), next)).toEqual(bruteForce(g, roots))
    }
  })

  it('PageMarks marks runs once and refuses pages outside the container', () => {
    const m = new PageMarks(20)
    expect(m.mark(3, 4)).toBe(true)
    expect(m.mark(3, 4)).toBe(false)
    expect(m.count).toBe(4)
    expect(m.has(6) && !m.has(7)).toBe(true)
    expect(() => m.mark(18, 4)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
  })
})
