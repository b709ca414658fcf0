/** A result code family whose errors can come from the container under SQLite (I/O, corruption, space, locking). */
const STORAGE_CODE = /^SQLITE_(?:IOERR|CORRUPT|FULL|CANTOPEN|BUSY|READONLY|NOTADB)/

const INSTALLED = Symbol.for('@cartridge/vfs.errorCauses')

/**
 * Carries the container error behind a failed SQLite call to the `SqliteError` better-sqlite3
 * throws for it, as `cause`. SQLite passes only a result code across the VFS, so without this a
 * container checksum failure under a database reaches the user as `SQLITE_CORRUPT "database
 * disk image is malformed"` and nothing more. SQLite's code and message stay as they are.
 *
 * better-sqlite3 makes its `SqliteError` in native code and ends the constructor with
 * `this.code = code`; an accessor for `code` on `SqliteError.prototype` sees each such error as
 * it is made (the assignment then defines the same own `code` property it always did). The
 * error recorded by the last failed VFS call is attached once, and only to a storage-family code.
 */
export class ErrorCauses {
  #pending: unknown

  /** Hooks `SqliteError` (once per class; later calls on the same class do nothing). */
  install(SqliteError: { prototype: object }): void {
    const proto = SqliteError.prototype as Record<symbol, unknown>
    if (proto[INSTALLED]) return
    Object.defineProperty(proto, INSTALLED, { value: this })
    Object.defineProperty(proto, 'code', {
      configurable: true,
      get: () => undefined,
      set(this: object, code: unknown) {
        Object.defineProperty(this, 'code', { value: code, writable: true, enumerable: true, configurable: true })
        const cause = (proto[INSTALLED] as ErrorCauses).take(code)
        if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, writable: true, enumerable: false, configurable: true })
      },
    })
  }

  /** Remembers the error a VFS call failed with (the newest one wins). */
  record(err: unknown): void {
    this.#pending = err
  }

  /** The pending error, when `code` is one it can explain (then it is forgotten). */
  take(code: unknown): unknown {
    if (this.#pending === undefined || typeof code !== 'string' || !STORAGE_CODE.test(code)) return undefined
    const cause = this.#pending
    this.#pending = undefined
    return cause
  }
}
