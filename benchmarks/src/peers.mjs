// The library under test and its peers, opened the same way by every workload.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(import.meta.url)

export const { Cartridge } = await import('cartridge')

/** @type {any} better-sqlite3's Database class, or undefined when not installed */
export let Database
/** @type {any} lmdb's open(), or undefined when not installed */
export let lmdbOpen
/** @type {any} better-sqlite3-multiple-ciphers' Database class (SQLite3 Multiple Ciphers), or undefined when not installed or not built */
export let DatabaseMC
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
  DatabaseMC = (await import('better-sqlite3-multiple-ciphers')).default
  new DatabaseMC(':memory:').close()
} catch (err) {
  DatabaseMC = undefined
  const message = /** @type {Error} */ (err).message ?? String(err)
  missing['sqlite-mc'] = /Cannot find (package|module)/.test(message)
    ? 'better-sqlite3-multiple-ciphers is not installed (`pnpm install` in the repository root)'
    : /bindings file|\.node/.test(message)
      ? 'better-sqlite3-multiple-ciphers is installed but its native addon is not built: pnpm runs its install script only when the root package.json lists it in `pnpm.onlyBuiltDependencies` (then `pnpm rebuild better-sqlite3-multiple-ciphers`; it compiles from source in ~2 min when GitHub prebuilds are unreachable)'
      : `better-sqlite3-multiple-ciphers unavailable: ${message.split('\n')[0]}`
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
  if (DatabaseMC) v['better-sqlite3-multiple-ciphers'] = versionOf('better-sqlite3-multiple-ciphers')
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

/**
 * better-sqlite3-multiple-ciphers (SQLite3 Multiple Ciphers) as an encrypted file store: `cipher`
 * (default: the library's default, ChaCha20-Poly1305) chosen and `PRAGMA key` given before
 * anything is read, then WAL with the given `synchronous` level and the same table and statements
 * as {@link openSqlite}. The key derivation runs here (the first statement), not in the timed phases.
 * @param {string} file
 * @param {'FULL' | 'NORMAL'} synchronous
 * @param {{cipher?: string, key: string}} encryption
 */
export function openSqliteMC(file, synchronous, encryption) {
  const db = new DatabaseMC(file)
  if (encryption.cipher) db.pragma(`cipher = '${encryption.cipher}'`)
  db.pragma(`key = '${encryption.key.replaceAll("'", "''")}'`)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  db.exec('CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, data BLOB)')
  return {
    db,
    insert: db.prepare('INSERT OR REPLACE INTO files(path, data) VALUES (?, ?)'),
    select: db.prepare('SELECT data FROM files WHERE path = ?').pluck(),
  }
}
