import { writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { tempDir } from './testing/helpers.js'

const tmp = tempDir('sqlite-snap-')
afterAll(() => tmp.cleanup())
let n = 0
const fresh = () => Cartridge.create('db', 'db', { path: tmp.path(`c${n++}.cart`) })

/** Opens a database file copied out of a snapshot with plain better-sqlite3 (outside any container). */
function openCopy(bytes: Uint8Array): Database.Database {
  const file = tmp.path(`copy${n++}.db`)
  writeFileSync(file, bytes)
  return new Database(file, { readonly: true })
}

describe.each(['atomic', 'wal'] as const)('snapshots of SQLite databases in the container (%s mode)', (mode) => {
  it('a snapshot taken between transactions, with the database open, restores a consistent database', async () => {
    const cart = await fresh()
    const db = cart.sqlite('/app.db', { mode })
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)')
    db.exec('CREATE INDEX accounts_balance ON accounts(balance)')
    const insert = db.prepare('INSERT INTO accounts (balance) VALUES (?)')
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(100)
    })()
    const transfer = db.transaction((from: number, to: number, amount: number) => {
      db.prepare('UPDATE accounts SET balance = balance - ? WHERE id = ?').run(amount, from)
      db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?').run(amount, to)
    })
    for (let i = 0; i < 300; i++) transfer(1 + (i % 2000), 1 + ((i * 7) % 2000), 5)
    const total = () => db.prepare('SELECT sum(balance) AS s, count(*) AS c FROM accounts').get() as { s: number; c: number }
    const atSnapshot = total()
    const rowsAtSnapshot = db.prepare('SELECT id, balance FROM accounts ORDER BY id').all()

    // An open write transaction is not in the snapshot: only committed state is.
    db.exec('BEGIN')
    db.prepare('DELETE FROM accounts WHERE id > 1000').run()
    const snap = await cart.createSnapshot('consistent')
    db.exec('COMMIT')
    const afterDelete = total()
    expect(afterDelete.c).toBe(1000)
    for (let i = 0; i < 500; i++) transfer(1 + (i % 1000), 1 + ((i * 13) % 1000), 3)
    db.exec('CREATE TABLE later (x)')
    expect(total()).toEqual(afterDelete)

    // The snapshot's database file, copied out, is a consistent SQLite database as of the snapshot
    // (in WAL mode the committed pages may still sit in the log beside it).
    const view = cart.snapshot(snap.id)
    if (mode === 'atomic') {
      const copy = openCopy(await view.read('/app.db'))
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok')
      expect(copy.prepare('SELECT sum(balance) AS s, count(*) AS c FROM accounts').get()).toEqual(atSnapshot)
      copy.close()
    }

    await expect(cart.restoreSnapshot(snap.id)).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED' })
    db.close()
    await cart.restoreSnapshot(snap.id)
    const back = cart.sqlite('/app.db', { mode })
    expect(back.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(back.prepare('SELECT sum(balance) AS s, count(*) AS c FROM accounts').get()).toEqual({ s: 200_000, c: 2000 })
    expect(back.prepare('SELECT id, balance FROM accounts ORDER BY id').all()).toEqual(rowsAtSnapshot)
    expect(back.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'later'").pluck().get()).toBe(0)
    // The restored database keeps working.
    back.prepare('INSERT INTO accounts (balance) VALUES (1)').run()
    back.close()
    expect((await cart.check({ data: true })).problems).toEqual([])
    const path = cart.path!
    await cart.close()
    const again = await Cartridge.open(path)
    const db3 = again.sqlite('/app.db', { mode })
    expect(db3.prepare('SELECT count(*) FROM accounts').pluck().get()).toBe(2001)
    db3.close()
    await again.vacuum()
    const db4 = again.sqlite('/app.db', { mode })
    expect(db4.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(db4.prepare('SELECT count(*) FROM accounts').pluck().get()).toBe(2001)
    await again.close()
  })
})
