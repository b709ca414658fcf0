import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge, CartridgeError } from './index.js'
import { tempDir } from './testing/helpers.js'

const tmp = tempDir('sqlite-errors-')
afterAll(() => tmp.cleanup())

describe('SQLite errors keep the container error behind them', () => {
  it('opening a file that is not a database is a CartridgeError at open, with SQLITE_NOTADB as cause', async () => {
    const cart = await Cartridge.create('notadb', 'n', { path: tmp.path('notadb.cart') })
    await cart.write('/notes.txt', 'x'.repeat(1221))
    let caught: (Error & { code?: string; cause?: { code?: string } }) | undefined
    try {
      cart.sqlite('/notes.txt')
    } catch (err) {
      caught = err as typeof caught
    }
    expect(caught).toBeInstanceOf(CartridgeError)
    expect(caught).toMatchObject({ code: 'CARTRIDGE_CORRUPT', path: '/notes.txt', message: expect.stringMatching(/not a SQLite database \(SQLITE_NOTADB\)/) })
    expect(caught!.cause?.code).toBe('SQLITE_NOTADB')
    expect(cart.databases).toEqual([])
    // The failed open let go of the file: it can be changed and deleted (found by the bypass corpus).
    await cart.write('/notes.txt', 'changed')
    await cart.delete('/notes.txt')
    expect(() => cart.sqlite('/missing.db', { fileMustExist: true })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_NOT_FOUND' }))
    await cart.close()
  })

  it('a checksum failure under a database is SQLITE_CORRUPT with the CARTRIDGE_CHECKSUM error as cause', async () => {
    const path = tmp.path('damaged.cart')
    const cart = await Cartridge.create('damaged', 'd', { path })
    const db = cart.sqlite('/app.db')
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)')
    const insert = db.prepare('INSERT INTO notes VALUES (?, ?)')
    db.transaction(() => {
      for (let i = 0; i < 300; i++) insert.run(i, `MARKER-${String(i).padStart(4, '0')}-${'x'.repeat(200)}`)
    })()
    await cart.close()
    // Damage the page holding one row: the container's checksum catches it under SQLite.
    const image = readFileSync(path)
    const at = image.indexOf('MARKER-0150')
    expect(at).toBeGreaterThan(0)
    image[at + 7] ^= 0x01
    writeFileSync(path, image)

    const again = await Cartridge.open(path)
    const db2 = again.sqlite('/app.db')
    let caught: (Error & { code?: string; cause?: unknown }) | undefined
    try {
      db2.prepare('SELECT count(*) FROM notes WHERE body LIKE ?').get('%MARKER%')
    } catch (err) {
      caught = err as typeof caught
    }
    expect(caught?.name).toBe('SqliteError')
    expect(caught?.code).toBe('SQLITE_CORRUPT')
    expect(caught?.cause).toMatchObject({ name: 'CartridgeError', code: 'CARTRIDGE_CHECKSUM', path: '/app.db' })
    // An unrelated SQLite error afterwards carries no stale cause.
    db2.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    db2.prepare('INSERT INTO t VALUES (1)').run()
    let dup: (Error & { code?: string; cause?: unknown }) | undefined
    try {
      db2.prepare('INSERT INTO t VALUES (1)').run()
    } catch (err) {
      dup = err as typeof dup
    }
    expect(dup?.code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY')
    expect(dup?.cause).toBeUndefined()
    expect(Object.keys(dup!)).toContain('code')
    await again.close()
  })
})
