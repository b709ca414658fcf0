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
})
