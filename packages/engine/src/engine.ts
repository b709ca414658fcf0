import { randomBytes } from 'node:crypto'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import {
  CoalescingPageStore, FORMAT_MINOR, NULL_PTR, PageType, Pager, readBlob, writeBlob,
  type BlockPtr, type Meta, type PageIO, type PageStore, type RecoveryNote,
} from '@cartridge/pager'
import { bitmapAllocator, type Allocator, type AllocatorFactory, type AllocatorMark } from '@cartridge/allocator'
import { btreeCatalog, type Catalog, type CatalogFactory, type CatalogVersion } from '@cartridge/catalog'
import { EMPTY_TABLE, PageMarks, readSnapshotTable, type BlockVisitor, type SnapshotEntry, type SnapshotTable } from '@cartridge/snapshot'
import { CodecSet, type Codec } from '@cartridge/codec'
import type { ContainerCipher } from '@cartridge/crypto'
import { visitAuditPages } from '@cartridge/audit'
import { CodecChoice, type CompressionSetting } from './codec-choice.js'
import { walkBlocks } from './block-walk.js'
import { checkedLayer, pickLayer } from './layer-choice.js'
import { exclusiveByBirth, freeUnmarked } from './snapshot-walks.js'
import { newSealing, openSealing, pageSealer, rewrapSealing, sealingInfo, type EncryptionSetting, type KeyedSealing } from './encryption.js'
import { CHUNK_SIZE, decodeFileRecord } from './file-record.js'
import { chunksOf } from './chunk-map.js'
import { loadStored } from './chunk-load.js'
import { type ContentIO } from './content-io.js'
import { FileTable } from './file-table.js'
import { AuditTrail, type AuditMark, type AuditNote } from './audit-trail.js'
import { resolveCreateSettings, resolveOptions, type CreateSettings, type EngineCommitOptions, type EngineOptions, type ResolvedOptions } from './engine-options.js'
import { PageReader } from './page-reader.js'
import { SpaceKeeper } from './space-keeper.js'
import { SnapshotBook } from './snapshot-book.js'
import { StoredStructure } from './stored-structure.js'

export * from './engine-options.js'

/** Largest stored access policy, bytes of JSON. */
export const MAX_POLICY_BYTES = 256 * 1024

interface Savepoint {
  catalogObject: Catalog
  catalog: CatalogVersion
  alloc: AllocatorMark
  fileCount: number
  snapshots: SnapshotTable
  rootOverride: BlockPtr | undefined
  grows: boolean
  audit: AuditMark
  policy: Uint8Array | undefined
}

/** How far (in pages) small commits write ahead of themselves: 1 MiB. */
const PREWRITE_PAGES = 256

/**
 * The synchronous storage engine of one container: copy-on-write catalog, free-space map and
 * content chunks over a {@link Pager}. Every mutating method runs inside {@link apply}, which
 * undoes it completely if it throws; {@link commit} makes everything applied since the last
 * commit atomic (and durable with `sync`), or undoes all of it.
 *
 * It coordinates the parts a transaction spans: verified page reads ({@link PageReader}), where
 * pages come from ({@link SpaceKeeper}), the catalog, the snapshot table ({@link SnapshotBook}),
 * the stored policy, the audit log and the key; file operations are in `file-table.ts`.
 */
export class Engine implements ContentIO {
  readonly store: PageStore
  readonly pager: Pager
  readonly options: ResolvedOptions
  alloc!: Allocator
  /** The catalog implementation this container is written with. */
  catalogFactory: CatalogFactory = btreeCatalog
  /** The allocator implementation this container is written with. */
  allocatorFactory: AllocatorFactory = bitmapAllocator
  /** The size of the commit being verified while opening (before the free map is adopted). */
  #openingPages = 0
  catalog!: Catalog
  /** Transaction being built. */
  txn = 0
  /**
   * Called with every path a file operation is about to change; throws to refuse (the container
   * refuses changes to database files SQLite has open). Paged writes from the VFS bypass it.
   */
  guard: ((path: string) => void) | undefined
  fileCount = 0
  /** One chunk of scratch space for partial-chunk reads (reads are synchronous, so one suffices). */
  readonly scratch = new Uint8Array(CHUNK_SIZE)
  /** Decoders of compressed chunks, with the application codecs the container was opened with. */
  readonly codecs: CodecSet
  /** The codec new writes use unless a write says otherwise (pending until the next commit stores it). */
  readonly #writeCodec: CodecChoice
  /** The data key's sealing in an encrypted container, with the key itself (a key change wraps it again). */
  #sealing: KeyedSealing | undefined
  #meta!: Meta
  /** A record with page checksums was installed since opening: the next meta says format 1.4. */
  #pageSums = false
  /**
   * Txn of the last commit that restored a snapshot (0: never; the txn opened at when the
   * container's history is unknown). Snapshots taken after it can be deleted by birth txns.
   */
  #restoreTxn = 0
  #committed!: CatalogVersion
  #txnMark!: Savepoint
  readonly #reader: PageReader
  readonly #space: SpaceKeeper
  readonly #snapshots = new SnapshotBook()
  /** A catalog root installed whole (restore, vacuum) for the next commit. */
  #rootOverride: BlockPtr | undefined
  /** Whether the transaction being built holds an operation that may take space (anything but a delete). */
  #grows = false
  /** What the running operation is: 'grows' unless it declared itself a delete ({@link shrinks}). */
  #opKind: 'none' | 'grows' | 'shrinks' = 'none'
  /** The stored access policy (JSON bytes). */
  readonly #policy = new StoredStructure<Uint8Array | undefined>(undefined, (io, json) => (json ? writeBlob(io, PageType.POLICY, json) : NULL_PTR))
  /** The audit log: entries appended by operations, written in the same commit as they are. */
  readonly audit = new AuditTrail()
  /** The file operations of the transaction being built (create, replace, delete, rename, read). */
  readonly files: FileTable = new FileTable(this)
  /** Page IO whose frees skip snapshot retention: for the free map and the snapshot table, which no snapshot references. */
  readonly #direct: PageIO

  /** The coalescing layer over the store, emptied after unsynced commits (undefined when read-only). */
  readonly #coalescing: CoalescingPageStore | undefined
  /** Free pages written ahead of small commits (see {@link #prewriteRange}); 0 when the store gains nothing by it. */
  readonly #prewritePages: number
  /** Pages below this were written since open (by commits, or ahead of them). */
  #writtenTo = 0

  private constructor(store: PageStore, options: EngineOptions) {
    this.#coalescing = store.readOnly ? undefined : new CoalescingPageStore(store)
    this.pager = new Pager(this.#coalescing ?? store)
    this.#prewritePages = store.prewrite && !store.readOnly ? PREWRITE_PAGES : 0
    // Content goes straight to the store; such a write supersedes a staged image of the same page.
    this.store = this.pager.direct
    this.options = resolveOptions(options)
    this.codecs = new CodecSet(options.codecs)
    this.#writeCodec = new CodecChoice(this.codecs)
    this.#reader = new PageReader(this.pager, this.options.cache, this.options.bufferPoolSize, () => this.pageLimit, () => this.#sealing?.cipher)
    // Structure pages a commit writes stay cached.
    this.pager.onWritten = (no, page) => this.#reader.remember(no, page)
    const self = this
    this.#space = new SpaceKeeper({
      get alloc() {
        return self.alloc
      },
      get limits() {
        return self.#meta
      },
      maxGrowthPages: this.options.maxGrowthPages,
      get growing() {
        return self.#grows || self.#opKind === 'grows'
      },
      get catalogHeight() {
        return self.catalog.height
      },
      get snapshotTablePages() {
        return self.#snapshots.pages.length
      },
      audit: this.audit,
      releaseHeld: () => this.#releaseHeld(),
    })
    this.#direct = {
      get txn() {
        return self.txn
      },
      read: (ptr, type) => this.read(ptr, type),
      allocate: (count) => this.allocate(count),
      stage: (pageNo, page) => this.stage(pageNo, page),
      free: (ptr) => this.#release(ptr.page, 1, ptr.txn),
    }
  }

  /** Creates a new container in an empty store: meta page 0, (invalid) meta page 1, free map in page 2. */
  static create(store: PageStore, settings: CreateSettings, options: EngineOptions = {}): Engine {
    const e = new Engine(store, options)
    const { initialPages, growthThresholdPercent, maxPages } = resolveCreateSettings(settings)
    if (settings.compression) e.#writeCodec.set(settings.compression)
    const uuid = settings.identity?.uuid.slice() ?? new Uint8Array(randomBytes(16))
    if (settings.encryption !== undefined) {
      const sealing = newSealing(uuid, settings.encryption, options.aead)
      e.#seal(sealing)
    }
    e.txn = 1
    e.catalogFactory = checkedLayer('catalog', options.catalog ?? btreeCatalog, btreeCatalog)
    e.allocatorFactory = checkedLayer('allocator', options.allocator ?? bitmapAllocator, bitmapAllocator)
    e.alloc = e.allocatorFactory.create(initialPages)
    e.catalog = e.#openCatalog(NULL_PTR)
    const freeMapRoot = e.alloc.flush(e)
    const meta: Meta = {
      txn: 1, baseTxn: 0, totalPages: initialPages, fileCount: 0, created: settings.identity?.created ?? Date.now(), maxPages,
      growthThresholdPercent, uuid, catalogRoot: NULL_PTR, freeMapRoot,
      snapshotsRoot: NULL_PTR, slug: settings.slug, title: settings.title, codec: e.#writeCodec.id, codecLevel: e.#writeCodec.level, restoreTxn: 0,
      catalogId: e.catalogFactory === btreeCatalog ? undefined : e.catalogFactory.id,
      allocatorId: e.allocatorFactory === bitmapAllocator ? undefined : e.allocatorFactory.id,
    }
    e.pager.initialize(meta)
    e.#afterCommit(meta, true)
    e.txn = 2
    return e
  }

  /**
   * Opens a container: picks the newest meta page whose commit verifies (every page and chunk
   * born after its durable base is read and checked), else the previous commit.
   */
  static open(store: PageStore, options: EngineOptions = {}): Engine {
    // A read-only opener can race a writer in another process that is reusing the pages of the
    // commit being verified: that shows as damage, so look again at the (newer) meta pages.
    for (let attempt = 1; ; attempt++) {
      try {
        return Engine.#open(store, options)
      } catch (err) {
        // (In an encrypted container the same race shows as a page that does not authenticate.)
        const racing = err instanceof CartridgeError && (err.code === ErrorCodes.CORRUPT || err.code === ErrorCodes.AUTH_FAILED)
        if (!store.readOnly || attempt >= 5 || !racing) throw err
      }
    }
  }

  static #open(store: PageStore, options: EngineOptions): Engine {
    const e = new Engine(store, options)
    const sealing = openSealing(store, options)
    if (sealing) {
      e.#seal(sealing)
    }
    let alloc: Allocator | undefined
    let table: SnapshotTable = EMPTY_TABLE
    let tablePages: BlockPtr[] = []
    let policy: Uint8Array | undefined
    let policyPages: BlockPtr[] = []
    const meta = e.pager.recover((m) => {
      if (m.totalPages < 3 || m.txn < 1) throw new CartridgeError(ErrorCodes.CORRUPT, 'meta page describes an impossible container')
      e.#openingPages = m.totalPages
      e.catalogFactory = pickLayer('catalog', m.catalogId, btreeCatalog, options.catalog)
      e.allocatorFactory = pickLayer('allocator', m.allocatorId, bitmapAllocator, options.allocator)
      alloc = e.allocatorFactory.load(e, m.freeMapRoot, m.totalPages)
      e.#verifyCommit(m, m.catalogRoot)
      tablePages = []
      table = readSnapshotTable(e, m.snapshotsRoot, (p) => tablePages.push(p))
      // A snapshot of a commit that was not synced (durability 'none') has pages born after baseTxn too.
      for (const s of table.entries) if (s.txn > m.baseTxn) e.#verifyCommit(m, s.catalogRoot)
      e.audit.load(e, m.auditRoot ?? NULL_PTR)
      e.audit.visit(e, () => {}, m.baseTxn)
      policyPages = []
      const bytes = readBlob(e, m.policyRoot ?? NULL_PTR, PageType.POLICY, MAX_POLICY_BYTES, (p) => policyPages.push(p))
      policy = bytes.length > 0 ? bytes : undefined
    })
    e.#policy.load(policy, meta.policyRoot ?? NULL_PTR, policyPages)
    e.alloc = alloc!
    e.#snapshots.load(table, meta.snapshotsRoot, tablePages)
    e.catalog = e.#openCatalog(meta.catalogRoot)
    e.#afterCommit(meta, true)
    e.#writeCodec.load(meta)
    e.txn = e.pager.highestTxn + 1
    if (!store.readOnly && (meta.minor ?? 0) > FORMAT_MINOR) {
      throw new CartridgeError(
        ErrorCodes.UNSUPPORTED,
        `container format 1.${meta.minor} is newer than this version writes (1.${FORMAT_MINOR}): open it read-only`,
      )
    }
    return e
  }

  /** The catalog at committed root `root`, through this container's implementation and node cache. */
  #openCatalog(root: BlockPtr): Catalog {
    return this.catalogFactory.open(this, root, { cache: this.#reader.nodeCache })
  }

  /** Reads back what commit `m` wrote under catalog `root` (pages and content born after `m.baseTxn`); throws on any damage. */
  #verifyCommit(m: Meta, root: BlockPtr): void {
    this.catalogFactory.visit(this, root, {
      minTxn: m.baseTxn,
      onEntry: (key, value) => {
        const r = decodeFileRecord(value, key)
        // Into one scratch buffer: the bytes are only checked, and a commit may hold gigabytes.
        for (const c of chunksOf(this, r, undefined, m.baseTxn)) {
          if (c.txn <= m.baseTxn) continue
          loadStored(this, c, key, c.storedLength <= this.scratch.length ? this.scratch : undefined, true)
        }
      },
    })
  }

  #afterCommit(meta: Meta, durable: boolean): void {
    this.#meta = meta
    this.#restoreTxn = meta.restoreTxn ?? meta.txn
    this.fileCount = meta.fileCount
    this.alloc.onCommit(durable)
    this.#grows = false
    this.#committed = this.catalog.version()
    this.#txnMark = this.#savepoint()
  }

  /** What open had to skip to find an intact commit, if anything. */
  get recovery(): RecoveryNote | undefined {
    return this.pager.recovery
  }

  /** The last committed meta. */
  get meta(): Meta {
    return this.#meta
  }

  /** Catalog version of the last commit (what readers outside a transaction see). */
  get committed(): CatalogVersion {
    return this.#committed
  }

  /** Page IO for structures no snapshot reaches (free map, snapshot table, audit log): frees skip snapshot retention. */
  get structureIO(): PageIO {
    return this.#direct
  }

  // ---- PageIO / ContentIO -------------------------------------------------------------

  /** Pages of the container: every page a structure or a chunk points to lies in `[2, pageLimit)`. */
  get pageLimit(): number {
    return this.alloc?.totalPages ?? this.#openingPages
  }

  read(ptr: BlockPtr, type: PageType | readonly PageType[]): Uint8Array {
    return this.#reader.read(ptr, type)
  }

  /** Reads catalog nodes for one-pass walks over many of them (see {@link PageReader.walkNodes}). */
  get walkNodes(): Pick<PageIO, 'read'> {
    return this.#reader.walkNodes
  }

  /** Allocates `count` contiguous pages (see {@link SpaceKeeper.allocate}). */
  allocate(count: number): number {
    return this.#space.allocate(count)
  }

  /** Reserves a run outside any transaction (see {@link SpaceKeeper.reserveRun}). */
  reserveRun(count: number): number | undefined {
    return this.#space.reserveRun(count)
  }

  /** Marks the running operation as a delete: it gives space back, and may use the delete reserve. */
  shrinks(): void {
    if (this.#opKind === 'grows') this.#opKind = 'shrinks'
  }

  /**
   * With durability 'none', pages freed by commits since the last sync stay held (a crash falls
   * back to the synced commit, which may use them). When space runs out, sync the last commit
   * and release them; the transaction being built keeps its own frees held. Returns whether any
   * page became available.
   */
  #releaseHeld(): boolean {
    if (this.store.readOnly || !this.pager.syncCommitted()) return false
    return this.alloc.releaseBefore(this.#txnMark.alloc) > 0
  }

  /** Releases a block the state being built no longer references, unless a snapshot may still reference it. */
  free(ptr: BlockPtr): void {
    this.freeRun(ptr.page, 1, ptr.txn)
  }

  freeRun(page: number, count: number, txn: number): void {
    if (txn > this.#snapshots.retainTxn) this.#release(page, count, txn)
  }

  /** Frees a run born in `txn`: reusable at once when born in this transaction, else held until a durable commit. */
  #release(page: number, count: number, txn: number): void {
    const reusable = txn === this.txn
    this.alloc.free(page, count, { reusable })
    // A page born in this transaction may have been staged (a chunk-map or catalog page); once
    // freed it may be reused for content, which a commit must not overwrite with the old image.
    if (reusable) this.pager.unstage(page, count)
  }

  stage(pageNo: number, page: Uint8Array): void {
    this.pager.stage(pageNo, page)
  }

  /** Free pages a vacuum leaves at the end of the file (spec §15). */
  get vacuumHeadroom(): number {
    return this.#space.vacuumHeadroom
  }

  /** Grows once so that `pages` more pages fit (see {@link SpaceKeeper.makeRoom}). */
  makeRoom(pages: number): void {
    this.#space.makeRoom(pages)
  }

  /** Grows (as one operation) until a run of `pages` pages can be reserved. */
  ensureFree(pages: number): void {
    this.#space.ensureFree(pages)
  }

  // ---- operations and commits ---------------------------------------------------------

  #savepoint(): Savepoint {
    return {
      catalogObject: this.catalog, catalog: this.catalog.savepoint(), alloc: this.alloc.mark(), fileCount: this.fileCount,
      snapshots: this.#snapshots.table, rootOverride: this.#rootOverride, grows: this.#grows, audit: this.audit.mark(), policy: this.#policy.working,
    }
  }

  #rollback(sp: Savepoint): void {
    this.catalog = sp.catalogObject
    this.#snapshots.table = sp.snapshots
    this.#rootOverride = sp.rootOverride
    this.#grows = sp.grows
    this.catalog.rollback(sp.catalog)
    this.alloc.rollback(sp.alloc)
    this.fileCount = sp.fileCount
    this.audit.rollback(sp.audit)
    this.#policy.working = sp.policy
    // Pages the undone operation staged are free again: their images must not reach the file.
    this.pager.retainStaged((p) => this.alloc.isUsed(p))
    this.#trimStore()
  }

  /** Content written past the end of the (rolled back) container is garbage: cut it off. */
  #trimStore(): void {
    if (this.store.pageCount() > this.alloc.totalPages && !this.store.readOnly) {
      try {
        this.store.resize(Math.max(this.alloc.totalPages, this.#meta.totalPages))
      } catch {
        /* the store is gone (power loss); nothing to tidy */
      }
    }
  }

  /** Runs one operation: all of it takes effect, or (when it throws) none of it. */
  apply<T>(op: () => T): T {
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    const sp = this.#savepoint()
    const outer = this.#opKind
    this.#opKind = 'grows'
    try {
      const result = op()
      if (this.#opKind === 'grows') this.#grows = true
      return result
    } catch (err) {
      this.#rollback(sp)
      throw err
    } finally {
      this.#opKind = outer
    }
  }

  /** Whether anything was applied since the last commit. */
  get dirty(): boolean {
    return (
      this.catalog.dirty || this.alloc.totalPages !== this.#meta.totalPages || this.fileCount !== this.#meta.fileCount ||
      this.#snapshots.dirty || this.#rootOverride !== undefined || this.audit.dirty || this.#policy.dirty
    )
  }

  /**
   * Commits everything applied since the last commit: new pages and the meta page are written,
   * then (with `sync`) one fsync. On failure everything since the last commit is undone.
   */
  commit(sync: boolean, options: EngineCommitOptions = {}): void {
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    try {
      const catalogRoot = this.catalog.dirty ? this.catalog.flush() : (this.#rootOverride ?? this.#meta.catalogRoot)
      // The table, the policy and the log are freed without snapshot retention (no snapshot reaches them).
      const snapshotsRoot = this.#snapshots.flush(this.#direct)
      const policyRoot = this.#policy.flush(this.#direct)
      const auditRoot = this.audit.flush(this.#direct)
      const freeMapRoot = this.alloc.flush(this.#direct)
      const meta: Meta = {
        ...this.#meta, txn: this.txn, baseTxn: this.pager.durableTxn, totalPages: this.alloc.totalPages, fileCount: this.fileCount,
        catalogRoot, freeMapRoot, snapshotsRoot, codec: this.#writeCodec.id, codecLevel: this.#writeCodec.level, auditRoot, policyRoot,
        pageSums: this.#meta.pageSums || this.#pageSums, restoreTxn: this.#restoreTxn,
      }
      const prewrite = sync ? this.#prewriteRange() : undefined
      this.pager.commit(meta, { sync, barrier: options.barrier, prewrite })
      if (prewrite) this.#writtenTo = prewrite.page + prewrite.count
      // Without a sync the commit must still reach the operating system (a killed process then
      // keeps it, as it keeps any written file): empty the coalescing buffer. Until this returns
      // the commit may fail, so nothing below may run before it.
      if (!sync) this.#coalescing?.flush()
      this.#snapshots.afterCommit()
      this.#rootOverride = undefined
      this.#policy.afterCommit()
      this.audit.afterCommit()
      this.#afterCommit(meta, sync)
      this.txn++
    } catch (err) {
      this.pager.discard()
      this.audit.discard()
      this.#policy.discard()
      this.#reader.clear()
      this.#writeCodec.load(this.#meta)
      // The failed flush gave pages to catalog nodes: undo the allocator, then start the catalog
      // again from the committed root rather than rolling it back.
      this.alloc.rollback(this.#txnMark.alloc)
      this.fileCount = this.#txnMark.fileCount
      this.#snapshots.discard()
      this.#rootOverride = undefined
      this.#grows = false
      this.#trimStore()
      this.catalog = this.#openCatalog(this.#meta.catalogRoot)
      this.#committed = this.catalog.version()
      this.#txnMark = this.#savepoint()
      this.txn++
      throw err
    }
  }

  /**
   * Free pages for a small commit to write (zeros) ahead of the pages it stages, so the commits
   * after it write over blocks the file already has: on ext4 a sync that also records new blocks
   * costs about twice as much. Pages from the allocator's high water mark on are referenced by
   * nothing, committed or not, so a crash anywhere leaves every commit as it was. Big commits
   * are left alone (their own writes dwarf it); the next small one catches up. Only synced
   * commits do it: without a sync, allocating blocks is the file system's background work.
   */
  #prewriteRange(): { page: number; count: number } | undefined {
    const ahead = this.#prewritePages
    if (ahead === 0) return undefined
    // A shrink (vacuum) cut the file: pages past its end are new again when it grows back.
    if (this.#writtenTo > this.alloc.totalPages) this.#writtenTo = this.alloc.totalPages
    const top = this.pager.highestStaged(ahead)
    const written = this.#writtenTo
    if (top === undefined || top + ahead / 4 < written) return undefined
    const high = this.alloc.highWater()
    const from = Math.max(high, written)
    const to = Math.min(high + ahead, this.alloc.totalPages)
    return to > from ? { page: from, count: to - from } : undefined
  }

  /** Undoes everything applied since the last commit. */
  abort(): void {
    this.pager.discard()
    this.#rollback(this.#txnMark)
  }

  // ---- files ---------------------------------------------------------------------------

  /** A record with page checksums was installed: the next meta page says format 1.4. */
  markSummed(): void {
    this.#pageSums = true
  }

  /** Appends an audit entry for an operation of the transaction being built (nothing when the log is off). */
  note(n: AuditNote): void {
    this.audit.append(n)
  }

  /** Seals everything written from now on with `s` (and opens what is read). */
  #seal(s: KeyedSealing): void {
    this.#sealing = s
    this.pager.sealer = pageSealer(s)
  }

  /** How the container is encrypted (undefined: it is not). */
  get encryption(): { cipher: 'aes-256-gcm'; keyFrom: 'key' | 'passphrase' } | undefined {
    return this.#sealing && { cipher: 'aes-256-gcm', keyFrom: sealingInfo(this.#sealing).kdf }
  }

  /**
   * Wraps the data key for a new key or passphrase; the next commits write the new key slot (a
   * caller makes two, so both meta slots carry it). No content or structure page changes.
   */
  changeKey(setting: EncryptionSetting): void {
    if (!this.#sealing) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is not encrypted: use enableEncryption')
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    this.#seal(rewrapSealing(this.#sealing, setting))
    this.#grows = true
    this.audit.append({ action: 'key.change', detail: typeof setting === 'object' && 'passphrase' in setting ? 'passphrase' : 'key' })
  }

  /** The scrypt cost of the key slot when a passphrase opens the container (a rekey keeps it). */
  get scryptCost(): { logN: number; r: number; p: number } | undefined {
    const info = this.#sealing && sealingInfo(this.#sealing)
    return info?.kdf === 'passphrase' ? { logN: info.params.logN, r: info.params.r, p: info.params.p } : undefined
  }

  /** The data key's cipher in an encrypted container (undefined: not encrypted). */
  get cipher(): ContainerCipher | undefined {
    return this.#sealing?.cipher
  }

  /** The codec new writes use by default (undefined: raw). Made on first use. */
  get defaultCodec(): Codec | undefined {
    return this.#writeCodec.default
  }

  /** The container's compression setting: codec name and level (0 when the codec has none). */
  get compression(): { codec: string; level: number } {
    return this.#writeCodec.setting
  }

  /** Sets the codec new writes use; the next commit stores it in the container. */
  setCompression(setting: CompressionSetting): void {
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    this.#writeCodec.set(setting)
    this.#grows = true
    const named = typeof setting.codec === 'string'
    const level = named ? setting.level : this.#writeCodec.level || undefined
    this.audit.append({ action: 'config.compression', detail: `${named ? setting.codec : this.#writeCodec.setting.codec}${level !== undefined ? ` level ${level}` : ''}` })
  }

  /** A codec for one write's choice (cached by name and level). */
  codecFor(setting: CompressionSetting): Codec | undefined {
    return this.#writeCodec.for(setting)
  }

  // ---- stored policy ---------------------------------------------------------------------

  /** The stored access policy of the state being built (its JSON bytes), or undefined. */
  get storedPolicy(): Uint8Array | undefined {
    return this.#policy.working
  }

  /** Stores `json` (or no policy) with the next commit. */
  setStoredPolicy(json: Uint8Array | undefined): void {
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    if (json && json.length > MAX_POLICY_BYTES) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `a stored policy is at most ${MAX_POLICY_BYTES} bytes of JSON`)
    this.#policy.working = json && json.length > 0 ? json : undefined
    this.#grows = true
  }

  /** Pages the committed policy occupies. */
  get policyPages(): readonly BlockPtr[] {
    return this.#policy.pages
  }

  /** Writes the stored policy again with the next commit (vacuum: so its pages move below `limit`). */
  movePolicy(limit: number): void {
    const p = this.#policy
    if (p.working && !p.dirty && p.pages.some((page) => page.page >= limit)) p.working = p.working.slice()
  }

  // ---- snapshots -----------------------------------------------------------------------

  /** Snapshots of the state being built, in id order. */
  get snapshots(): readonly SnapshotEntry[] {
    return this.#snapshots.entries
  }

  /** The id the next snapshot gets. */
  get nextSnapshotId(): number {
    return this.#snapshots.table.nextId
  }

  /** Pages the committed snapshot table occupies. */
  get snapshotTablePages(): readonly BlockPtr[] {
    return this.#snapshots.pages
  }

  /** Catalog root of the state being built, which must have nothing unflushed (restore, vacuum and sweeps work on it). */
  get cleanRoot(): BlockPtr {
    if (this.catalog.dirty) throw new CartridgeError(ErrorCodes.CONFLICT, 'snapshot operations need a state with no unflushed changes')
    return this.#rootOverride ?? this.#meta.catalogRoot
  }

  /** The snapshot with id `ref` (a number) or name `ref` (a string). */
  findSnapshot(ref: number | string): SnapshotEntry {
    return this.#snapshots.find(ref)
  }

  /** Gives the snapshots the ids and times of the container they were copied from (see {@link SnapshotBook.renumber}). */
  renumberSnapshots(ids: ReadonlyMap<number, { id: number; created: number }>, nextId: number): void {
    this.#snapshots.renumber(ids, nextId)
  }

  /**
   * Adds a snapshot of the state being built, which must be committed already (the snapshot is
   * its catalog root, so everything it reaches was born at or before `txn`).
   */
  addSnapshot(name: string, created = Date.now()): SnapshotEntry {
    if (this.catalog.dirty || this.#rootOverride !== undefined || this.fileCount !== this.#meta.fileCount) {
      throw new CartridgeError(ErrorCodes.CONFLICT, 'a snapshot is taken of committed state; commit first')
    }
    const entry = this.#snapshots.add(name, created, this.#meta)
    this.audit.append({ action: 'snapshot.create', target: name, detail: `id ${entry.id}` })
    return entry
  }

  /**
   * Makes snapshot `ref` the state being built. The blocks only the replaced state held are
   * freed: those born after every snapshot (anything older may belong to a snapshot, and stays).
   */
  restoreSnapshot(ref: number | string): SnapshotEntry {
    const target = this.findSnapshot(ref)
    const retain = this.#snapshots.retainTxn
    const release: BlockVisitor = {
      enter: (page, count, txn) => {
        // Whatever a block older than every snapshot reaches is older still: skip the subtree.
        if (txn <= retain) return null
        this.#release(page, count, txn)
        return release
      },
    }
    this.#walk(this.cleanRoot, release)
    // The live state jumps back: from here on, what one snapshot stops holding another may hold again.
    this.#restoreTxn = this.txn
    this.catalog = this.#openCatalog(target.catalogRoot)
    this.#rootOverride = target.catalogRoot
    this.fileCount = target.fileCount
    this.audit.append({ action: 'snapshot.restore', target: target.name, detail: `id ${target.id}` })
    return target
  }

  /**
   * Deletes snapshot `ref` and frees every page that neither the live state nor another snapshot
   * reaches. With no restore since the snapshot was taken, that is found from birth txns in
   * O(changes around it) ({@link exclusiveBlocks}); otherwise by marking from every root.
   */
  deleteSnapshot(ref: number | string): { entry: SnapshotEntry; freedPages: number } {
    this.shrinks()
    const entry = this.findSnapshot(ref)
    const rest = this.#snapshots.entries.filter((s) => s !== entry)
    const blocks = this.restoreLineageAfter(entry.txn) ? undefined : this.exclusiveBlocks(entry, rest)
    this.#snapshots.remove(entry)
    this.audit.append({ action: 'snapshot.delete', target: entry.name, detail: `id ${entry.id}` })
    if (!blocks) return { entry, freedPages: this.sweep() }
    let freed = 0
    for (const [page, count] of blocks) {
      this.alloc.free(page, count, { reusable: false })
      freed += count
    }
    return { entry, freedPages: freed }
  }

  /**
   * The blocks (first page → pages) that only snapshot `s` holds, among the snapshots `others`
   * and the live state, from birth txns ({@link exclusiveByBirth}). Exact when no snapshot was
   * restored since the previous one was taken ({@link restoreLineageAfter}): callers check first.
   */
  exclusiveBlocks(s: SnapshotEntry, others: readonly SnapshotEntry[]): Map<number, number> {
    return exclusiveByBirth((root, v) => this.#walk(root, v), s, others, () => this.cleanRoot)
  }

  /** Whether a snapshot was restored after txn `txn` (then birth txns alone cannot tell which blocks a snapshot holds alone). */
  restoreLineageAfter(txn: number): boolean {
    return this.#restoreTxn >= txn
  }

  /**
   * Frees every used page that nothing reaches: not the live state, a snapshot, the free map, the
   * snapshot table or a meta page. Marks from all roots (shared subtrees read once), then frees
   * the rest; returns how many pages it freed.
   */
  sweep(): number {
    return freeUnmarked(this.alloc, this.#reachable())
  }

  /** Every page the state being built (which must be flushed) and its snapshots reach, with the meta pages, free map and snapshot table. */
  #reachable(): PageMarks {
    const marks = new PageMarks(this.alloc.totalPages)
    marks.mark(0, 2)
    for (const p of this.alloc.mapPages) marks.mark(p.page, 1)
    for (const p of this.#snapshots.pages) marks.mark(p.page, 1)
    for (const p of this.#policy.pages) marks.mark(p.page, 1)
    const log = this.audit.workingState
    if (log) visitAuditPages(this, log.head, (p) => marks.mark(p.page, 1))
    const v = marks.visitor()
    this.#walk(this.cleanRoot, v)
    for (const s of this.#snapshots.entries) this.#walk(s.catalogRoot, v)
    return marks
  }

  /** Walks the blocks under catalog root `root` (nodes read through the walk page). */
  #walk(root: BlockPtr, v: BlockVisitor): void {
    walkBlocks(this.catalogFactory, this, root, v, this.#reader.walkNodes)
  }

  /** Installs moved roots (vacuum): the live catalog root and each snapshot's, by id. */
  installRoots(live: BlockPtr, snapshots: ReadonlyMap<number, BlockPtr>): void {
    if (live !== this.cleanRoot) {
      this.catalog = this.#openCatalog(live)
      this.#rootOverride = live
    }
    this.#snapshots.moveRoots(snapshots)
  }

  /** Forgets cached pages and catalog nodes (after pages moved). */
  dropCaches(): void {
    this.#reader.clear()
  }
}
