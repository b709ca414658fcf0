import { tmpdir } from 'node:os'
import { CartridgeError, ErrorCodes, crc32 } from '@cartridge/core'
import { VFS_PAGE_SIZE, isStashed, type DatabaseStore, type FileChange, type StashedPage } from './database-store.js'

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
  /** Stashed pages by slot (what is parked outside the committed files). */
  readonly stashed = new Map<number, Uint8Array>()
  #nextSlot = 1

  stash(bytes: Uint8Array): StashedPage {
    const page = this.#nextSlot++
    this.stashed.set(page, bytes.slice())
    return { stashed: true, page, checksum: crc32(bytes) }
  }

  readStashed(p: StashedPage, into: Uint8Array): void {
    const bytes = this.stashed.get(p.page)
    if (!bytes || crc32(bytes) !== p.checksum) throw new CartridgeError(ErrorCodes.CHECKSUM, `stashed page ${p.page} is gone or damaged`)
    into.set(bytes)
  }

  unstash(p: StashedPage): void {
    if (!this.stashed.delete(p.page)) throw new CartridgeError(ErrorCodes.CORRUPT, `stashed page ${p.page} given back twice`)
  }

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
      for (const [i, entry] of c.pages) {
        const page = isStashed(entry) ? this.stashed.get(entry.page)! : entry
        const at = i * VFS_PAGE_SIZE
        if (at < c.size) bytes.set(page.subarray(0, Math.min(VFS_PAGE_SIZE, c.size - at)), at)
      }
      next.set(c.path, bytes)
    }
    this.files.clear()
    for (const [k, v] of next) this.files.set(k, v)
    // The commit took its stashed pages over.
    for (const c of changes) if (!c.deleted) for (const entry of c.pages.values()) if (isStashed(entry)) this.stashed.delete(entry.page)
    this.commits++
    if (durable) this.durableCommits++
  }
}
