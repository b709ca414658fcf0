import { CartridgeError, ErrorCodes, directoryPrefix } from '@cartridge/core'
import type { Catalog, CatalogVersion } from '@cartridge/catalog'
import type { Codec } from '@cartridge/codec'
import type { CompressionSetting } from './codec-choice.js'
import { RecordKind, decodeFileRecord, encodeFileRecord, type FileRecord } from './file-record.js'
import { checkReadRange, readContent } from './content-read.js'
import { chunksOf } from './chunk-map.js'
import { freeContent, recompressContent, writeContent } from './content-write.js'
import { type ContentIO } from './content-io.js'
import { writePagedContent, type PagedChange } from './paged-content.js'
import { contentHash, type AuditTrail } from './audit-trail.js'

/**
 * What the file operations need from the engine: the working catalog and file count, the
 * content IO, the codecs, the audit log, and the hooks that guard paths and classify operations.
 */
export interface FileHost extends ContentIO {
  readonly catalog: Catalog
  fileCount: number
  readonly guard: ((path: string) => void) | undefined
  readonly audit: AuditTrail
  readonly defaultCodec: Codec | undefined
  codecFor(setting: CompressionSetting): Codec | undefined
  /** Marks the running operation as a delete (it may use the delete reserve). */
  shrinks(): void
  /** A record with page checksums was installed: the next meta page says format 1.4. */
  markSummed(): void
}

/**
 * The file operations of the transaction being built, on the catalog of file records (spec §10,
 * §11): create, replace, delete, rename, read. Each runs inside the engine's `apply`, which undoes
 * it if it throws; `guard` is asked before any path changes.
 */
export class FileTable {
  readonly #host: FileHost

  constructor(host: FileHost) {
    this.#host = host
  }

  /** The record of `path` in the working state or at `at`. */
  record(path: string, at?: CatalogVersion): FileRecord | undefined {
    const e = this.#host
    const v = e.catalog.get(path, at)
    return v === undefined ? undefined : decodeFileRecord(v, path)
  }

  /** Whether any file lives under directory `dir`. */
  isDirectory(dir: string, at?: CatalogVersion): boolean {
    const e = this.#host
    const prefix = directoryPrefix(dir)
    for (const _ of e.catalog.entries({ prefix, from: prefix, at })) return true
    return false
  }

  /** Refuses a new file at `path` where an ancestor is a file (NOT_A_DIRECTORY) or `path` is a directory (IS_A_DIRECTORY). */
  #checkPlace(path: string): void {
    const e = this.#host
    for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) {
      const ancestor = path.slice(0, i)
      if (e.catalog.get(ancestor) !== undefined) {
        throw new CartridgeError(ErrorCodes.NOT_A_DIRECTORY, `${ancestor} is a file, so ${path} cannot be created`, { path })
      }
    }
    if (this.isDirectory(path)) throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `${path} is a directory`, { path })
  }

  /**
   * Creates or replaces a file. `compression` overrides the container's codec for this write
   * (`null`: store raw).
   */
  writeFile(path: string, data: Uint8Array, compression?: CompressionSetting | null): void {
    const e = this.#host
    e.guard?.(path)
    const codec = compression === undefined ? e.defaultCodec : compression === null ? undefined : e.codecFor(compression)
    const old = this.record(path)
    if (!old) this.#checkPlace(path)
    const now = Date.now()
    const rec = writeContent(e, data, old?.created ?? now, now, codec)
    this.#install(path, rec, old)
    if (e.audit.enabled) e.audit.append({ action: 'write', path, size: data.length, sha256: contentHash(data) })
  }

  /**
   * Rewrites the content of the file at `path` with `codec` (undefined: raw); its times stay.
   * Returns the stored bytes before and after, or `undefined` when there was nothing to rewrite
   * (an inline or a paged file).
   */
  recompressFile(path: string, codec: Codec | undefined): { before: number; after: number } | undefined {
    const e = this.#host
    e.guard?.(path)
    const old = this.record(path)
    if (!old) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file: ${path}`, { path })
    const stored = (r: FileRecord) => (r.kind === RecordKind.INLINE ? r.size : chunksOf(e, r).reduce((n, c) => n + c.storedLength, 0))
    const before = stored(old)
    const rec = recompressContent(e, old, path, codec)
    if (!rec) return undefined
    this.#install(path, rec, old)
    e.audit.append({ action: 'recompress', path, size: old.size, detail: codec ? codec.name : 'none' })
    return { before, after: stored(rec) }
  }

  /** Installs a record for `path`, releasing the version it replaces; `sha256` is the content's hash for the audit log. */
  putRecord(path: string, rec: FileRecord, old = this.record(path), sha256?: Uint8Array): void {
    const e = this.#host
    e.guard?.(path)
    if (!old) this.#checkPlace(path)
    this.#install(path, rec, old)
    e.audit.append({ action: 'write', path, size: rec.size, sha256 })
  }

  /** Puts a record whose place was checked; `old` is the version it replaces, if any. */
  #install(path: string, rec: FileRecord, old: FileRecord | undefined): void {
    const e = this.#host
    if (rec.summed) e.markSummed()
    e.catalog.put(path, encodeFileRecord(rec))
    if (old) freeContent(e, old)
    else e.fileCount++
  }

  /** Deletes a file (a delete: it may use the delete reserve). */
  deleteFile(path: string): void {
    const e = this.#host
    e.shrinks()
    e.guard?.(path)
    const old = this.record(path)
    if (!old) {
      if (this.isDirectory(path)) throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `${path} is a directory (end the path with / to delete it)`, { path })
      throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file: ${path}`, { path })
    }
    this.#remove(path, old)
    e.audit.append({ action: 'delete', path, size: old.size })
  }

  /** Takes `path` (whose record is `old`) out of the catalog and frees its content. */
  #remove(path: string, old: FileRecord): void {
    const e = this.#host
    e.catalog.delete(path)
    freeContent(e, old)
    e.fileCount--
  }

  /**
   * Deletes every file under `dir`; returns how many (a delete: it may use the delete reserve).
   * `check` is called with each path first and throws to refuse (then nothing is deleted).
   */
  deleteTree(dir: string, check?: (path: string) => void): number {
    const e = this.#host
    e.shrinks()
    const prefix = directoryPrefix(dir)
    const victims: Array<[string, Uint8Array]> = []
    for (const [k, v] of e.catalog.entries({ prefix, from: prefix })) victims.push([k, v])
    if (check) for (const [k] of victims) check(k)
    let bytes = 0
    for (const [k, v] of victims) {
      e.guard?.(k)
      const r = decodeFileRecord(v, k)
      bytes += r.size
      this.#remove(k, r)
    }
    if (victims.length > 0) e.audit.append({ action: 'delete-tree', path: dir, size: bytes, detail: `${victims.length} files` })
    return victims.length
  }

  /**
   * Renames a file, or a directory with everything under it. Replaces a file at `to` unless
   * `overwrite` is false. `check` is called before anything changes with `delete` for each source
   * path and `write` for each target, and throws to refuse.
   */
  rename(from: string, to: string, overwrite = true, check?: (action: 'delete' | 'write', path: string) => void): void {
    const e = this.#host
    e.guard?.(from)
    e.guard?.(to)
    if (check && (this.record(from) || from === to)) {
      check('delete', from)
      check('write', to)
    }
    if (from === to) {
      if (!this.record(from) && !this.isDirectory(from)) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file: ${from}`, { path: from })
      return
    }
    const rec = e.catalog.get(from)
    if (rec !== undefined) {
      const existing = this.record(to)
      if (existing && !overwrite) throw new CartridgeError(ErrorCodes.EXISTS, `${to} already exists`, { path: to })
      if (!existing) this.#checkPlace(to)
      e.catalog.delete(from)
      e.catalog.put(to, rec)
      if (existing) {
        freeContent(e, existing)
        e.fileCount--
      }
      e.audit.append({ action: 'rename', path: from, target: to, detail: existing ? 'replaced the target' : '' })
      return
    }
    if (!this.isDirectory(from)) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file or directory: ${from}`, { path: from })
    if (to.startsWith(directoryPrefix(from))) throw new CartridgeError(ErrorCodes.INVALID_PATH, `cannot move ${from} into itself`, { path: to })
    if (e.catalog.get(to) !== undefined || this.isDirectory(to)) throw new CartridgeError(ErrorCodes.EXISTS, `${to} already exists`, { path: to })
    this.#checkPlace(to)
    const prefix = directoryPrefix(from)
    const moves: Array<[string, Uint8Array]> = []
    for (const [k, v] of e.catalog.entries({ prefix, from: prefix })) moves.push([k, v])
    for (const [k] of moves) e.guard?.(k)
    if (check) {
      for (const [k] of moves) {
        check('delete', k)
        check('write', to + k.slice(from.length))
      }
    }
    for (const [k, v] of moves) {
      e.catalog.delete(k)
      e.catalog.put(to + k.slice(from.length), v)
    }
    e.audit.append({ action: 'rename', path: from, target: to, detail: `directory, ${moves.length} files` })
  }

  /** Writes a new version of a paged file (a SQLite file): replaced pages only, copy-on-write. */
  writePaged(path: string, change: PagedChange): void {
    const e = this.#host
    const old = this.record(path)
    if (!old) this.#checkPlace(path)
    const now = Date.now()
    const rec = writePagedContent(e, old, change, old?.created ?? now, now, path)
    e.catalog.put(path, encodeFileRecord(rec))
    if (!old) e.fileCount++
    e.audit.append({ action: 'db.write', path, size: change.size, detail: `${change.pages.size} pages` })
  }

  /** Deletes a paged file (for the VFS; not guarded). Returns whether it existed. */
  deletePaged(path: string): boolean {
    const e = this.#host
    const old = this.record(path)
    if (!old) return false
    this.#remove(path, old)
    e.audit.append({ action: 'delete', path, size: old.size })
    return true
  }

  /** Reads `[offset, offset+length)` of a file, clamped to its size. */
  readFile(path: string, at: CatalogVersion | undefined, offset = 0, length?: number): Uint8Array {
    const e = this.#host
    const rec = this.record(path, at)
    if (!rec) {
      const code = this.isDirectory(path, at) ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND
      throw new CartridgeError(code, code === ErrorCodes.NOT_FOUND ? `no such file: ${path}` : `${path} is a directory`, { path })
    }
    checkReadRange(path, offset, length)
    const start = Math.min(offset, rec.size)
    const end = length === undefined ? rec.size : Math.min(rec.size, start + length)
    return readContent(e, rec, path, start, end - start)
  }
}
