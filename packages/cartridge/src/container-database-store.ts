import { CartridgeError, ErrorCodes, crc32 } from '@cartridge/core'
import { LruCache } from '@cartridge/arc-cache'
import { isStashed, type DatabaseStore, type FileChange, type StashedPage } from '@cartridge/vfs'
import { PAGED_CHUNK_SIZE as P, RecordKind, type FileRecord, chunkMemo, loadChunk, readWithinChunk, sealStored, isPaged, PageTable } from '@cartridge/engine'
import type { Engine, CommitQueue } from '@cartridge/engine'

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
  readonly #tables = new Map<string, PageTable>()
  /** Verified content pages of paged files by container page number. */
  readonly #pages: LruCache<number, VerifiedPage>
  /** The last chunk read of a file not yet paged (its 64 KiB chunks hold 16 pages each). */
  readonly #chunk = chunkMemo()

  constructor(engine: Engine, queue: CommitQueue, directory: string) {
    this.#engine = engine
    this.#queue = queue
    this.directory = directory
    this.#pages = new LruCache(Math.max(64, Math.floor(engine.options.bufferPoolSize / 2)))
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
    const r = e.files.record(path, e.committed)
    this.#records.set(path, r)
    return r
  }

  size(path: string): number | undefined {
    const r = this.#record(path)
    if (r) return r.size
    if (this.#engine.files.isDirectory(path, this.#engine.committed)) {
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
    if (!isPaged(r)) into.set(readWithinChunk(this.#engine, r, path, start, length, this.#chunk))
    else into.set(this.#pagedChunk(path, r, index))
    return length
  }

  /** The verified bytes of page `index` of paged file `path` (record `r`), through the page cache. */
  #pagedChunk(path: string, r: FileRecord, index: number): Uint8Array {
    const c = this.#table(path, r).locate(this.#engine, index, path)
    const hit = this.#pages.get(c.page)
    if (hit && hit.txn === c.txn && hit.checksum === c.checksum) return hit.bytes
    const bytes = loadChunk(this.#engine, c, path, index)
    this.#pages.set(c.page, { txn: c.txn, checksum: c.checksum, bytes })
    return bytes
  }

  /** The page table of `path` for record `r`, kept across versions that share pages. */
  #table(path: string, r: FileRecord): PageTable {
    let t = this.#tables.get(path)
    if (t && t.record !== r) {
      if (sameVersion(t.record, r)) t.record = r
      else t = undefined
    }
    if (!t) {
      t = new PageTable(r)
      this.#tables.set(path, t)
      if (this.#tables.size > 64) this.#tables.delete(this.#tables.keys().next().value!)
    }
    return t
  }

  stash(bytes: Uint8Array, index: number): StashedPage | undefined {
    const e = this.#engine
    if (e.store.readOnly) return undefined
    let page = e.reserveRun(1)
    if (page === undefined) {
      // Growth is a commit of its own (harmless if the transaction fails later); not possible
      // while a container transaction holds the writer.
      try {
        this.#queue.commitNow((en) => en.ensureFree(Math.max(256, Math.floor(e.alloc.totalPages / 8))), false)
      } catch {
        return undefined
      }
      page = e.reserveRun(1)
      if (page === undefined) return undefined
    }
    if (!e.cipher) {
      e.store.write(page, bytes)
      return { stashed: true, page, checksum: crc32(bytes) }
    }
    // Sealed like the chunk it becomes (page `index` of its file): nothing reaches the disk in clear.
    const { stored, seal } = sealStored(e, bytes, index, bytes.length, 0)
    e.store.write(page, stored)
    return { stashed: true, page, checksum: crc32(stored), seal: { index, ...seal! } }
  }

  readStashed(p: StashedPage, into: Uint8Array): void {
    const e = this.#engine
    e.store.read(p.page, into)
    const code = p.seal ? ErrorCodes.AUTH_FAILED : ErrorCodes.CHECKSUM
    const bad = () => new CartridgeError(code, `a pending database page stashed in container page ${p.page} failed its checksum`, { page: p.page })
    if (crc32(into) !== p.checksum) throw bad()
    if (p.seal) {
      const plain = e.cipher?.openChunk(into, p.seal.nonce, p.seal.tag, { chunkIndex: p.seal.index, logicalLength: into.length, codec: 0 }, into)
      if (!plain) throw bad()
    }
  }

  unstash(p: StashedPage): void {
    this.#engine.alloc.unreserve(p.page, 1)
  }

  commit(changes: readonly FileChange[], durable: boolean): void {
    const before = new Map<string, PageTable | undefined>()
    for (const c of changes) {
      const t = this.#tables.get(c.path)
      const r = this.#record(c.path)
      before.set(c.path, t && r && sameVersion(t.record, r) ? t : undefined)
    }
    this.#queue.commitNow((e) => {
      for (const c of changes) {
        if (c.deleted) {
          e.files.deletePaged(c.path)
          continue
        }
        // Stashed pages become the file's pages where they are (claimed inside the operation,
        // so a failed commit gives them back to the stash).
        for (const p of c.pages.values()) if (isStashed(p)) e.alloc.claim(p.page, 1)
        e.files.writePaged(c.path, { size: c.size, keep: c.keep, pages: c.pages })
      }
    }, durable)
    // Carry each page table over to the new version: only pages this commit wrote moved.
    for (const c of changes) {
      const t = before.get(c.path)
      const r = this.#record(c.path)
      if (!t || !r || c.deleted || !isPaged(r)) {
        this.#tables.delete(c.path)
        continue
      }
      t.advance(r, c.pages.keys(), Math.floor(Math.min(c.keep, c.size) / P))
    }
  }
}

/** A content page read and verified, with the birth txn and checksum it was checked against. */
interface VerifiedPage {
  txn: number
  checksum: number
  bytes: Uint8Array
}

/** Whether `a` and `b` are the same version of a file record (the same object, or two fetches of it). */
function sameVersion(a: FileRecord, b: FileRecord): boolean {
  return a === b || versionKey(a) === versionKey(b)
}

/** Identifies a version of a file record (two fetches of one version compare equal). */
function versionKey(r: FileRecord): string {
  // The checksum too: vacuum moves pages keeping their birth txn, so a chunk-map root can come back
  // to its old page with the same txn but different children (and so a different checksum).
  if (r.kind === RecordKind.MAP) return `m${r.map!.page}.${r.map!.txn}.${r.map!.checksum}.${r.size}`
  if (r.kind === RecordKind.DIRECT) return `d${r.size}:${r.chunks!.map((c) => `${c.page}.${c.txn}`).join(',')}`
  return `i${r.size}`
}
