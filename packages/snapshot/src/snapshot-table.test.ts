import { describe, expect, it } from 'vitest'
import { MemoryPageIO, NULL_PTR, PageType, isNullPtr } from '@cartridge/pager'
import { EMPTY_TABLE, MAX_SNAPSHOT_NAME_BYTES, readSnapshotTable, validateSnapshotName, writeSnapshotTable, type SnapshotEntry } from './index.js'

const entry = (id: number, name = `snap-${id}`): SnapshotEntry => ({
  id, name, created: 1_700_000_000_000 + id, txn: 10 * id, fileCount: id * 3, catalogRoot: { page: 100 + id, txn: 10 * id, checksum: 0xdead0000 + id, aux: 0 },
})

describe('snapshot table', () => {
  it('an empty table with nextId 1 is no table at all', () => {
    const io = new MemoryPageIO()
    expect(isNullPtr(writeSnapshotTable(io, EMPTY_TABLE))).toBe(true)
    expect(readSnapshotTable(io, NULL_PTR)).toEqual({ nextId: 1, entries: [] })
  })

  it('round-trips entries across several pages, with unicode names and a kept nextId', () => {
    const io = new MemoryPageIO()
    const entries = Array.from({ length: 90 }, (_, i) => entry(i * 2 + 1, `${'ü'.repeat(i % 120)}-${i}`))
    const table = { nextId: 500, entries }
    const root = writeSnapshotTable(io, table)
    io.commit()
    expect(root.aux).toBeGreaterThan(0) // more than one leaf: a pointer node above them
    const pages: number[] = []
    const back = readSnapshotTable(io, root, (p) => pages.push(p.page))
    expect(back).toEqual(table)
    expect(new Set(pages).size).toBe(pages.length)
    expect(readSnapshotTable(io, writeSnapshotTable(io, { nextId: 7, entries: [] }))).toEqual({ nextId: 7, entries: [] })
  })

  it('detects damage: a flipped byte fails verification, bad ids or lengths are corrupt', () => {
    const io = new MemoryPageIO()
    const root = writeSnapshotTable(io, { nextId: 3, entries: [entry(1), entry(2)] })
    io.commit()
    const page = io.read(root, PageType.SNAPSHOT_TABLE)
    page[200] ^= 1
    expect(() => readSnapshotTable(io, root)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CHECKSUM' }))
    const io2 = new MemoryPageIO()
    const bad = writeSnapshotTable(io2, { nextId: 2, entries: [entry(1), entry(5)] })
    io2.commit()
    expect(() => readSnapshotTable(io2, bad)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
  })

  it('names: 1–255 bytes, no control characters, not digits only, no edge spaces, no lone surrogates', () => {
    for (const ok of ['v1', 'before migration', '日本', 'x'.repeat(MAX_SNAPSHOT_NAME_BYTES), '1a']) expect(validateSnapshotName(ok)).toBe(ok)
    for (const bad of ['', '42', ' a', 'a ', 'a\tb', 'x'.repeat(256), 'é'.repeat(128), '\ud800', 5]) {
      expect(() => validateSnapshotName(bad)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    }
  })
})
