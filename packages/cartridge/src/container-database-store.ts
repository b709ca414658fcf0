import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { DatabaseStore, FileChange } from '@cartridge/vfs'
import type { Engine } from './engine.js'
import type { CommitQueue } from './commit-queue.js'
import type { FileRecord } from './file-record.js'
import { chunkAt, loadChunk, readContent } from './content.js'
import { isPaged } from './paged-content.js'

const P = 4096

/**
 * The container as the layer under the SQLite VFS: database files are container files read by
 * page from the last commit, and SQLite's syncs become container commits (through the commit
 * queue, so they share commits with pending file writes and wait out explicit transactions).
 */
export class ContainerDatabaseStore implements DatabaseStore {
  readonly directory: string
  readonly #engine: Engine
  readonly #queue: CommitQueue
  #records = new Map<string, FileRecord | undefined>()
  #recordsTxn = -1

  constructor(engine: Engine, queue: CommitQueue, directory: string) {
    this.#engine = engine
    this.#queue = queue
    this.directory = directory
  }

  get readOnly(): boolean {
    return this.#engine.store.readOnly
  }

  /** The committed record of `path` (cached until the next commit). */
  #record(path: string): FileRecord | undefined {
    const e = this.#engine
    if (this.#recordsTxn !== e.meta.txn) {
      this.#records.clear()
      this.#recordsTxn = e.meta.txn
    }
    if (this.#records.has(path)) return this.#records.get(path)
    const r = e.record(path, e.committed)
    this.#records.set(path, r)
    return r
  }

  size(path: string): number | undefined {
    const r = this.#record(path)
    if (r) return r.size
    if (this.#engine.isDirectory(path, this.#engine.committed)) {
      throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `${path} is a directory`, { path })
    }
    return undefined
  }

  readPage(path: string, index: number, into: Uint8Array): number {
    const r = this.#record(path)
    if (!r) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file: ${path}`, { path })
    const start = index * P
    if (start >= r.size) return 0
    const length = Math.min(P, r.size - start)
    if (isPaged(r)) loadChunk(this.#engine, chunkAt(this.#engine, r, index, path), path, into)
    else into.set(readContent(this.#engine, r, path, start, length))
    return length
  }

  commit(changes: readonly FileChange[], durable: boolean): void {
    this.#queue.commitNow((e) => {
      for (const c of changes) {
        if (c.deleted) e.deletePaged(c.path)
        else e.writePaged(c.path, c)
      }
    }, durable)
  }
}
