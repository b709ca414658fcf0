import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { DatabaseStore } from './database-store.js'
import { DatabaseMount, type MountHost } from './database-mount.js'
import { EXTENSION_ENTRY, addonPath, loadNative, type NativeBackend, type NativeVfs } from './native.js'
import type { PagedFile } from './paged-file.js'
import { Sqlite, sqliteCodeOf } from './sqlite-codes.js'
import { ErrorCauses } from './error-causes.js'

const HOST_KEY = Symbol.for('@cartridge/vfs.host')

/** Marks a SQLite file name as one of ours; the native side dispatches on it. */
export const NAME_MARKER = '/.cartridge-vfs:'

interface Handle {
  mount: DatabaseMount
  file: PagedFile
}

type DatabaseConstructor = typeof BetterSqlite3

/**
 * The process-wide bridge between SQLite and containers. SQLite's VFS registry is process-wide,
 * so there is one host per process (per better-sqlite3 copy); each open container is a
 * {@link DatabaseMount} in it. The host loads the native VFS into better-sqlite3's SQLite once,
 * routes every file call to the mount that owns the file, and turns store errors into SQLite
 * result codes (the native side never sees an exception).
 */
export class SqliteHost implements MountHost {
  /**
   * The host of this process (created on first use). Kept under a global symbol so that the ESM
   * and CommonJS builds, loaded side by side, share one host (the native VFS has one backend).
   */
  static get(): SqliteHost {
    const slot = globalThis as unknown as Record<symbol, SqliteHost | undefined>
    return (slot[HOST_KEY] ??= new SqliteHost())
  }

  readonly #mounts = new Map<number, DatabaseMount>()
  readonly #handles = new Map<number, Handle>()
  #nextMount = 1
  #nextHandle = 1
  #native: NativeVfs | undefined
  #buffer: Uint8Array | undefined
  #Database: DatabaseConstructor | undefined
  readonly #causes = new ErrorCauses()

  private constructor() {}

  /** better-sqlite3's Database class, with the VFS loaded into its SQLite. */
  get Database(): DatabaseConstructor {
    this.#load()
    return this.#Database!
  }

  /** Attaches a store; its databases are opened through the returned mount. */
  mount(store: DatabaseStore): DatabaseMount {
    const m = new DatabaseMount(this, this.#nextMount++, store)
    this.#mounts.set(m.id, m)
    return m
  }

  /** @internal */
  unmount(m: DatabaseMount): void {
    this.#mounts.delete(m.id)
  }

  /** @internal Opens a better-sqlite3 connection to `path` of `m`. */
  connect(m: DatabaseMount, path: string, options: BetterSqlite3.Options): BetterSqlite3.Database {
    this.#load()
    const name = this.nameOf(m, path)
    try {
      return new this.#Database!(name, options)
    } catch (err) {
      const cause = m.lastError
      m.lastError = undefined
      if (cause instanceof CartridgeError) throw cause
      // With fileMustExist, SQLite's "unable to open" means the database is not there.
      const missing = options.fileMustExist === true && (err as { code?: unknown }).code === 'SQLITE_CANTOPEN' && m.store.size(path) === undefined
      if (missing) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no database ${path} in the container`, { path, cause: err })
      throw new CartridgeError(ErrorCodes.IO, `cannot open database ${path}: ${(err as Error).message}`, { path, cause: err })
    }
  }

  /** @internal The file name SQLite knows `path` of `m` by. */
  nameOf(m: DatabaseMount, path: string): string {
    return `${m.store.directory.replace(/\/+$/, '')}${NAME_MARKER}${m.id}:${encodeURIComponent(path)}`
  }

  /** @internal Hands closed SQLite files back to their mounts. */
  reapClosed(): void {
    if (!this.#native) return
    for (const h of this.#native.takeClosed()) {
      const handle = this.#handles.get(h)
      if (!handle) continue
      this.#handles.delete(h)
      try {
        handle.mount.release(handle.file)
      } catch (err) {
        handle.mount.lastError = err
      }
    }
  }

  #load(): void {
    if (this.#Database) return
    const native = loadNative()
    const require = createRequire(import.meta.url)
    let Database: DatabaseConstructor
    try {
      Database = require('better-sqlite3') as DatabaseConstructor
    } catch (err) {
      // An optional dependency: a project that only stores files need not compile it.
      throw new CartridgeError(
        ErrorCodes.UNSUPPORTED,
        'SQLite support needs better-sqlite3, which is not installed (or did not build): run `npm install better-sqlite3` in your project (it compiles from source where no prebuilt binary can be downloaded, so a C compiler is needed)',
        { cause: err },
      )
    }
    this.#causes.install(Database.SqliteError)
    try {
      this.#buffer = new Uint8Array(native.register(this.#backend()))
    } catch (err) {
      throw new CartridgeError(ErrorCodes.UNSUPPORTED, (err as Error).message, { cause: err })
    }
    this.#native = native
    const boot = new Database(':memory:')
    try {
      (boot.loadExtension as (path: string, entryPoint?: string) => unknown)(addonPath(), EXTENSION_ENTRY)
    } finally {
      boot.close()
    }
    if (!native.vfsRegistered()) throw new CartridgeError(ErrorCodes.UNSUPPORTED, 'the SQLite VFS did not register')
    this.#Database = Database
    // Past this point JavaScript must not be called from SQLite (databases closed at exit).
    process.once('exit', () => native.disable())
  }

  #parse(name: string): { mount: DatabaseMount; path: string } | undefined {
    const at = name.indexOf(NAME_MARKER)
    if (at < 0) return undefined
    const rest = name.slice(at + NAME_MARKER.length)
    const colon = rest.indexOf(':')
    const mount = this.#mounts.get(Number(rest.slice(0, colon)))
    if (!mount || mount.closed) return undefined
    return { mount, path: decodeURIComponent(rest.slice(colon + 1)) }
  }

  /** The callbacks the native VFS makes. None throws: failures become negative SQLite codes. */
  #backend(): NativeBackend {
    const fail = (mount: DatabaseMount | undefined, err: unknown, fallback: number): number => {
      if (mount) mount.lastError = err
      this.#causes.record(err)
      return -sqliteCodeOf(err, fallback)
    }
    /** Runs `body` on an open handle; its result, or the SQLite code of what it threw. */
    const onHandle = (h: number, fallback: number, body: (handle: Handle) => number): number => {
      const handle = this.#handles.get(h)
      if (!handle) return -fallback
      try {
        return body(handle)
      } catch (err) {
        return fail(handle.mount, err, fallback)
      }
    }
    /** Runs `body` on a file name of ours; `missing` when the name is not (or no longer) ours. */
    const onName = (name: string, missing: number, fallback: number, body: (mount: DatabaseMount, path: string) => number): number => {
      const target = this.#parse(name)
      if (!target) return missing
      try {
        return body(target.mount, target.path)
      } catch (err) {
        return fail(target.mount, err, fallback)
      }
    }
    return {
      open: (name, flags) => {
        this.reapClosed()
        return onName(name, -Sqlite.CANTOPEN, Sqlite.CANTOPEN, (mount, path) => {
          const file = mount.openFile(path, (flags & Sqlite.OPEN_CREATE) !== 0)
          if (!file) return -Sqlite.CANTOPEN
          if (flags & Sqlite.OPEN_DELETEONCLOSE) file.deleteOnClose = true
          const h = this.#nextHandle++
          this.#handles.set(h, { mount, file })
          return h * 4 + mount.kindOf(path, (flags & Sqlite.OPEN_MAIN_DB) !== 0)
        })
      },
      read: (h, offset, length) => onHandle(h, Sqlite.IOERR_READ, ({ file }) => file.read(offset, length, this.#buffer!)),
      write: (h, offset, length) =>
        onHandle(h, Sqlite.IOERR_WRITE, ({ mount, file }) => {
          file.write(offset, this.#buffer!.subarray(0, length))
          mount.wrote(file)
          return 0
        }),
      truncate: (h, size) => onHandle(h, Sqlite.IOERR_TRUNCATE, ({ file }) => (file.truncate(size), 0)),
      sync: (h, durable) => onHandle(h, Sqlite.IOERR_FSYNC, ({ mount, file }) => (mount.sync(file, durable !== 0), 0)),
      size: (h) => onHandle(h, Sqlite.IOERR, ({ file }) => file.size),
      access: (name) => onName(name, 0, Sqlite.IOERR, (mount, path) => (mount.access(path) ? 1 : 0)),
      delete: (name) =>
        onName(name, -Sqlite.IOERR_DELETE_NOENT, Sqlite.IOERR_DELETE, (mount, path) => (mount.deleteFile(path) ? 0 : -Sqlite.IOERR_DELETE_NOENT)),
    }
  }
}
