import { tmpdir } from 'node:os'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { VFS_PAGE_SIZE, type DatabaseStore, type FileChange } from './database-store.js'

/**
 * A {@link DatabaseStore} in process memory: files are byte arrays and a commit replaces them
 * all at once. For tests of the VFS on its own, and as the reference the container's store is
 * compared with.
 */
export class MemoryDatabaseStore implements DatabaseStore {
  readonly readOnly = false
  readonly directory = tmpdir()
  readonly files = new Map<string, Uint8Array>()
  commits = 0
  durableCommits = 0
  /** Makes the next commit fail with this error (once). */
  failNext: CartridgeError | undefined

  size(path: string): number | undefined {
    return this.files.get(path)?.length
  }

  readPage(path: string, index: number, into: Uint8Array): number {
    const f = this.files.get(path)
    if (!f) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file: ${path}`, { path })
    const start = index * VFS_PAGE_SIZE
    const bytes = f.subarray(start, Math.min(f.length, start + VFS_PAGE_SIZE))
    into.set(bytes)
    return bytes.length
  }

  commit(changes: readonly FileChange[], durable: boolean): void {
    if (this.failNext) {
      const err = this.failNext
      this.failNext = undefined
      throw err
    }
    const next = new Map(this.files)
    for (const c of changes) {
      if (c.deleted) {
        next.delete(c.path)
        continue
      }
      const old = next.get(c.path) ?? new Uint8Array(0)
      const bytes = new Uint8Array(c.size)
      bytes.set(old.subarray(0, Math.min(c.keep, c.size)))
      for (const [i, page] of c.pages) {
        const at = i * VFS_PAGE_SIZE
        if (at < c.size) bytes.set(page.subarray(0, Math.min(VFS_PAGE_SIZE, c.size - at)), at)
      }
      next.set(c.path, bytes)
    }
    this.files.clear()
    for (const [k, v] of next) this.files.set(k, v)
    this.commits++
    if (durable) this.durableCommits++
  }
}
