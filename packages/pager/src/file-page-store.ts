import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, rmSync, statSync, writeSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'
import { CartridgeError, ErrorCodes, toCartridgeError } from '@cartridge/core'
import type { PageStore } from './page-store.js'
import { PAGE_SIZE } from './page-format.js'
import { FileLock, type LockKind } from './file-lock.js'

/**
 * What {@link FilePageStore.prewrite} writes, 64 KiB at a time: larger writes make the page cache
 * keep larger folios, and a later 4 KiB write then dirties (and a sync writes back) all of one;
 * measured on ext4, 64 KiB pieces made the small commits after them cheapest.
 */
const ZEROS = new Uint8Array(64 * 1024)

/** Refuses FIFOs, directories, sockets and devices: reading one could block the event loop for good. */
function regularFile(stats: Stats, path: string): void {
  if (stats.isDirectory()) throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `not a cartridge: ${path} is a directory`, { path })
  if (!stats.isFile()) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `not a cartridge: ${path} is not a regular file`, { path })
}

/** Options for {@link FilePageStore.open}. */
export interface FilePageStoreOptions {
  /** Create the file; fails with `CARTRIDGE_EXISTS` if it is there. */
  create?: boolean
  /** Open without writing and without taking the writer lock. */
  readOnly?: boolean
  /**
   * The writer lock to take. Default: `'os'` where `@cartridge/file-lock` is built, else `'file'`
   * (also forced by `CARTRIDGE_LOCK=file` in the environment).
   */
  lock?: LockKind
}

/**
 * A page store over one file, using synchronous positional I/O (`readSync`/`writeSync`),
 * which costs far less per small operation than async FileHandle calls. Writable stores
 * hold the single-writer lock until `close()`.
 */
export class FilePageStore implements PageStore {
  readonly pageSize = PAGE_SIZE
  readonly readOnly: boolean
  readonly path: string
  #fd: number
  #pages: number
  #lock: FileLock | undefined

  private constructor(path: string, fd: number, readOnly: boolean, lock: FileLock | undefined) {
    this.path = path
    this.#fd = fd
    this.readOnly = readOnly
    this.#lock = lock
    this.#pages = Math.floor(fstatSync(fd).size / PAGE_SIZE)
  }

  /**
   * Opens (or creates) a store over `path`. A writable store takes the writer lock on the file
   * before reading anything and fails with `CARTRIDGE_LOCKED` when another writer holds it; a
   * read-only one takes no lock. Anything but a regular file is refused with
   * `CARTRIDGE_INVALID_ARGUMENT`.
   */
  static open(path: string, options: FilePageStoreOptions = {}): FilePageStore {
    // A container can be replaced by a new file renamed over its path (a rekey): a writer that
    // locked the file it opened must still find that file at the path, or it would write a file
    // nobody reads. It looks again at what the path names now.
    for (let attempt = 1; ; attempt++) {
      const store = FilePageStore.#open(path, options)
      if (store.readOnly || options.create || store.#stillAtPath()) return store
      store.close()
      if (attempt >= 5) throw new CartridgeError(ErrorCodes.LOCKED, `${path} keeps being replaced while it is opened`, { path })
    }
  }

  /** Whether the file this store opened is still the one at its path. */
  #stillAtPath(): boolean {
    try {
      const now = statSync(this.path)
      const mine = fstatSync(this.#fd)
      return now.ino === mine.ino && now.dev === mine.dev
    } catch {
      return false
    }
  }

  /** The kind of writer lock held (undefined when read-only). */
  get lockKind(): LockKind | undefined {
    return this.#lock?.kind
  }

  static #open(path: string, options: FilePageStoreOptions): FilePageStore {
    const readOnly = options.readOnly ?? false
    let fd = -1
    let lock: FileLock | undefined
    try {
      if (options.create) {
        fd = openSync(path, 'wx+')
      } else {
        regularFile(statSync(path), path)
        // O_NONBLOCK: should the path turn into a FIFO after the stat, opening it must not wait for a writer.
        fd = openSync(path, (readOnly ? constants.O_RDONLY : constants.O_RDWR) | (constants.O_NONBLOCK ?? 0))
        regularFile(fstatSync(fd), path)
      }
      if (!readOnly) lock = FileLock.acquire(path, fd, options.lock)
      return new FilePageStore(path, fd, readOnly, lock)
    } catch (err) {
      lock?.release()
      if (fd >= 0) closeSync(fd)
      // A file this call created is empty: remove it again.
      if (options.create && fd >= 0) rmSync(path, { force: true })
      if (err instanceof CartridgeError) throw err
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new CartridgeError(ErrorCodes.EXISTS, `file already exists: ${path}`, { path, cause: err })
      if (code === 'ENOENT') {
        const why = options.create ? `cannot create ${path}: the folder ${dirname(path)} does not exist` : `no such container: ${path}`
        throw new CartridgeError(ErrorCodes.NOT_FOUND, why, { path, cause: err })
      }
      throw toCartridgeError(err, 'open', path)
    }
  }

  pageCount(): number {
    this.#check()
    return this.#pages
  }

  read(pageNo: number, into: Uint8Array): void {
    this.#check()
    let done = 0
    const pos = pageNo * PAGE_SIZE
    try {
      while (done < into.length) {
        const n = readSync(this.#fd, into, done, into.length - done, pos + done)
        if (n === 0) break
        done += n
      }
    } catch (err) {
      throw toCartridgeError(err, 'read', this.path)
    }
    if (done < into.length) into.fill(0, done)
  }

  write(pageNo: number, data: Uint8Array): void {
    this.#writable()
    let done = 0
    const pos = pageNo * PAGE_SIZE
    try {
      while (done < data.length) done += writeSync(this.#fd, data, done, data.length - done, pos + done)
    } catch (err) {
      throw toCartridgeError(err, 'write', this.path)
    }
    const end = pageNo + Math.ceil(data.length / PAGE_SIZE)
    if (end > this.#pages) this.#pages = end
  }

  /**
   * Writes zeros over the pages, 64 KiB at a time. Out of disk space (or quota), it stops
   * quietly: the pages are free and the writes only an optimization, so a commit that fits must
   * not fail for them.
   */
  prewrite(pageNo: number, count: number): void {
    this.#writable()
    const end = Math.min(pageNo + count, this.#pages)
    try {
      for (let p = pageNo; p < end; p += ZEROS.length / PAGE_SIZE) this.write(p, ZEROS.subarray(0, Math.min(ZEROS.length, (end - p) * PAGE_SIZE)))
    } catch (err) {
      const code = ((err as CartridgeError).cause as NodeJS.ErrnoException | undefined)?.code
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err
    }
  }

  sync(): void {
    this.#writable()
    try {
      fdatasyncSync(this.#fd)
    } catch (err) {
      throw toCartridgeError(err, 'sync', this.path)
    }
  }

  resize(pageCount: number): void {
    this.#writable()
    try {
      ftruncateSync(this.#fd, pageCount * PAGE_SIZE)
    } catch (err) {
      throw toCartridgeError(err, 'resize', this.path)
    }
    this.#pages = pageCount
  }

  close(): void {
    if (this.#fd < 0) return
    const fd = this.#fd
    this.#fd = -1
    this.#lock?.release()
    closeSync(fd)
  }

  #check(): void {
    if (this.#fd < 0) throw new CartridgeError(ErrorCodes.CLOSED, 'page store is closed', { path: this.path })
  }

  #writable(): void {
    this.#check()
    if (this.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only', { path: this.path })
  }
}
