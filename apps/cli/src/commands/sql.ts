import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import Database from 'better-sqlite3'
import { CartridgeError, ErrorCodes, isCartridgeError, normalizePath, type Cartridge, type DatabaseMode } from 'cartridge'
import { isFile, withCartridge } from '../open.js'
import { cellText, formatBytes, toTable } from '../format.js'
import { counter, progressBar } from '../progress.js'
import { println, type Io } from '../io.js'

/** The 16 bytes every SQLite database file starts with. */
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1')
/** Offset of the header byte that is 2 for a database in WAL mode. */
const MODE_BYTE = 18

export interface SqlFlags {
  mode?: DatabaseMode
  readonly?: boolean
  /** Create the database when it does not exist (otherwise CARTRIDGE_NOT_FOUND). */
  create?: boolean
  json?: boolean
  csv?: boolean
}

export interface SqlCopyFlags {
  force?: boolean
  quiet?: boolean
}

/**
 * `cartridge sql <file> <db> <sql>`: runs SQL on the database `db` in the container. One
 * statement that returns rows prints them (a table, `--json` or `--csv`); anything else, any
 * number of statements, runs with nothing printed.
 */
export async function sql(io: Io, file: string, db: string, text: string, flags: SqlFlags): Promise<number> {
  return withCartridge(file, io, { write: !flags.readonly }, async (cart) => {
    // A mistyped name must not leave a new, empty database behind: creating one is asked for.
    if (!flags.create) {
      await cart.metadata(db).catch((err) => {
        if (!isCartridgeError(err, ErrorCodes.NOT_FOUND)) throw err
        const hint = flags.readonly ? '' : ' (use --create to make a new one)'
        throw new CartridgeError(ErrorCodes.NOT_FOUND, `no database ${db} in the container${hint}`, { path: db, cause: err })
      })
    }
    const conn = cart.sqlite(db, { mode: flags.mode ?? (await detectMode(cart, db)), readonly: flags.readonly === true })
    try {
      const stmt = prepareSingle(conn, text)
      if (stmt?.reader) {
        stmt.raw(true)
        const columns = stmt.columns().map((c) => c.name)
        const rows = stmt.all() as unknown[][]
        if (flags.json) println(io.stdout, toJson(columns, rows))
        else if (flags.csv) io.stdout.write(toCsv(columns, rows))
        else io.stdout.write(toTable(columns, rows))
      } else {
        conn.exec(text)
      }
    } finally {
      conn.close()
    }
    return 0
  })
}

/**
 * `cartridge sql export <file> <db> <out>`: writes the database as a plain SQLite file (its WAL
 * checkpointed into it first), then checks the copy with `PRAGMA quick_check`.
 */
export async function sqlExport(io: Io, file: string, db: string, outFile: string, flags: SqlCopyFlags): Promise<number> {
  const out = resolve(io.cwd, outFile)
  // A stale `-wal` beside the output would be replayed onto the new file by the next reader.
  const leftovers = ['', '-wal', '-journal'].filter((suffix) => existsSync(out + suffix))
  if (leftovers.length > 0 && !flags.force) {
    throw new CartridgeError(ErrorCodes.EXISTS, `${outFile + leftovers[0]} already exists (use --force to replace it)`)
  }
  let size = 0
  let path = ''
  // Writable: a checkpoint moves the WAL's pages into the database file.
  await withCartridge(file, io, { write: true }, async (cart) => {
    path = (await cart.metadata(db)).path
    const mode = await exportMode(cart, path)
    const conn = cart.sqlite(path, { mode, fileMustExist: true })
    try {
      if (mode === 'wal') conn.pragma('wal_checkpoint(TRUNCATE)')
    } finally {
      conn.close()
    }
    size = (await cart.metadata(path)).size
    const bar = progressBar(io, size, flags.quiet === true)
    const partial = `${out}.partial-${process.pid}`
    try {
      await pipeline(cart.createReadStream(path), counter(bar), createWriteStream(partial))
      for (const suffix of leftovers) await rm(out + suffix, { force: true })
      await rename(partial, out)
    } catch (err) {
      await rm(partial, { force: true })
      throw err
    } finally {
      bar?.finish()
    }
  })
  const problem = quickCheck(() => new Database(out, { fileMustExist: true }))
  if (problem) throw new CartridgeError(ErrorCodes.CORRUPT, `exported file ${outFile} fails quick_check (left in place): ${problem}`)
  if (!flags.quiet) println(io.stderr, `exported ${path} (${formatBytes(size)}) to ${outFile}`)
  return 0
}

/**
 * `cartridge sql import <file> <source> [db]`: copies a plain SQLite database file into the
 * container (default `/<base name>`), stored as pages, then checks it with `PRAGMA quick_check`.
 */
export async function sqlImport(io: Io, file: string, source: string, db: string | undefined, flags: SqlCopyFlags): Promise<number> {
  const src = resolve(io.cwd, source)
  const dest = normalizePath(db ?? `/${basename(src)}`)
  await requireSqliteFile(src, source)
  if (existsSync(`${src}-wal`) || existsSync(`${src}-journal`)) settleSource(src)
  const size = (await stat(src)).size
  await withCartridge(file, io, { write: true }, async (cart) => {
    if (!flags.force && (await cart.exists(dest))) {
      throw new CartridgeError(ErrorCodes.EXISTS, `${dest} already exists in the container (use --force to replace it)`, { path: dest })
    }
    // A log left from an earlier database at this path must not be replayed onto this one.
    for (const p of [`${dest}-wal`, `${dest}-journal`]) if (await isFile(cart, p)) await cart.delete(p)
    const bar = progressBar(io, size, flags.quiet === true)
    try {
      await pipeline(createReadStream(src), counter(bar), cart.createWriteStream(dest, { layout: 'pages' }))
    } finally {
      bar?.finish()
    }
    const mode = await detectMode(cart, dest)
    const problem = quickCheck(() => cart.sqlite(dest, { mode, fileMustExist: true }))
    if (problem) {
      await cart.delete(dest)
      throw new CartridgeError(ErrorCodes.CORRUPT, `${source} fails quick_check (not imported): ${problem}`, { path: dest })
    }
  })
  if (!flags.quiet) println(io.stderr, `imported ${source} as ${dest} (${formatBytes(size)})`)
  return 0
}

/** The journal mode a database file records: header byte 18 is 2 for WAL; atomic otherwise or when missing. */
async function detectMode(cart: Cartridge, db: string): Promise<DatabaseMode> {
  try {
    const header = await cart.read(db, { offset: MODE_BYTE, length: 1 })
    return modeOf(header[0])
  } catch (err) {
    if (isCartridgeError(err, ErrorCodes.NOT_FOUND)) return 'atomic'
    throw err
  }
}

/** `db.prepare(text)`, or undefined when `text` holds several statements (or none). */
function prepareSingle(conn: Database.Database, text: string): Database.Statement | undefined {
  try {
    return conn.prepare(text)
  } catch (err) {
    if (err instanceof RangeError) return undefined // more than one statement, or none: exec handles both
    throw err
  }
}

/** Undefined when `PRAGMA quick_check` on the connection `connect` opens says ok, else what it says. */
function quickCheck(connect: () => Database.Database): string | undefined {
  let conn: Database.Database | undefined
  try {
    conn = connect()
    const result = conn.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>
    const lines = result.map((r) => r.quick_check)
    return lines.length === 1 && lines[0] === 'ok' ? undefined : lines.slice(0, 5).join('; ')
  } catch (err) {
    const e = err as { message?: string; code?: string }
    return `${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`
  } finally {
    conn?.close()
  }
}

async function requireSqliteFile(path: string, shown: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(MAGIC.length)
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    if (bytesRead < MAGIC.length || !head.equals(MAGIC)) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${shown} is not a SQLite database (it does not start with "SQLite format 3")`)
    }
  } finally {
    await fh.close()
  }
}

/** The journal mode header byte 18 records (`undefined` when the file is shorter). */
function modeOf(modeByte: number | undefined): DatabaseMode {
  return modeByte === 2 ? 'wal' : 'atomic'
}

/** The journal mode of the database at `path`, whose header is read once and must be SQLite's. */
async function exportMode(cart: Cartridge, path: string): Promise<DatabaseMode> {
  const head = await cart.read(path, { offset: 0, length: MODE_BYTE + 1 })
  requireSqliteHeader(head, path)
  return modeOf(head[MODE_BYTE])
}

function requireSqliteHeader(head: Uint8Array, path: string): void {
  if (head.length === 0) return // an empty file is an empty database
  if (!MAGIC.equals(head.subarray(0, MAGIC.length))) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a SQLite database (it does not start with "SQLite format 3")`, { path })
  }
}

/** Folds a `-wal` (or rolls back a hot `-journal`) beside `src` into it, so the file alone is complete. */
function settleSource(src: string): void {
  const conn = new Database(src, { fileMustExist: true })
  try {
    conn.prepare('SELECT count(*) FROM sqlite_master').get() // a read rolls back a hot journal
    if (existsSync(`${src}-wal`)) {
      const [r] = conn.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
      if (r?.busy) throw new CartridgeError(ErrorCodes.LOCKED, `${src} is in use: its WAL could not be checkpointed`)
    }
  } finally {
    conn.close()
  }
}

/** RFC 4180 CSV with a header line; NULL is an empty field. */
export function toCsv(columns: string[], rows: unknown[][]): string {
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
  const line = (values: string[]) => values.map(field).join(',') + '\n'
  return [line(columns), ...rows.map((r) => line(r.map(cellText)))].join('')
}

/** A JSON array of row objects; blobs as base64 strings. */
export function toJson(columns: string[], rows: unknown[][]): string {
  const objects = rows.map((r) => {
    const o: Record<string, unknown> = {}
    columns.forEach((c, i) => (o[c] = Buffer.isBuffer(r[i]) ? (r[i] as Buffer).toString('base64') : r[i]))
    return o
  })
  return JSON.stringify(objects, null, 2)
}
