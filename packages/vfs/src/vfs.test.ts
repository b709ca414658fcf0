import { describe, expect, it } from 'vitest'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { MemoryDatabaseStore } from './memory-database-store.js'
import { SPILL_BYTES } from './database-mount.js'
import { SqliteHost } from './sqlite-host.js'

const host = SqliteHost.get()

describe('the VFS over a memory store', () => {
  it('commits once per SQLite commit in atomic mode, and never a half transaction', () => {
    const store = new MemoryDatabaseStore()
    const m = host.mount(store)
    const db = m.open('/a.db')
    db.exec('CREATE TABLE t (x)')
    const before = store.commits
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) db.prepare('INSERT INTO t VALUES (?)').run(i)
      // nothing of this transaction is in the store yet
      expect(store.commits).toBe(before)
    })()
    expect(store.commits).toBe(before + 1)
    expect(store.durableCommits).toBeGreaterThan(0)
    m.close()
  })

  it('a failed commit leaves the database at its last commit and SQLite reports it', () => {
    const store = new MemoryDatabaseStore()
    const m = host.mount(store)
    const db = m.open('/a.db')
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
    const image = store.files.get('/a.db')!.slice()
    store.failNext = new CartridgeError(ErrorCodes.FULL, 'no room')
    expect(() => db.prepare('INSERT INTO t VALUES (2)').run()).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }))
    expect(Buffer.from(store.files.get('/a.db')!).equals(Buffer.from(image))).toBe(true)
    expect(db.prepare('SELECT x FROM t').pluck().all()).toEqual([1])
    db.prepare('INSERT INTO t VALUES (3)').run()
    expect(db.prepare('SELECT x FROM t').pluck().all()).toEqual([1, 3])
    m.close()
  })

  it('WAL mode commits a big transaction early (bounded memory) and recovery still sees only committed data', () => {
    const store = new MemoryDatabaseStore()
    const m = host.mount(store)
    const db = m.open('/w.db', { mode: 'wal' })
    db.pragma('synchronous = FULL')
    db.exec('CREATE TABLE t (b BLOB)')
    const blob = new Uint8Array(1024 * 1024).fill(7)
    let midway: Map<string, Uint8Array> | undefined
    const commitsBefore = store.commits
    db.transaction(() => {
      for (let i = 0; i < (2 * SPILL_BYTES) / blob.length + 4; i++) db.prepare('INSERT INTO t VALUES (?)').run(blob)
      midway = new Map([...store.files].map(([k, v]) => [k, v.slice()]))
    })()
    expect(store.commits - commitsBefore).toBeGreaterThan(1)
    // The store as it was mid-transaction opens as the database before the transaction.
    const copy = new MemoryDatabaseStore()
    for (const [k, v] of midway!) copy.files.set(k, v)
    const m2 = host.mount(copy)
    const db2 = m2.open('/w.db', { mode: 'wal' })
    expect(db2.prepare('SELECT count(*) FROM t').pluck().get()).toBe(0)
    expect(db2.pragma('integrity_check', { simple: true })).toBe('ok')
    m2.close()
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe((2 * SPILL_BYTES) / blob.length + 4)
    m.close()
  })

  it('connections of one database share locks: a writer blocks another writer, readers go on', () => {
    const store = new MemoryDatabaseStore()
    const m = host.mount(store)
    const a = m.open('/l.db')
    const b = m.open('/l.db')
    a.exec('CREATE TABLE t (x)')
    a.exec('BEGIN IMMEDIATE; INSERT INTO t VALUES (1)')
    expect(() => b.exec('BEGIN IMMEDIATE')).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }))
    expect(b.prepare('SELECT count(*) FROM t').pluck().get()).toBe(0)
    a.exec('COMMIT')
    expect(b.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1)
    m.close()
  })

  it('close() closes every connection it handed out and detaches', () => {
    const store = new MemoryDatabaseStore()
    const m = host.mount(store)
    const dbs = [m.open('/x.db'), m.open('/x.db'), m.open('/y.db', { mode: 'wal' })]
    for (const d of dbs) d.exec('CREATE TABLE IF NOT EXISTS t (x)')
    expect(m.databases.size).toBe(3)
    dbs[1].close()
    expect(m.databases.size).toBe(2)
    m.close()
    expect(dbs.every((d) => !d.open)).toBe(true)
    expect(() => m.open('/x.db')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CLOSED' }))
    expect([...store.files.keys()].sort()).toEqual(['/x.db', '/y.db'])
  })

  it('atomic mode parks a big transaction in the stash (bounded memory) and the commit takes it over', () => {
    const store = new MemoryDatabaseStore()
    const m = host.mount(store)
    const db = m.open('/big.db', { maxPendingBytes: 256 * 1024 })
    db.pragma('cache_size = 16') // SQLite spills its cache to the file early
    db.exec('CREATE TABLE t (i INTEGER, b BLOB)')
    const commits = store.commits
    let parkedMidway = 0
    db.transaction(() => {
      for (let i = 0; i < 64; i++) db.prepare('INSERT INTO t VALUES (?, ?)').run(i, new Uint8Array(64 * 1024).fill(i))
      parkedMidway = store.stashed.size
      expect(store.commits).toBe(commits) // nothing of it committed yet
    })()
    expect(parkedMidway).toBeGreaterThan(500)
    expect(store.stashed.size).toBe(0) // all taken over by the commit
    expect(db.prepare('SELECT sum(length(b)), count(*) FROM t').raw().get()).toEqual([64 * 64 * 1024, 64])
    // A rolled-back big transaction gives its stash back.
    expect(() =>
      db.transaction(() => {
        for (let i = 0; i < 32; i++) db.prepare('INSERT INTO t VALUES (?, ?)').run(i, new Uint8Array(64 * 1024).fill(1))
        throw new Error('no')
      })(),
    ).toThrow('no')
    expect(store.stashed.size).toBe(0)
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(64)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    m.close()
  })

  it('rejects bad options with CARTRIDGE_INVALID_ARGUMENT', () => {
    const m = host.mount(new MemoryDatabaseStore())
    expect(() => m.open('/a.db', { mode: 'journal' as never })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => m.open('/a.db', { timeout: -1 })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => m.open('/a.db', { maxPendingBytes: 10 })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    m.close()
  })
})
