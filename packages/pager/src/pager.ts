import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { PageStore } from './page-store.js'
import { PAGE_SIZE } from './page-format.js'
import { MAGIC, decodeMeta, encodeMeta, type Meta, type MetaSlot } from './meta-page.js'

/**
 * What open found when it could not use the newest commit as it is: the newest meta page's
 * commit failed verification (its pages did not all land, or were damaged since) and the
 * previous commit was opened instead, or a meta page is damaged. After a crash in the middle of
 * a commit this is expected (that commit was never acknowledged); otherwise it means damage.
 */
export interface RecoveryNote {
  /** The commit the container opened at. */
  txn: number
  /** The newer commit that was skipped, when its meta page could be read. */
  skippedTxn?: number
  /** One line saying what was skipped and why. */
  reason: string
  /** The error that rejected the skipped commit, when there was one. */
  cause?: unknown
}

/**
 * Seals and opens pages of an encrypted container (spec §25). The pager seals every structure
 * page and meta page as it writes them and opens meta pages at recovery; the engine opens
 * structure pages as it reads them. Plain pages never reach the store.
 */
export interface PageSealer {
  sealPage(plain: Uint8Array): Uint8Array
  /** `undefined` when the page does not authenticate as page `pageNo` born in `txn`. */
  openPage(sealed: Uint8Array, pageNo: number, txn: number): Uint8Array | undefined
  sealMeta(plainMeta: Uint8Array): Uint8Array
  /** The plain meta page, or `undefined` when the slot does not authenticate. */
  openMeta(sealed: Uint8Array): Uint8Array | undefined
}

/** Major version in a sealed meta page (spec §25). */
export const SEALED_MAJOR = 2

/** Whether a meta slot holds a sealed meta page (the magic, then major 2). */
export function isSealedMeta(page: Uint8Array): boolean {
  for (let i = 0; i < MAGIC.length; i++) if (page[i] !== MAGIC[i]) return false
  return (page[8] | (page[9] << 8)) === SEALED_MAJOR
}

/** Options for {@link Pager.commit}. */
export interface CommitOptions {
  /** fsync before returning (the commit is durable when this returns). */
  sync: boolean
  /**
   * Sync the new pages before the meta page is written (two syncs). For commits whose pages
   * recovery cannot verify by birth txn, such as pages moved with their birth txn kept.
   */
  barrier?: boolean
  /**
   * Pages nothing references (free in the state being committed and in every state a crash
   * could fall back to) that the store may write ahead of need ({@link PageStore.prewrite}),
   * before the meta page, so the same sync covers them.
   */
  prewrite?: { page: number; count: number }
}

/**
 * The commit protocol over a {@link PageStore}: staged pages, two alternating meta pages and
 * recovery. A commit writes its new pages and its meta page, then syncs once. Open picks the
 * newest valid meta that `verify` accepts (verify proves that the pages that commit wrote all
 * landed), else the other one. Pages referenced by the last durable commit are never written,
 * so a crash at any point leaves that commit intact.
 */
export class Pager {
  readonly store: PageStore
  /**
   * The store for writes that bypass staging (content written straight to free pages). A direct
   * write supersedes any staged image of the pages it covers: the page changed owner since it
   * was staged (freed and reused within the transaction), and the staged image must not be
   * written over it at commit.
   */
  readonly direct: PageStore
  #staged = new Map<number, Uint8Array>()
  /**
   * Called with each staged page (plaintext) as a commit writes it, so a caller can keep it in
   * its page cache: the next commit that rewrites the same structure need not read it back.
   */
  onWritten: ((pageNo: number, page: Uint8Array) => void) | undefined
  #durable: { slot: number; txn: number } = { slot: 1, txn: 0 }
  #meta: Meta | undefined
  #highestTxn = 0
  #recovery: RecoveryNote | undefined
  /** Seals what is written and opens meta pages, in an encrypted container. */
  sealer: PageSealer | undefined

  constructor(store: PageStore) {
    this.store = store
    this.direct = new DirectWriteStore(store, (pageNo, count) => this.unstage(pageNo, count))
  }

  /** The last committed meta. */
  get meta(): Meta {
    if (!this.#meta) throw new CartridgeError(ErrorCodes.CLOSED, 'pager has no committed state')
    return this.#meta
  }

  /** Txn of the newest commit known durable (its meta slot is never overwritten before the next sync). */
  get durableTxn(): number {
    return this.#durable.txn
  }

  /** Highest txn id found in any valid meta page at recovery (new txns must be above it). */
  get highestTxn(): number {
    return Math.max(this.#highestTxn, this.#meta?.txn ?? 0)
  }

  /** What {@link recover} had to skip, if anything (undefined when the newest commit opened as it is). */
  get recovery(): RecoveryNote | undefined {
    return this.#recovery
  }

  /** Writes the first meta (slot 0) of a new container and syncs. Slot 1 stays invalid. */
  initialize(meta: Meta): void {
    this.store.resize(meta.totalPages)
    this.#writeStaged()
    this.store.write(0, this.#encodeMeta(meta))
    this.store.write(1, new Uint8Array(PAGE_SIZE))
    this.store.sync()
    this.#durable = { slot: 0, txn: meta.txn }
    this.#meta = meta
  }

  /**
   * Recovers the committed state: the valid meta with the highest txn whose commit `verify`
   * accepts (it throws to reject), else the other valid meta.
   * @throws CartridgeError `CARTRIDGE_CORRUPT` when no meta page is usable.
   */
  recover(verify: (meta: Meta) => void): Meta {
    const size = this.store.pageCount()
    if (size < 2) throw new CartridgeError(ErrorCodes.CORRUPT, `not a cartridge: ${this.#describeShort()}`)
    const buf = new Uint8Array(PAGE_SIZE)
    const slots = [0, 1].map((slot) => {
      this.store.read(slot, buf)
      return { slot, decoded: this.#decodeMeta(buf) }
    })
    const valid = slots.flatMap((s) => (s.decoded.ok ? [{ slot: s.slot, meta: s.decoded.meta }] : []))
    if (valid.length === 0) {
      const reasons = slots.map((s) => (s.decoded.ok ? 'ok' : s.decoded.reason))
      if (reasons.includes('version')) throw new CartridgeError(ErrorCodes.UNSUPPORTED, 'container format version is not supported')
      if (reasons.includes('auth')) throw new CartridgeError(ErrorCodes.AUTH_FAILED, 'neither meta page authenticates with the data key: the container was changed or damaged')
      const what = reasons.every((r) => r === 'magic') ? 'not a cartridge (wrong magic)' : 'both meta pages are damaged'
      throw new CartridgeError(ErrorCodes.CORRUPT, what)
    }
    valid.sort((a, b) => b.meta.txn - a.meta.txn)
    this.#highestTxn = valid[0].meta.txn
    // A slot that is not a valid meta page and not blank (a new container's second slot is zeros)
    // held a commit once: it may have been the newest.
    const damaged = slots.find((s) => !s.decoded.ok && s.decoded.reason !== 'version' && !this.#blank(s.slot, buf))
    let lastError: unknown
    let skipped: Meta | undefined
    for (const candidate of valid) {
      try {
        verify(candidate.meta)
        this.#durable = { slot: candidate.slot, txn: candidate.meta.txn }
        this.#meta = candidate.meta
        if (skipped) {
          const why = lastError instanceof Error ? lastError.message : String(lastError)
          this.#recovery = {
            txn: candidate.meta.txn, skippedTxn: skipped.txn, cause: lastError,
            reason: `the newest commit (${skipped.txn}) did not verify (${why}); opened the previous commit (${candidate.meta.txn})`,
          }
        } else if (damaged) {
          this.#recovery = {
            txn: candidate.meta.txn,
            reason: `meta page ${damaged.slot} is damaged (${damaged.decoded.ok ? '' : damaged.decoded.reason}); opened commit ${candidate.meta.txn} from the other one`,
          }
        }
        return candidate.meta
      } catch (err) {
        // A commit this version cannot read is not damage: refuse rather than fall back past it.
        if (err instanceof CartridgeError && err.code === ErrorCodes.UNSUPPORTED) throw err
        lastError = err
        skipped ??= candidate.meta
      }
    }
    // In an encrypted container a page that does not authenticate is the reason: say so.
    const auth = lastError instanceof CartridgeError && lastError.code === ErrorCodes.AUTH_FAILED
    throw new CartridgeError(auth ? ErrorCodes.AUTH_FAILED : ErrorCodes.CORRUPT, 'no meta page leads to an intact commit', { cause: lastError })
  }

  /** What a store of fewer than two pages holds: nothing, a cut-off container, or something else. */
  #describeShort(): string {
    const head = new Uint8Array(PAGE_SIZE)
    try {
      this.store.read(0, head)
    } catch {
      return 'file is empty'
    }
    if (head.every((b) => b === 0)) return 'file is empty (or all zeros)'
    if (MAGIC.every((b, i) => head[i] === b)) return 'file is truncated (shorter than its two meta pages)'
    return 'wrong magic (file is shorter than a container and does not start like one)'
  }

  /** Whether meta slot `slot` is all zeros (read into `buf`). */
  #blank(slot: number, buf: Uint8Array): boolean {
    this.store.read(slot, buf)
    for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false
    return true
  }

  /** Stages a sealed page to be written by the next commit. */
  stage(pageNo: number, page: Uint8Array): void {
    if (pageNo < 2) throw new CartridgeError(ErrorCodes.CORRUPT, 'refusing to stage over a meta page')
    this.#staged.set(pageNo, page)
  }

  /** A staged (not yet committed) page, if any. */
  staged(pageNo: number): Uint8Array | undefined {
    return this.#staged.get(pageNo)
  }

  /** The highest staged page, when between 1 and `limit` pages are staged (else undefined). */
  highestStaged(limit: number): number | undefined {
    const staged = this.#staged
    if (staged.size === 0 || staged.size > limit) return undefined
    let top = -1
    for (const no of staged.keys()) if (no > top) top = no
    return top
  }

  /** Drops staged images of pages `[pageNo, pageNo + count)` (freed, or overwritten directly). */
  unstage(pageNo: number, count: number): void {
    const staged = this.#staged
    if (staged.size === 0) return
    if (staged.size < count) {
      for (const no of staged.keys()) if (no >= pageNo && no < pageNo + count) staged.delete(no)
    } else {
      for (let no = pageNo; no < pageNo + count; no++) staged.delete(no)
    }
  }

  /** Drops staged images of pages `keep` rejects (pages a rolled-back operation allocated). */
  retainStaged(keep: (pageNo: number) => boolean): void {
    for (const no of this.#staged.keys()) if (!keep(no)) this.#staged.delete(no)
  }

  /** Drops staged pages (after a failed transaction). */
  discard(): void {
    this.#staged.clear()
  }

  /**
   * Writes staged pages and the meta page, then (optionally) syncs once. Unsynced commits write
   * the slot that does not hold the last durable meta, so a crash can always fall back to it.
   */
  commit(meta: Meta, options: CommitOptions): void {
    const slot = 1 - this.#durable.slot
    if (meta.totalPages > this.store.pageCount()) this.store.resize(meta.totalPages)
    this.#writeStaged()
    if (options.prewrite) this.store.prewrite?.(options.prewrite.page, options.prewrite.count)
    if (options.barrier) this.store.sync()
    this.store.write(slot, this.#encodeMeta(meta))
    if (options.sync) {
      this.store.sync()
      this.#durable = { slot, txn: meta.txn }
    }
    this.#meta = meta
  }

  /**
   * Makes the last commit durable if it is not (one sync). Returns whether it synced. Staged
   * pages of the transaction being built are not written: they are not part of any commit yet.
   */
  syncCommitted(): boolean {
    const meta = this.meta
    if (meta.txn === this.#durable.txn) return false
    this.store.sync()
    // An unsynced commit writes the slot that does not hold the durable meta.
    this.#durable = { slot: 1 - this.#durable.slot, txn: meta.txn }
    return true
  }

  /** Writes staged pages in page order, one write each; `CoalescingPageStore` merges consecutive ones. */
  #writeStaged(): void {
    const pages = [...this.#staged.keys()].sort((a, b) => a - b)
    const sealer = this.sealer
    for (const no of pages) {
      const page = this.#staged.get(no)!
      this.onWritten?.(no, page)
      this.store.write(no, sealer ? sealer.sealPage(page) : page)
    }
    this.#staged.clear()
  }

  #encodeMeta(meta: Meta): Uint8Array {
    const plain = encodeMeta(meta)
    return this.sealer ? this.sealer.sealMeta(plain) : plain
  }

  /**
   * Decodes one slot. In an encrypted container a slot must be a sealed meta page that opens
   * with the data key: anything else (a plain meta page included) is not valid there.
   */
  #decodeMeta(page: Uint8Array): MetaSlot {
    if (!this.sealer) return decodeMeta(page)
    for (let i = 0; i < MAGIC.length; i++) if (page[i] !== MAGIC[i]) return { ok: false, reason: 'magic' }
    if (!isSealedMeta(page)) return { ok: false, reason: 'auth' }
    const plain = this.sealer.openMeta(page)
    return plain ? decodeMeta(plain) : { ok: false, reason: 'auth' }
  }
}

/** {@link Pager.direct}: writes through to the store after dropping staged images of the same pages. */
class DirectWriteStore implements PageStore {
  readonly #inner: PageStore
  readonly #unstage: (pageNo: number, count: number) => void

  constructor(inner: PageStore, unstage: (pageNo: number, count: number) => void) {
    this.#inner = inner
    this.#unstage = unstage
  }

  get pageSize(): number {
    return this.#inner.pageSize
  }

  get readOnly(): boolean {
    return this.#inner.readOnly
  }

  pageCount(): number {
    return this.#inner.pageCount()
  }

  read(pageNo: number, into: Uint8Array): void {
    this.#inner.read(pageNo, into)
  }

  write(pageNo: number, data: Uint8Array): void {
    this.#unstage(pageNo, Math.ceil(data.length / PAGE_SIZE))
    this.#inner.write(pageNo, data)
  }

  sync(): void {
    this.#inner.sync()
  }

  resize(pageCount: number): void {
    this.#inner.resize(pageCount)
  }

  close(): void {
    this.#inner.close()
  }
}
