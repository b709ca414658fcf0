import type { DatabaseStore, FileWrite, StashedPage } from './database-store.js'
import { VFS_PAGE_SIZE, isStashed } from './database-store.js'

const P = VFS_PAGE_SIZE

/**
 * One SQLite file (database, WAL or journal) as the VFS sees it: the committed file in the store
 * plus the pages written since the last commit, kept here until SQLite syncs. Shared by every
 * connection that has the file open.
 */
export class PagedFile {
  readonly path: string
  /** Database this file belongs to (`/a.db` for `/a.db-wal`). */
  readonly group: string
  /** Open SQLite handles. */
  refs = 0
  deleteOnClose = false
  /** Current size, including uncommitted writes. */
  size: number
  /** Size in the store (0 when the file is not committed yet). */
  #committedSize: number
  /** Committed bytes still valid (below the smallest size since the last commit). */
  #keep: number
  #exists: boolean
  #sizeChanged = false
  readonly #dirty = new Map<number, Uint8Array | StashedPage>()
  #inMemory = 0
  readonly #store: DatabaseStore
  readonly #scratch = new Uint8Array(P)

  constructor(store: DatabaseStore, path: string, group: string, committedSize: number | undefined) {
    this.#store = store
    this.path = path
    this.group = group
    this.#exists = committedSize !== undefined
    this.size = this.#committedSize = this.#keep = committedSize ?? 0
    if (!this.#exists) this.#sizeChanged = true
  }

  /** Whether anything is waiting to be committed. */
  get dirty(): boolean {
    return this.#dirty.size > 0 || this.#sizeChanged
  }

  /** Bytes of uncommitted pages held in memory. */
  get pendingBytes(): number {
    return this.#inMemory * P
  }

  /** Moves every pending page held in memory to the store's stash (when it has one). */
  spill(): void {
    if (!this.#store.stash) return
    for (const [index, page] of this.#dirty) {
      if (isStashed(page)) continue
      const parked = this.#store.stash(page, index)
      if (!parked) return
      this.#dirty.set(index, parked)
      this.#inMemory--
    }
  }

  /** The pending page `index`, in memory (a stashed one is read back into a new array). */
  #pending(index: number): Uint8Array | undefined {
    const page = this.#dirty.get(index)
    if (!page || !isStashed(page)) return page
    const bytes = new Uint8Array(P)
    this.#store.readStashed!(page, bytes)
    return bytes
  }

  #drop(index: number): void {
    const page = this.#dirty.get(index)
    if (page === undefined) return
    if (isStashed(page)) this.#store.unstash!(page)
    else this.#inMemory--
    this.#dirty.delete(index)
  }

  #dropAll(): void {
    for (const index of [...this.#dirty.keys()]) this.#drop(index)
  }

  /** Copies `[offset, offset + length)` into `out`; returns the bytes available before the end of the file. */
  read(offset: number, length: number, out: Uint8Array): number {
    const end = Math.min(offset + length, this.size)
    let pos = offset
    while (pos < end) {
      const index = Math.floor(pos / P)
      const from = pos - index * P
      const take = Math.min(P - from, end - pos)
      const target = out.subarray(pos - offset, pos - offset + take)
      const page = this.#dirty.get(index)
      if (page) this.#pendingPage(page, target, from)
      else if (from === 0 && take === P && (index + 1) * P <= this.#keep) {
        this.#store.readPage(this.path, index, target)
      } else this.#committedPage(index, target, from)
      pos += take
    }
    return Math.max(0, end - offset)
  }

  /** Fills `target` with bytes of a pending page from byte `from` (a stashed one is read back without allocating). */
  #pendingPage(page: Uint8Array | StashedPage, target: Uint8Array, from: number): void {
    if (!isStashed(page)) {
      target.set(page.subarray(from, from + target.length))
    } else if (from === 0 && target.length === P) {
      this.#store.readStashed!(page, target)
    } else {
      this.#store.readStashed!(page, this.#scratch)
      target.set(this.#scratch.subarray(from, from + target.length))
    }
  }

  /** Fills `target` with committed bytes of page `index` from byte `from` (zeros past `keep`). */
  #committedPage(index: number, target: Uint8Array, from: number): void {
    target.fill(0)
    const base = index * P
    if (base >= this.#keep) return
    const page = this.#scratch
    const valid = Math.min(this.#store.readPage(this.path, index, page), this.#keep - base)
    if (valid > from) target.set(page.subarray(from, Math.min(valid, from + target.length)))
  }

  /** Writes `data` at `offset` into uncommitted pages. */
  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length
    let pos = offset
    while (pos < end) {
      const index = Math.floor(pos / P)
      const from = pos - index * P
      const take = Math.min(P - from, end - pos)
      let page = this.#dirty.get(index)
      if (page && isStashed(page)) {
        const bytes = new Uint8Array(P)
        if (take !== P) this.#store.readStashed!(page, bytes)
        this.#store.unstash!(page)
        this.#dirty.set(index, bytes)
        this.#inMemory++
        page = bytes
      }
      if (!page) {
        page = new Uint8Array(P)
        if (take !== P) this.#committedPage(index, page, 0)
        this.#dirty.set(index, page)
        this.#inMemory++
      }
      page.set(data.subarray(pos - offset, pos - offset + take), from)
      pos += take
    }
    if (end > this.size) {
      this.size = end
      this.#sizeChanged = true
    }
  }

  /** Sets the size; bytes past it are gone (and read as zero if the file grows again). */
  truncate(size: number): void {
    if (size < this.size) {
      const lastPage = Math.ceil(size / P)
      for (const index of [...this.#dirty.keys()]) if (index >= lastPage) this.#drop(index)
      let tail = this.#dirty.get(lastPage - 1)
      if (tail && isStashed(tail)) {
        const bytes = this.#pending(lastPage - 1)!
        this.#drop(lastPage - 1)
        this.#dirty.set(lastPage - 1, bytes)
        this.#inMemory++
        tail = bytes
      }
      if (tail) tail.fill(0, size - (lastPage - 1) * P)
      this.#keep = Math.min(this.#keep, size)
    }
    if (size !== this.size) this.#sizeChanged = true
    this.size = size
  }

  /** The change that commits this file's pending state. */
  change(): FileWrite {
    return { path: this.path, size: this.size, keep: this.#keep, pages: this.#dirty }
  }

  /** After a successful commit of {@link change}: the pending state is now the committed one (stashed pages included). */
  committed(): void {
    this.#dirty.clear()
    this.#inMemory = 0
    this.#committedSize = this.#keep = this.size
    this.#exists = true
    this.#sizeChanged = false
  }

  /** Drops every uncommitted change: the file is its committed version again. */
  discard(): void {
    this.#dropAll()
    this.size = this.#keep = this.#committedSize
    this.#sizeChanged = !this.#exists
  }

  /** After the file was deleted: it is empty and not in the store. */
  deleted(): void {
    this.#dropAll()
    this.size = this.#committedSize = this.#keep = 0
    this.#exists = false
    this.#sizeChanged = false
  }

  /** Whether the file is in the store or waiting to be. */
  get exists(): boolean {
    return this.#exists || this.dirty
  }

  /** Whether the store holds a version of this file. */
  get inStore(): boolean {
    return this.#exists
  }
}
