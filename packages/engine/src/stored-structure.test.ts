import { describe, expect, it } from 'vitest'
import { MemoryPageIO, NULL_PTR, PageType, isNullPtr, readBlob, writeBlob } from '@cartridge/pager'
import { StoredStructure } from './stored-structure.js'

const blob = () => new StoredStructure<Uint8Array | undefined>(undefined, (io, v) => (v ? writeBlob(io, PageType.POLICY, v) : NULL_PTR))
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)

describe('StoredStructure', () => {
  it('rewrites only a changed value, frees the pages it replaces, and keeps the root of an unchanged one', () => {
    const io = new MemoryPageIO()
    const s = blob()
    expect(s.dirty).toBe(false)
    expect(isNullPtr(s.flush(io))).toBe(true)
    s.working = bytes(10_000, 7)
    expect(s.dirty).toBe(true)
    const root = s.flush(io)
    expect(s.pages).toHaveLength(0) // not committed yet
    s.afterCommit()
    io.commit()
    expect(s.dirty).toBe(false)
    expect(s.pages.length).toBeGreaterThanOrEqual(3)
    for (const p of s.pages) expect(io.live.has(p.page)).toBe(true)
    expect(readBlob(io, root, PageType.POLICY, 1 << 20)).toEqual(bytes(10_000, 7))
    // Unchanged: the same root, nothing written or freed.
    const live = io.live.size
    expect(s.flush(io)).toBe(root)
    expect(io.live.size).toBe(live)
    // Changed: the old pages are freed, the new ones recorded.
    const old = s.pages.map((p) => p.page)
    s.working = bytes(100, 9)
    const root2 = s.flush(io)
    s.afterCommit()
    io.commit()
    for (const p of old) expect(io.live.has(p)).toBe(false)
    expect(s.pages.map((p) => p.page)).toEqual([root2.page])
    expect(readBlob(io, root2, PageType.POLICY, 1 << 20)).toEqual(bytes(100, 9))
  })

  it('discard returns to the committed value and forgets what a failed commit wrote', () => {
    const io = new MemoryPageIO()
    const s = blob()
    s.working = bytes(50, 1)
    const root = s.flush(io)
    s.afterCommit()
    io.commit()
    const committed = s.working
    s.working = bytes(60, 2)
    s.flush(io)
    s.discard()
    expect(s.working).toBe(committed)
    expect(s.dirty).toBe(false)
    expect(s.pages.map((p) => p.page)).toEqual([root.page])
    // The next commit after the failure still knows the committed root.
    expect(s.flush(io)).toBe(root)
  })

  it('load adopts a committed value: unchanged until set', () => {
    const io = new MemoryPageIO()
    const s = blob()
    const v = bytes(20, 3)
    const root = writeBlob(io, PageType.POLICY, v)
    io.commit()
    s.load(v, root, [root])
    expect(s.dirty).toBe(false)
    expect(s.flush(io)).toBe(root)
    expect(s.committed).toBe(v)
  })
})
