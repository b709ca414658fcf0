import type BetterSqlite3 from 'better-sqlite3'
import { CartridgeError, ErrorCodes, normalizeFilePath, type ErrorCode } from '@cartridge/core'
import type { DatabaseStore, FileChange } from './database-store.js'
import { PagedFile } from './paged-file.js'

/** How a database in a container stays crash-safe. */
export type DatabaseMode = 'atomic' | 'wal'

/** Options of {@link DatabaseMount.open}. */
export interface OpenDatabaseOptions {
  /**
   * `'atomic'` (default): the rollback journal stays in memory and every SQLite commit is one
   * container commit (one fsync), so a transaction lands whole or not at all.
   * `'wal'`: SQLite's write-ahead log, kept as a file in the container next to the database;
   * readers in other connections do not block the writer.
   */
  mode?: DatabaseMode
  /** Open read-only (always so when the container is read-only). */
  readonly?: boolean
  /** Fail if the database file does not exist yet. */
  fileMustExist?: boolean
  /** Milliseconds to wait on a lock held by another connection (default 0: connections of one thread cannot wait for each other). */
  timeout?: number
  /**
   * Bytes of uncommitted pages a database file may hold in memory (default 16 MiB). Past it a
   * `'wal'` database commits them early (without fsync) and an `'atomic'` one parks them in
   * free container space until its transaction commits.
   */
  maxPendingBytes?: number
}

/** Pending bytes of a WAL-mode database at which they are committed early (16 MiB). */
export const SPILL_BYTES = 16 * 1024 * 1024

const GROUP_SUFFIX = /-(?:wal|journal|shm|mj[0-9A-Fa-f]+)$/

/** How a database was last opened: its mode and the pending bytes at which it spills. */
interface DatabaseSettings {
  mode: DatabaseMode
  spillAt: number
}

/**
 * What a mount needs from the SQLite host that created it (implemented by `SqliteHost`): opening
 * connections through the VFS, naming files for it, and detaching.
 */
export interface MountHost {
  /** Opens a better-sqlite3 connection to `path` of mount `m` through the container VFS. */
  connect(m: DatabaseMount, path: string, options: BetterSqlite3.Options): BetterSqlite3.Database
  /** The name SQLite knows `path` of mount `m` by. */
  nameOf(m: DatabaseMount, path: string): string
  /** Forgets connections that were closed (by their owner or the garbage collector). */
  reapClosed(): void
  /** Detaches mount `m`: its names stop resolving. */
  unmount(m: DatabaseMount): void
}

/**
 * The SQLite databases of one container: the files SQLite has open in it, their uncommitted
 * pages, and the connections it handed out (which it owns: {@link close} closes them).
 */
export class DatabaseMount {
  readonly id: number
  readonly store: DatabaseStore
  readonly #host: MountHost
  readonly #files = new Map<string, PagedFile>()
  readonly #settings = new Map<string, DatabaseSettings>()
  readonly #databases = new Set<BetterSqlite3.Database>()
  #closed = false
  /** The last store error turned into a SQLite error code (for diagnostics). */
  lastError: unknown

  /** @internal */
  constructor(host: MountHost, id: number, store: DatabaseStore) {
    this.#host = host
    this.id = id
    this.store = store
  }

  /** Opens (creating if needed) the database at `path` in the container. */
  open(path: string, options: OpenDatabaseOptions = {}): BetterSqlite3.Database {
    if (this.#closed) throw new CartridgeError(ErrorCodes.CLOSED, 'container is closed')
    const p = normalizeFilePath(path)
    if (GROUP_SUFFIX.test(p)) throw new CartridgeError(ErrorCodes.INVALID_PATH, `${p} is a name SQLite uses for its own files`, { path: p })
    const mode = options.mode ?? 'atomic'
    if (mode !== 'atomic' && mode !== 'wal') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "mode must be 'atomic' or 'wal'", { path: p })
    if (options.timeout !== undefined && (!Number.isInteger(options.timeout) || options.timeout < 0)) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'timeout must be a non-negative integer (milliseconds)', { path: p })
    }
    const known = this.#settings.get(p)?.mode
    if (known && known !== mode && this.#openConnections(p)) {
      throw new CartridgeError(ErrorCodes.CONFLICT, `${p} is open in ${known} mode`, { path: p })
    }
    this.store.size(p) // throws for a directory
    const readonly = options.readonly === true || this.store.readOnly
    const spill = options.maxPendingBytes ?? SPILL_BYTES
    if (!Number.isInteger(spill) || spill < 4096) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'maxPendingBytes must be an integer of at least 4096', { path: p })
    this.#settings.set(p, { mode, spillAt: spill })
    let db: BetterSqlite3.Database
    try {
      db = this.#host.connect(this, p, { readonly, fileMustExist: options.fileMustExist === true, timeout: options.timeout ?? 0 })
    } catch (err) {
      throw openError(err, p)
    }
    try {
      // Reads the header: a file that is not a database fails here, at open, not at the first query.
      db.pragma('schema_version', { simple: true })
      if (!readonly) db.pragma(`journal_mode = ${mode === 'wal' ? 'WAL' : 'MEMORY'}`)
    } catch (err) {
      db.close()
      // Release the file SQLite had opened, or the path would stay "open" (and locked) for good.
      this.#host.reapClosed()
      throw openError(err, p)
    }
    const close = db.close.bind(db)
    this.#databases.add(db)
    db.close = () => {
      close()
      this.#databases.delete(db)
      this.#host.reapClosed()
      return db
    }
    return db
  }

  /**
   * The file name SQLite knows the database at `path` by, for `ATTACH DATABASE ? AS name` on a
   * connection of this container (the attached database is opened in the connection's mode).
   */
  nameOf(path: string): string {
    return this.#host.nameOf(this, normalizeFilePath(path))
  }

  #openConnections(p: string): boolean {
    return (this.#files.get(p)?.refs ?? 0) > 0
  }

  /**
   * Whether `path` belongs to a database SQLite has open: the database, its WAL or journal (the
   * container refuses other changes to them meanwhile).
   */
  isOpen(path: string): boolean {
    return this.#live(path) !== undefined || this.#live(path.replace(GROUP_SUFFIX, '')) !== undefined
  }

  /** Connections handed out and not closed yet. */
  get databases(): ReadonlySet<BetterSqlite3.Database> {
    return this.#databases
  }

  /**
   * The kind the native side gets for a file SQLite opens: 0 not a main database, 1 atomic
   * mode, 2 WAL mode, 3 atomic mode with no journal or WAL beside it (none can appear while it
   * is open, so the native side answers SQLite's checks for them itself).
   */
  kindOf(path: string, mainDb: boolean): number {
    if (!mainDb) return 0
    if (this.#isWal(path)) return 2
    return this.#sizeOf(`${path}-journal`) !== undefined || this.#sizeOf(`${path}-wal`) !== undefined ? 1 : 3
  }

  /** The file SQLite has open at `path`, or has left pages pending in. */
  #live(path: string): PagedFile | undefined {
    const f = this.#files.get(path)
    return f && (f.refs > 0 || f.dirty) ? f : undefined
  }

  /** Size of `path` as SQLite sees it (pending changes included); undefined when there is no file. */
  #sizeOf(path: string): number | undefined {
    const f = this.#live(path)
    if (f) return f.exists ? f.size : undefined
    return this.store.size(path)
  }

  /** @internal The file SQLite opens; created (uncommitted) when missing and `create`. */
  openFile(path: string, create: boolean): PagedFile | undefined {
    let f = this.#files.get(path)
    if (!f || (!f.exists && f.refs === 0)) {
      const size = this.store.size(path)
      if (size === undefined && !create) return undefined
      f = new PagedFile(this.store, path, path.replace(GROUP_SUFFIX, ''), size)
      this.#files.set(path, f)
    } else if (!f.exists && !create) return undefined
    f.refs++
    return f
  }

  /** @internal A handle of `f` was closed. */
  release(f: PagedFile): void {
    f.refs--
    if (f.refs > 0) return
    if (f.deleteOnClose) {
      this.deleteFile(f.path)
      return
    }
    // A last close with pages pending: SQLite left the file consistent (it rolls back before
    // closing), so what it holds is committed rather than lost.
    if (f.dirty) this.sync(f, false)
    if (!f.dirty) this.#files.delete(f.path)
  }

  /**
   * @internal After a write, keeps memory bounded once a file's pending pages pass
   * {@link SPILL_BYTES}: a WAL-mode database commits them (without fsync; any prefix of what
   * SQLite wrote is a state WAL recovery handles), an atomic-mode one parks them in the store's
   * stash (space no commit uses, taken over by the commit that ends the transaction).
   */
  wrote(f: PagedFile): void {
    const settings = this.#settings.get(f.group)
    if (f.pendingBytes < (settings?.spillAt ?? SPILL_BYTES)) return
    if (settings?.mode !== 'wal') {
      f.spill()
      return
    }
    try {
      this.#commitGroup(f.group, false)
    } catch (err) {
      // Not now (a container transaction holds the writer, or the container is full): the
      // pages stay pending and go with the next commit.
      this.lastError = err
    }
  }

  /** @internal Whether `path` exists (for SQLite's xAccess: a file of size 0 counts as absent). */
  access(path: string): boolean {
    return (this.#sizeOf(path) ?? 0) > 0
  }

  /**
   * @internal Commits every pending change of `f`'s database (database, WAL and journal
   * together, so the store only ever holds a prefix of what SQLite wrote).
   *
   * When SQLite's own sync of an atomic-mode database fails, SQLite reports the commit as failed
   * and, its journal being in memory, cannot roll the file back; so the pending pages are
   * dropped here and the file is its last commit again (SQLite re-reads it after the error).
   * A failed commit at the end of a transaction (no sync asked) keeps the pages for the next
   * one: SQLite already considers that transaction committed.
   */
  sync(f: PagedFile, durable: boolean): void {
    this.#syncGroup(f.group, durable)
  }

  /** {@link sync} of the database `group`, with `extra` (a deletion) in the same commit. */
  #syncGroup(group: string, durable: boolean, extra?: FileChange): void {
    try {
      this.#commitGroup(group, durable, extra)
    } catch (err) {
      if (durable && !this.#isWal(group)) {
        for (const m of this.#files.values()) if (m.group === group) m.discard()
      }
      throw err
    }
  }

  /** Whether the database at `path` was opened in WAL mode. */
  #isWal(path: string): boolean {
    return this.#settings.get(path)?.mode === 'wal'
  }

  /** Commits the pending files of the database `group` (and `extra`) as one store commit. */
  #commitGroup(group: string, durable: boolean, extra?: FileChange): void {
    const changes: FileChange[] = []
    const members: PagedFile[] = []
    for (const m of this.#files.values()) {
      if (m.group === group && m.dirty && m.exists) {
        changes.push(m.change())
        members.push(m)
      }
    }
    if (extra) changes.push(extra)
    if (changes.length === 0 && !durable) return
    this.store.commit(changes, durable)
    for (const m of members) m.committed()
  }

  /** @internal Deletes `path` (SQLite's xDelete), committing pending pages of its database first. */
  deleteFile(path: string): boolean {
    const f = this.#files.get(path)
    const inStore = f ? f.inStore : this.store.size(path) !== undefined
    if (f) f.deleted()
    if (inStore) this.#syncGroup(path.replace(GROUP_SUFFIX, ''), false, { path, deleted: true })
    else if (!f) return false
    if (f && f.refs === 0) this.#files.delete(path)
    return true
  }

  /**
   * Closes every connection this mount handed out, commits what they left pending, and detaches
   * from the host. Idempotent.
   */
  close(): void {
    if (this.#closed) return
    let first: unknown
    for (const db of [...this.#databases]) {
      try {
        db.close()
      } catch (err) {
        first ??= err
      }
    }
    this.#host.reapClosed()
    for (const f of [...this.#files.values()]) {
      if (f.dirty && f.exists) {
        try {
          this.sync(f, false)
        } catch (err) {
          first ??= err
        }
      }
    }
    this.#closed = true
    this.#files.clear()
    this.#host.unmount(this)
    if (first) throw first
  }

  get closed(): boolean {
    return this.#closed
  }
}

/** SQLite codes an open can fail with, as container error codes. */
const OPEN_CODES: Record<string, ErrorCode> = {
  SQLITE_NOTADB: ErrorCodes.CORRUPT, SQLITE_CORRUPT: ErrorCodes.CORRUPT, SQLITE_CANTOPEN: ErrorCodes.NOT_FOUND,
  SQLITE_READONLY: ErrorCodes.READ_ONLY, SQLITE_BUSY: ErrorCodes.LOCKED, SQLITE_FULL: ErrorCodes.FULL,
}

/**
 * A failed open as a `CartridgeError`, like every error of the container's own API: the container
 * error behind it when there is one, else a code for SQLite's (kept in the message and on `cause`,
 * the `SqliteError` itself).
 */
function openError(err: unknown, path: string): CartridgeError {
  if (err instanceof CartridgeError) return err
  const cause = (err as { cause?: unknown }).cause
  if (cause instanceof CartridgeError) return new CartridgeError(cause.code, `${path}: ${cause.message}`, { path, cause: err })
  const sqlite = String((err as { code?: unknown }).code ?? '')
  const base = sqlite.replace(/^(SQLITE_[A-Z]+).*$/, '$1')
  const what = base === 'SQLITE_NOTADB' ? 'is not a SQLite database' : `cannot be opened: ${(err as Error).message}`
  return new CartridgeError(OPEN_CODES[base] ?? ErrorCodes.IO, `${path} ${what} (${sqlite || 'SQLite error'})`, { path, cause: err })
}
