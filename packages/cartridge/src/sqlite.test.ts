import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge, FaultyPageStore, MemoryPageStore } from './index.js'
import { bytes, sameBytes, tempDir } from './testing/helpers.js'

const tmp = tempDir('sqlite-')
afterAll(() => tmp.cleanup())
let n = 0
const fresh = (options: Parameters<typeof Cartridge.create>[2] = {}) => Cartridge.create('db', 'db', { path: tmp.path(`c${n++}.cart`), ...options })

describe.each(['atomic', 'wal'] as const)('SQLite in a container (%s mode)', (mode) => {
  it('keeps tables, indexes and files side by side across close and reopen', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/app.db', { mode })
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)')
    db.exec('CREATE UNIQUE INDEX users_email ON users(email)')
    db.prepare('INSERT INTO users VALUES (?, ?, ?)').run(1, 'Alice', 'alice@example.com')
    const pdf = bytes(300_000, 1)
    await cart.write('/uploads/doc1.pdf', pdf)
    expect(() => db.prepare('INSERT INTO users VALUES (?, ?, ?)').run(2, 'Eve', 'alice@example.com')).toThrow(/UNIQUE/)
    expect(await cart.list('/')).toContain('/app.db')
    const path = cart.path!
    await cart.close()
    expect(db.open).toBe(false)

    const again = await Cartridge.open(path)
    const db2 = again.sqlite('/app.db', { mode })
    expect(db2.prepare('SELECT * FROM users').all()).toEqual([{ id: 1, name: 'Alice', email: 'alice@example.com' }])
    expect(db2.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all()).toEqual(['users_email'])
    expect(sameBytes(await again.read('/uploads/doc1.pdf'), pdf)).toBe(true)
    expect(db2.pragma('integrity_check', { simple: true })).toBe('ok')
    expect((await again.check({ data: true })).problems).toEqual([])
    await again.close()
  })

  it('commits and rolls back transactions; a 10,000-row transaction lands whole', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/t.db', { mode })
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    db.transaction(() => {
      for (let i = 0; i < 10_000; i++) insert.run(`row ${i} ${'x'.repeat(i % 50)}`)
    })()
    expect(() =>
      db.transaction(() => {
        insert.run('doomed')
        throw new Error('abort')
      })(),
    ).toThrow('abort')
    db.exec('BEGIN; DELETE FROM t WHERE id <= 5000; ROLLBACK')
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(10_000)
    const path = cart.path!
    await cart.close()
    const again = await Cartridge.open(path)
    const db2 = again.sqlite('/t.db', { mode })
    expect(db2.prepare('SELECT count(*) FROM t').pluck().get()).toBe(10_000)
    expect(db2.prepare('SELECT v FROM t WHERE id = 1234').pluck().get()).toBe(`row 1233 ${'x'.repeat(1233 % 50)}`)
    await again.close()
  })

  it('20 writers × 50 inserts in one process lose nothing; readers see committed data', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/w.db', { mode })
    db.exec('CREATE TABLE t (writer INTEGER, i INTEGER, PRIMARY KEY (writer, i))')
    const reader = cart.sqlite('/w.db', { mode })
    const seen: number[] = []
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        const conn = w % 2 === 0 ? db : cart.sqlite('/w.db', { mode })
        for (let i = 0; i < 50; i++) {
          conn.prepare('INSERT INTO t VALUES (?, ?)').run(w, i)
          if (i % 10 === 0) await new Promise((r) => setImmediate(r))
        }
        seen.push(reader.prepare('SELECT count(*) FROM t WHERE writer = ?').pluck().get(w) as number)
      }),
    )
    expect(seen).toEqual(Array(20).fill(50))
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1000)
    const path = cart.path!
    await cart.close()
    const again = await Cartridge.open(path)
    expect(again.sqlite('/w.db', { mode }).prepare('SELECT count(*) FROM t').pluck().get()).toBe(1000)
    await again.close()
  })

  it('invalid SQL fails with a SqliteError and the next statement works', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/e.db', { mode })
    db.exec('CREATE TABLE t (x)')
    expect(() => db.exec('INSERT INTO nope VALUES (1)')).toThrow(expect.objectContaining({ code: 'SQLITE_ERROR' }))
    expect(() => db.exec('SELEC oops')).toThrow(/syntax error/)
    db.prepare('INSERT INTO t VALUES (?)').run(42)
    expect(db.prepare('SELECT x FROM t').pluck().get()).toBe(42)
    await cart.close()
  })

  it('ATTACHes a second database of the same container, runs VACUUM, and stores blobs of megabytes', async () => {
    const cart = await fresh()
    const main = cart.sqlite('/main.db', { mode })
    const other = cart.sqlite('/other.db', { mode })
    other.exec('CREATE TABLE o (k TEXT PRIMARY KEY, v BLOB)')
    const blob = bytes(3 * 1024 * 1024 + 17, 9)
    other.prepare('INSERT INTO o VALUES (?, ?)').run('big', blob)
    other.close()
    main.exec('CREATE TABLE m (k TEXT)')
    main.prepare("INSERT INTO m VALUES ('big')").run()
    main.prepare('ATTACH DATABASE ? AS other').run(cart.sqliteName('/other.db'))
    const joined = main.prepare('SELECT length(o.v) AS n FROM m JOIN other.o AS o ON o.k = m.k').get() as { n: number }
    expect(joined.n).toBe(blob.length)
    main.exec('DETACH DATABASE other')
    const db = cart.sqlite('/other.db', { mode })
    const back = db.prepare('SELECT v FROM o').pluck().get() as Buffer
    expect(sameBytes(back, blob)).toBe(true)
    db.prepare('DELETE FROM o').run()
    const before = (await cart.metadata('/other.db')).size
    db.exec('VACUUM')
    if (mode === 'wal') db.pragma('wal_checkpoint(TRUNCATE)')
    expect((await cart.metadata('/other.db')).size).toBeLessThan(before / 10)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    await cart.close()
  })
})

describe('SQLite in a container', () => {
  it('exports a database whose bytes the plain SQLite opens', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/app.db')
    db.exec('CREATE TABLE t (x INTEGER)')
    db.prepare('INSERT INTO t VALUES (?)').run(7)
    const bytesOut = await cart.read('/app.db')
    const plain = new Database(Buffer.from(bytesOut))
    expect(plain.prepare('SELECT x FROM t').pluck().get()).toBe(7)
    expect(plain.pragma('integrity_check', { simple: true })).toBe('ok')
    plain.close()
    await cart.close()
  })

  it('two containers and a plain-file database work at once', async () => {
    const a = await fresh()
    const b = await fresh()
    const plain = new Database(tmp.path('plain.db'))
    plain.exec('CREATE TABLE t (v TEXT)')
    const da = a.sqlite('/x.db')
    const db = b.sqlite('/x.db')
    da.exec('CREATE TABLE t (v TEXT)')
    db.exec('CREATE TABLE t (v TEXT)')
    da.prepare('INSERT INTO t VALUES (?)').run('in a')
    db.prepare('INSERT INTO t VALUES (?)').run('in b')
    plain.prepare('INSERT INTO t VALUES (?)').run('plain')
    expect(da.prepare('SELECT v FROM t').pluck().all()).toEqual(['in a'])
    expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual(['in b'])
    await a.close()
    expect(plain.prepare('SELECT v FROM t').pluck().all()).toEqual(['plain'])
    plain.close()
    expect(new Database(tmp.path('plain.db')).prepare('SELECT v FROM t').pluck().all()).toEqual(['plain'])
    expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual(['in b'])
    await b.close()
  })

  it('refuses changes to an open database file through the file API, and allows them once it is closed', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/locked.db')
    db.exec('CREATE TABLE t (x)')
    await expect(cart.write('/locked.db', 'junk')).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED', path: '/locked.db' })
    await expect(cart.delete('/locked.db')).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED' })
    await expect(cart.rename('/locked.db', '/moved.db')).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED' })
    await cart.write('/keep.txt', 'k')
    await expect(cart.delete('/')).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED' })
    expect(await cart.readText('/keep.txt')).toBe('k')
    db.close()
    await cart.rename('/locked.db', '/moved.db')
    expect(cart.sqlite('/moved.db').prepare("SELECT name FROM sqlite_master").pluck().all()).toEqual(['t'])
    await cart.close()
  })

  it('a SQLite commit while a container transaction runs fails with SQLITE_BUSY and can be retried', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/busy.db')
    db.exec('CREATE TABLE t (x)')
    await cart.transaction(async (tx) => {
      await tx.write('/side.txt', 'inside')
      expect(() => db.prepare('INSERT INTO t VALUES (1)').run()).toThrow(expect.objectContaining({ code: expect.stringMatching(/^SQLITE_BUSY/) }))
    })
    db.prepare('INSERT INTO t VALUES (2)').run()
    expect(db.prepare('SELECT x FROM t').pluck().all()).toEqual([2])
    expect(await cart.readText('/side.txt')).toBe('inside')
    await cart.close()
  })

  it('refuses journal modes that would break its crash safety', async () => {
    const cart = await fresh()
    const atomic = cart.sqlite('/a.db')
    expect(() => atomic.pragma('journal_mode = DELETE')).toThrow(/journal_mode=memory/)
    expect(() => atomic.pragma('journal_mode = OFF')).toThrow(/journal_mode=memory/)
    const wal = cart.sqlite('/w.db', { mode: 'wal' })
    expect(() => wal.pragma('journal_mode = MEMORY')).toThrow(/journal_mode=wal/)
    expect(atomic.pragma('journal_mode', { simple: true })).toBe('memory')
    expect(wal.pragma('journal_mode', { simple: true })).toBe('wal')
    await cart.close()
  })

  it('a SQLite commit that does not fit fails with SQLITE_FULL and leaves the database at its last commit', async () => {
    const cart = await fresh({ maxBlocks: 64 })
    const db = cart.sqlite('/full.db')
    db.exec('CREATE TABLE t (v BLOB)')
    db.prepare('INSERT INTO t VALUES (?)').run(bytes(20_000, 1))
    expect(() => db.prepare('INSERT INTO t VALUES (?)').run(bytes(400_000, 2))).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }))
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1)
    const path = cart.path!
    await cart.close()
    const again = await Cartridge.open(path)
    const db2 = again.sqlite('/full.db')
    expect(db2.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1)
    expect(db2.pragma('integrity_check', { simple: true })).toBe('ok')
    expect((await again.check({ data: true })).problems).toEqual([])
    await again.close()
  })

  it('reuses space: rewriting a database many times keeps the container bounded and leak-free', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/churn.db')
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)')
    const up = db.prepare('INSERT OR REPLACE INTO t VALUES (?, ?)')
    for (let round = 0; round < 40; round++) db.transaction(() => { for (let i = 0; i < 50; i++) up.run(i, bytes(1000, round * 100 + i)) })()
    await cart.flush()
    const size = (await cart.info()).sizeBytes
    for (let round = 40; round < 80; round++) db.transaction(() => { for (let i = 0; i < 50; i++) up.run(i, bytes(1000, round * 100 + i)) })()
    await cart.flush()
    expect((await cart.info()).sizeBytes).toBe(size)
    const report = await cart.check({ data: true })
    expect(report.problems).toEqual([])
    expect(report.referencedPages).toBe(report.usedPages)
    await cart.close()
  })

  it('opens databases read-only in a read-only container', async () => {
    const cart = await fresh()
    cart.sqlite('/r.db').exec('CREATE TABLE t (x); INSERT INTO t VALUES (5)')
    const path = cart.path!
    await cart.close()
    const ro = await Cartridge.open(path, { readOnly: true })
    const db = ro.sqlite('/r.db')
    expect(db.readonly).toBe(true)
    expect(db.prepare('SELECT x FROM t').pluck().get()).toBe(5)
    expect(() => db.exec('INSERT INTO t VALUES (6)')).toThrow(/readonly/)
    await ro.close()
  })

  it('names database paths clearly when they cannot be opened', async () => {
    const cart = await fresh()
    await cart.write('/dir/file.txt', 'x')
    expect(() => cart.sqlite('/dir')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_IS_A_DIRECTORY' }))
    expect(() => cart.sqlite('/x.db-wal')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_PATH' }))
    expect(() => cart.sqlite('/missing.db', { fileMustExist: true })).toThrow()
    await cart.close()
    expect(() => cart.sqlite('/late.db')).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CLOSED' }))
  })

  it('a big atomic-mode transaction parks its pages in free space: bounded memory, no leaks, crash-safe', async () => {
    const fill = (db: import('better-sqlite3').Database, rows: number, seed: number) =>
      db.transaction(() => {
        for (let i = 0; i < rows; i++) db.prepare('INSERT INTO t VALUES (?, ?)').run(seed + i, bytes(32 * 1024, seed + i))
      })()
    const open = (c: Cartridge) => {
      const db = c.sqlite('/big.db', { maxPendingBytes: 128 * 1024 })
      db.pragma('cache_size = 16')
      return db
    }
    const cart = await fresh()
    const db = open(cart)
    db.exec('CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB)')
    fill(db, 200, 0) // 6 MiB through the stash
    expect(() => db.transaction(() => {
      for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?, ?)').run(1000 + i, bytes(32 * 1024, i))
      throw new Error('roll back')
    })()).toThrow('roll back')
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(200)
    const report = await cart.check({ data: true })
    expect(report.problems).toEqual([])
    expect(report.referencedPages).toBe(report.usedPages)
    await cart.close()

    // Power loss in the middle of such a transaction: the database is as before it, nothing leaks.
    let crashes = 0
    for (const failAt of [1, 2, 3, 4]) {
      const store = new FaultyPageStore()
      const c = await Cartridge.fromStore(store, { create: { slug: 'bigcrash' } })
      const d = open(c)
      d.exec('CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB)')
      fill(d, 20, 0)
      await c.flush()
      store.failAfter(failAt)
      let acknowledged = true
      try {
        fill(d, 200, 100)
      } catch {
        acknowledged = false
      }
      if (store.crashed) crashes++
      await c.close().catch(() => {})
      store.cut()
      const again = await Cartridge.fromStore(new MemoryPageStore(store.crashImage('drop-or-tear')))
      const d2 = again.sqlite('/big.db')
      expect(d2.pragma('integrity_check', { simple: true })).toBe('ok')
      // Not acknowledged: before it, or (the commit's writes all landed) after it, never between.
      expect(acknowledged ? [220] : [20, 220]).toContain(d2.prepare('SELECT count(*) FROM t').pluck().get())
      const r = await again.check({ data: true })
      expect(r.problems).toEqual([])
      await again.close()
    }
    expect(crashes).toBeGreaterThan(2)
  })
})
