import { describe, expect, it } from 'vitest'
import { MemoryPageIO, NULL_PTR } from '@cartridge/pager'
import { MAX_SNAPSHOTS, readSnapshotTable } from '@cartridge/snapshot'
import { SnapshotBook } from './snapshot-book.js'

const at = (txn: number) => ({ txn, fileCount: txn * 2, catalogRoot: { page: 100 + txn, txn, checksum: 0, aux: 0 } })

describe('SnapshotBook', () => {
  it('keeps the retention bound at the newest snapshot txn through add, remove, discard and load', () => {
    const b = new SnapshotBook()
    expect(b.retainTxn).toBe(-1)
    const a = b.add('a', 1, at(5))
    b.add('b', 2, at(3))
    expect(b.retainTxn).toBe(5)
    expect(b.dirty).toBe(true)
    b.remove(a)
    expect(b.retainTxn).toBe(3)
    b.discard()
    expect(b.entries).toHaveLength(0)
    expect(b.retainTxn).toBe(-1)
    b.load({ nextId: 9, entries: [{ id: 8, name: 'x', created: 0, ...at(7) }] }, NULL_PTR, [])
    expect(b.retainTxn).toBe(7)
    expect(b.dirty).toBe(false)
  })

  it('gives ids in order, never twice, and refuses duplicate names, bad names and one past the limit', () => {
    const b = new SnapshotBook()
    const first = b.add('one', 1, at(1))
    b.remove(first)
    expect(b.add('two', 1, at(2)).id).toBe(first.id + 1)
    expect(() => b.add('two', 1, at(3))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_EXISTS' }))
    expect(() => b.add('', 1, at(3))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    const full = new SnapshotBook()
    full.load({ nextId: MAX_SNAPSHOTS + 1, entries: Array.from({ length: MAX_SNAPSHOTS }, (_, i) => ({ id: i + 1, name: `s${i}`, created: 0, ...at(1) })) }, NULL_PTR, [])
    expect(() => full.add('over', 1, at(4))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_FULL' }))
    expect(b.find('two').id).toBe(2)
    expect(b.find(2).name).toBe('two')
    expect(() => b.find('nope')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_NOT_FOUND' }))
  })

  it('renumbers keeping order, and moves roots by id', () => {
    const b = new SnapshotBook()
    b.add('a', 1, at(1))
    b.add('b', 1, at(2))
    b.renumber(new Map([[1, { id: 10, created: 5 }], [2, { id: 12, created: 6 }]]), 13)
    expect(b.entries.map((s) => [s.id, s.created])).toEqual([[10, 5], [12, 6]])
    expect(b.table.nextId).toBe(13)
    expect(() => b.renumber(new Map([[10, { id: 20, created: 0 }]]), 21)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => b.renumber(new Map(), 12)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    const moved = { page: 999, txn: 2, checksum: 0, aux: 0 }
    b.moveRoots(new Map([[12, moved]]))
    expect(b.find(12).catalogRoot).toBe(moved)
    expect(b.find(10).catalogRoot.page).toBe(101)
  })

  it('writes the table at commit and reads back what it wrote', () => {
    const io = new MemoryPageIO()
    const b = new SnapshotBook()
    b.add('a', 1, at(1))
    const root = b.flush(io)
    b.afterCommit()
    io.commit()
    expect(b.dirty).toBe(false)
    expect(b.pages.length).toBeGreaterThan(0)
    expect(readSnapshotTable(io, root).entries.map((s) => s.name)).toEqual(['a'])
  })
})
