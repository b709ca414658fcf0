// The library under test and its peers, opened the same way by every workload.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(import.meta.url)

export const { Cartridge } = await import('cartridge')

/** @type {any} better-sqlite3's Database class, or undefined when not installed */
export let Database
/** @type {any} lmdb's open(), or undefined when not installed */
export let lmdbOpen
/** Why a peer is missing (shown in the report). */
export const missing = /** @type {Record<string, string>} */ ({})

try {
  Database = (await import('better-sqlite3')).default
  new Database(':memory:').close()
} catch (err) {
  Database = undefined
  missing.sqlite = `better-sqlite3 unavailable: ${/** @type {Error} */ (err).message}`
}
try {
  lmdbOpen = (await import('lmdb')).open
} catch (err) {
  lmdbOpen = undefined
  missing.lmdb = `lmdb unavailable: ${/** @type {Error} */ (err).message}`
}

/** @param {string} name */
function versionOf(name) {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version
  } catch {
    try {
      // Packages whose exports hide package.json: walk up from the entry point.
      let p = require.resolve(name)
      for (let i = 0; i < 5; i++) {
        p = p.slice(0, p.lastIndexOf('/'))
        try {
          const pkg = JSON.parse(readFileSync(`${p}/package.json`, 'utf8'))
          if (pkg.name === name) return pkg.version
        } catch { /* keep walking */ }
      }
    } catch { /* not installed */ }
    return undefined
  }
}

export function versions() {
  /** @type {Record<string, string | undefined>} */
  const v = { node: process.versions.node, cartridge: versionOf('cartridge') }
  if (Database) {
    v['better-sqlite3'] = versionOf('better-sqlite3')
    const db = new Database(':memory:')
    v.sqlite = db.prepare('select sqlite_version()').pluck().get()
    db.close()
  }
  if (lmdbOpen) v.lmdb = versionOf('lmdb')
  return v
}

/**
 * A better-sqlite3 connection in WAL mode with the given `synchronous` level (pragmas only).
 * @param {string} file
 * @param {'FULL' | 'NORMAL'} synchronous
 */
export function connectSqlite(file, synchronous) {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  return db
}

/**
 * better-sqlite3 as a file store: a `connectSqlite` connection, one table of (path, blob) and
 * its insert and select statements.
 * @param {string} file
 * @param {'FULL' | 'NORMAL'} synchronous
 */
export function openSqlite(file, synchronous) {
  const db = connectSqlite(file, synchronous)
  db.exec('CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, data BLOB)')
  return {
    db,
    insert: db.prepare('INSERT OR REPLACE INTO files(path, data) VALUES (?, ?)'),
    select: db.prepare('SELECT data FROM files WHERE path = ?').pluck(),
  }
}

/**
 * lmdb-js as key → raw bytes. `overlappingSync: false` so a commit is flushed before it
 * returns (lmdb-js defaults to flushing after the commit on Linux), like Cartridge's 'full'.
 * @param {string} file
 * @param {Record<string, unknown>} [options]
 */
export function openLmdb(file, options = {}) {
  return lmdbOpen({ path: file, noSubdir: true, encoding: 'binary', compression: false, overlappingSync: false, ...options })
}
