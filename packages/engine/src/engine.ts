import { randomBytes } from 'node:crypto'
import { CartridgeError, ErrorCodes, getU64, viewOf } from '@cartridge/core'
import {
  CoalescingPageStore, FORMAT_MINOR, NULL_PTR, PAGE_PAYLOAD, PAGE_SIZE, PageType, Pager, readBlob, verifyPage, writeBlob,
  type BlockPtr, type Meta, type PageIO, type PageStore, type RecoveryNote,
} from '@cartridge/pager'
import { bitmapAllocator, type Allocator, type AllocatorFactory, type AllocatorMark } from '@cartridge/allocator'
import { btreeCatalog, type Catalog, type CatalogFactory, type CatalogVersion } from '@cartridge/catalog'
import { ArcCache, type Cache } from '@cartridge/arc-cache'
import {
  EMPTY_TABLE, MAX_SNAPSHOTS, PageMarks, readSnapshotTable, validateSnapshotName, writeSnapshotTable,
  type BlockVisitor, type SnapshotEntry, type SnapshotTable,
} from '@cartridge/snapshot'
import { CodecSet, type Codec, type CodecName } from '@cartridge/codec'
import { CodecChoice, type CompressionSetting } from './codec-choice.js'
import { walkBlocks } from './block-walk.js'
import { checkedLayer, pickLayer } from './layer-choice.js'
import { growthTarget, vacuumHeadroom } from './growth-policy.js'
import { exclusiveByBirth, freeUnmarked } from './snapshot-walks.js'
import { newSealing, openSealing, pageSealer, rewrapSealing, type EncryptionSetting, type Sealing } from './encryption.js'
import { readKeySlot, type Aead, type ContainerCipher } from '@cartridge/crypto'
import { CHUNK_SIZE, decodeFileRecord, type FileRecord } from './file-record.js'
import { chunksOf, loadStored, type ContentIO } from './content.js'
import type { PagedChange } from './paged-content.js'
import * as files from './file-table.js'
import { MAX_ENTRY_BYTES, visitAuditPages } from '@cartridge/audit'
import { AuditTrail, type AuditMark, type AuditNote } from './audit-trail.js'

/** Makes a cache of the given capacity (entries). Lets a user swap the page cache. */
export type CacheFactory = (capacity: number) => Cache<number, unknown>

/** Runtime settings of an open container. */
export interface EngineOptions {
  /** Pages (4 KiB) the caches may hold; default 2048 (8 MiB). */
  bufferPoolSize?: number
  /** `'full'` (default): every commit is fsynced before it is acknowledged. `'none'`: commits are not synced; a crash may lose recent commits, never consistency. */
  durability?: 'full' | 'none'
  /** Cache implementation; default ARC. */
  cache?: CacheFactory
  /**
   * Catalog implementation. A new container is written with it (its id is recorded in the meta
   * page); opening one picks the implementation the container records, among this one and the
   * reference `btreeCatalog` (default), or fails with `CARTRIDGE_UNSUPPORTED`.
   */
  catalog?: CatalogFactory
  /** Allocator (free-space map) implementation, chosen like {@link catalog}; default `bitmapAllocator`. */
  allocator?: AllocatorFactory
  /** Largest single growth step in pages once doubling gets large (default 16384 = 64 MiB). */
  maxGrowthPages?: number
  /** The key of an encrypted container (32 bytes). */
  key?: Uint8Array
  /** The passphrase of an encrypted container. */
  passphrase?: string
  /**
   * AES-GCM implementation for an encrypted container: default `node:crypto`; `new NobleAead()`
   * (pure JavaScript, same bytes, about 30× slower) where no native crypto exists.
   */
  aead?: Aead
}

/** Settings fixed when a container is created (stored in its meta page). */
export interface CreateSettings {
  slug: string
  title: string
  /** Initial size in pages (default 3 = 12 KiB). */
  initialPages?: number
  /** Headroom in percent (0–90, default 10): a write too large for the next doubling grows the file to what it needs plus this much, and a vacuum leaves this much of the file free (both at most one growth step; spec §15). */
  growthThresholdPercent?: number
  /** Largest size in pages (0 = unbounded). */
  maxPages?: number
  /** Codec new writes use (default none), stored in the container so it applies after reopening. */
  compression?: CompressionSetting
  /** Encrypt everything past the meta page's plain header (spec §25) with a key or a passphrase. */
  encryption?: EncryptionSetting
  /** The container id and creation time to keep (a copy of a container keeps its identity); default new. */
  identity?: { uuid: Uint8Array; created: number }
}

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

/** Options of {@link Engine.commit} beyond `sync`. */
export interface EngineCommitOptions {
  /** Sync new pages before the meta page (pages moved with their birth txn kept need it). */
  barrier?: boolean
}

interface CachedPage {
  txn: number
  checksum: number
  page: Uint8Array
}

/** How far (in pages) small commits write ahead of themselves: 1 MiB. */
const PREWRITE_PAGES = 256

/**
 * The synchronous storage engine of one container: copy-on-write catalog, free-space map and
 * content chunks over a {@link Pager}. Every mutating method runs inside {@link apply}, which
 * undoes it completely if it throws; {@link commit} makes everything applied since the last
 * commit atomic (and durable with `sync`), or undoes all of it.
 */
export class Engine implements ContentIO {
  readonly store: PageStore
  readonly pager: Pager
  readonly options: Required<Omit<EngineOptions, 'cache' | 'key' | 'passphrase' | 'aead' | 'catalog' | 'allocator'>> & { cache: CacheFactory; aead?: Aead }
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
  /** Decoders of compressed chunks. */
  readonly codecs = new CodecSet()
  /** The codec new writes use unless a write says otherwise (pending until the next commit stores it). */
  readonly #writeCodec = new CodecChoice()
  /** The data key's sealing, in an encrypted container. */
  #sealing: Sealing | undefined
  /** The data key itself (kept for a key change, which wraps it again). */
  #dataKey: Uint8Array | undefined
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
  #pageCache: Cache<number, unknown>
  #nodeCache: Cache<number, unknown>
  /** Snapshot table of the state being built, and of the last commit (same object when unchanged). */
  #snapshots: SnapshotTable = EMPTY_TABLE
  #committedSnapshots: SnapshotTable = EMPTY_TABLE
  /** Pages of the committed snapshot table. */
  #snapshotPages: BlockPtr[] = []
  /** Highest txn of any snapshot (-1: none): a block born at or before it may be a snapshot's. */
  #retainTxn = -1
  /** A catalog root installed whole (restore, vacuum) for the next commit. */
  #rootOverride: BlockPtr | undefined
  /** Whether the transaction being built holds an operation that may take space (anything but a delete). */
  #grows = false
  /** What the running operation is: 'grows' unless it declared itself a delete ({@link shrinks}). */
  #opKind: 'none' | 'grows' | 'shrinks' = 'none'
  /** The stored access policy (JSON bytes) of the state being built, and of the last commit (same object when unchanged). */
  #policy: Uint8Array | undefined
  #committedPolicy: Uint8Array | undefined
  /** Pages of the committed policy. */
  #policyPages: BlockPtr[] = []
  /** The audit log: entries appended by operations, written in the same commit as they are. */
  readonly audit = new AuditTrail()
  /** Page IO whose frees skip snapshot retention: for the free map and the snapshot table, which no snapshot references. */
  readonly #direct: PageIO

  /** The coalescing layer over the store, emptied after unsynced commits (undefined when read-only). */
  readonly #coalescing: CoalescingPageStore | undefined
  /** Free pages written ahead of small commits (see {@link #prewriteRange}); 0 when the store gains nothing by it. */
  readonly #prewritePages: number
  /** Pages below this were written since open (by commits, or ahead of them). */
  #writtenTo = 0
  /** The one page block walks read catalog nodes into (see {@link walkNodes}). */
  readonly #walkPage = new Uint8Array(PAGE_SIZE)
  readonly #walkNodes: Pick<PageIO, 'read'> = { read: (ptr, type) => this.#readPage(ptr, type, this.#walkPage) }

  private constructor(store: PageStore, options: EngineOptions) {
    this.#coalescing = store.readOnly ? undefined : new CoalescingPageStore(store)
    this.pager = new Pager(this.#coalescing ?? store)
    this.#prewritePages = store.prewrite && !store.readOnly ? PREWRITE_PAGES : 0
    // Content goes straight to the store; such a write supersedes a staged image of the same page.
    this.store = this.pager.direct
    const bufferPoolSize = options.bufferPoolSize ?? 2048
    if (!Number.isInteger(bufferPoolSize) || bufferPoolSize < 16) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'bufferPoolSize must be an integer of at least 16 pages')
    }
    this.options = {
      bufferPoolSize, durability: options.durability ?? 'full', maxGrowthPages: options.maxGrowthPages ?? 16384,
      cache: options.cache ?? ((n) => new ArcCache<number, unknown>(n)), aead: options.aead,
    }
    if (this.options.durability !== 'full' && this.options.durability !== 'none') {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "durability must be 'full' or 'none'")
    }
    this.#nodeCache = this.options.cache(Math.max(16, Math.floor(bufferPoolSize * 0.75)))
    this.#pageCache = this.options.cache(Math.max(16, Math.floor(bufferPoolSize * 0.25)))
    // Structure pages a commit writes stay cached (a log's last page and the nodes above it are read again by the next commit).
    this.pager.onWritten = (no, page) => {
      const v = viewOf(page)
      this.#pageCache.set(no, { txn: getU64(v, 8), checksum: v.getUint32(0, true), page } satisfies CachedPage)
    }
    const self = this
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
    const initialPages = settings.initialPages ?? 3
    if (!Number.isInteger(initialPages) || initialPages < 3) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'initialBlocks must be an integer ≥ 3')
    const threshold = settings.growthThresholdPercent ?? 10
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > 90) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'growthThresholdPercent must be an integer from 0 to 90')
    }
    const maxPages = settings.maxPages ?? 0
    if (!Number.isInteger(maxPages) || (maxPages !== 0 && maxPages < initialPages)) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'maxBlocks must be 0 (unbounded) or at least initialBlocks')
    }
    if (settings.compression) e.#writeCodec.set(settings.compression)
    const uuid = settings.identity?.uuid.slice() ?? new Uint8Array(randomBytes(16))
    if (settings.encryption !== undefined) {
      const sealing = newSealing(uuid, settings.encryption, options.aead)
      e.#seal(sealing)
      e.#dataKey = sealing.dataKey
    }
    e.txn = 1
    e.catalogFactory = checkedLayer('catalog', options.catalog ?? btreeCatalog, btreeCatalog)
    e.allocatorFactory = checkedLayer('allocator', options.allocator ?? bitmapAllocator, bitmapAllocator)
    e.alloc = e.allocatorFactory.create(initialPages)
    e.catalog = e.#openCatalog(NULL_PTR)
    const freeMapRoot = e.alloc.flush(e)
    const meta: Meta = {
      txn: 1, baseTxn: 0, totalPages: initialPages, fileCount: 0, created: settings.identity?.created ?? Date.now(), maxPages,
      growthThresholdPercent: threshold, uuid, catalogRoot: NULL_PTR, freeMapRoot,
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
      e.#dataKey = sealing.dataKey
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
    e.#policy = policy
    e.#committedPolicy = policy
    e.#policyPages = policyPages
    e.alloc = alloc!
    e.#setSnapshots(table)
    e.#committedSnapshots = table
    e.#snapshotPages = tablePages
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
    return this.catalogFactory.open(this, root, { cache: this.#nodeCache })
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
    return this.#readPage(ptr, type, undefined)
  }

  /**
   * Reads catalog nodes for one-pass walks over many of them (snapshot deletion and listing,
   * marking): a staged or cached page as it is, else read and verified into one scratch page and
   * not cached, so such a walk neither allocates a page per node nor pushes the pages other
   * reads use out of the cache. A result is valid until the next read through it.
   */
  get walkNodes(): Pick<PageIO, 'read'> {
    return this.#walkNodes
  }

  #readPage(ptr: BlockPtr, type: PageType | readonly PageType[], scratch: Uint8Array | undefined): Uint8Array {
    if (!(ptr.page >= 2 && ptr.page < this.pageLimit)) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `a pointer to page ${ptr.page} lies outside the container (${this.pageLimit} pages)`, { page: ptr.page })
    }
    const staged = this.pager.staged(ptr.page)
    if (staged) {
      verifyPage(staged, ptr, type)
      return staged
    }
    const hit = this.#pageCache.get(ptr.page) as CachedPage | undefined
    if (hit && hit.txn === ptr.txn && hit.checksum === ptr.checksum) return hit.page
    let page: Uint8Array = scratch ?? new Uint8Array(PAGE_SIZE)
    this.store.read(ptr.page, page)
    const cipher = this.#sealing?.cipher
    if (cipher) {
      const plain = cipher.openPage(page, ptr.page, ptr.txn, page)
      if (!plain) throw new CartridgeError(ErrorCodes.AUTH_FAILED, `page ${ptr.page} failed authentication: the container was changed or damaged`, { page: ptr.page })
      page = plain
      try {
        verifyPage(page, ptr, type)
      } catch (err) {
        // An authentic page that is not what its parent points to: another version put in its place.
        throw new CartridgeError(ErrorCodes.AUTH_FAILED, `page ${ptr.page} failed authentication: ${(err as Error).message}`, { page: ptr.page, cause: err })
      }
    } else verifyPage(page, ptr, type)
    if (!scratch) this.#pageCache.set(ptr.page, { txn: ptr.txn, checksum: ptr.checksum, page } satisfies CachedPage)
    return page
  }

  /**
   * Allocates `count` contiguous pages: from free space, else by growing, else (with durability
   * 'none') by syncing the last commit so the pages freed before it can be reused. In a
   * container at its `maxPages`, an operation that may take space leaves the delete reserve
   * free (see {@link #fitsAboveReserve}).
   */
  allocate(count: number): number {
    for (;;) {
      if (!this.#fitsAboveReserve(count)) {
        if (this.#releaseHeld()) continue
        throw this.#fullError(count)
      }
      const p = this.alloc.allocate(count)
      if (p !== undefined) return p
      if (this.#canGrow(count)) {
        this.#grow(count)
        continue
      }
      if (this.#releaseHeld()) continue
      throw this.#fullError(count)
    }
  }

  /**
   * Reserves a run outside any transaction (a streamed write's chunk, a database page stash),
   * as a write that takes space: `undefined` when no run is free above the delete reserve.
   */
  reserveRun(count: number): number | undefined {
    for (;;) {
      const page = this.#fitsAboveReserve(count, true) ? this.alloc.reserve(count) : undefined
      if (page !== undefined || !this.#releaseHeld()) return page
    }
  }

  /** Marks the running operation as a delete: it gives space back, and may use the delete reserve. */
  shrinks(): void {
    if (this.#opKind === 'grows') this.#opKind = 'shrinks'
  }

  /**
   * Pages a delete's commit may need when nothing else is free: two catalog paths (a range
   * delete rewrites the nodes on both of its edges; merges only give pages back), every page of
   * the free map and of the snapshot table, and one spare.
   */
  #deleteReserve(): number {
    return 2 * this.catalog.height + this.alloc.flushPages + this.#snapshotPages.length + 1 + this.#auditReserve()
  }

  /**
   * Pages a commit's audit entries may need: entry pages for the pending entries and one more (a
   * delete's; the last page rewritten is among them), the pointer-tree path above them plus one
   * node when the tree grows a level, and the head page.
   */
  #auditReserve(): number {
    if (!this.audit.enabled) return 0
    const height = this.audit.committed?.entries.aux ?? 0
    return Math.ceil((this.audit.pendingBytes + MAX_ENTRY_BYTES + 2) / PAGE_PAYLOAD) + height + 2
  }

  /**
   * Whether `count` more pages leave the delete reserve free: always for a container without a
   * `maxPages`, and for a delete (or the commit of deletes only). Otherwise the free pages plus
   * the room left to grow, minus `count`, must cover {@link #deleteReserve}, so a full container
   * can always be emptied (a copy-on-write delete needs new pages before it gives any back).
   */
  #fitsAboveReserve(count: number, grows = this.#grows || this.#opKind === 'grows'): boolean {
    // (No meta yet while a new container writes its first free map: nothing to keep.)
    const max = this.#meta?.maxPages ?? 0
    if (max === 0 || !grows) return true
    const spare = this.alloc.availablePages + Math.max(0, max - this.alloc.totalPages) - count
    // The catalog's height costs a node read: look only when the cheap bound does not settle it.
    const cheap = 2 * 32 + this.alloc.flushPages + this.#snapshotPages.length + 1 + this.#auditReserve()
    return spare >= cheap || spare >= this.#deleteReserve()
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

  #fullError(needed: number): CartridgeError {
    const max = this.#meta?.maxPages ?? 0
    return new CartridgeError(
      ErrorCodes.FULL,
      `container is full (${this.alloc.totalPages} of at most ${max} pages, ${this.alloc.availablePages} free; ${needed} more needed` +
        (this.#grows || this.#opKind === 'grows' ? `, and ${this.#deleteReserve()} are kept so files can still be deleted)` : ')'),
    )
  }

  /** Releases a block the state being built no longer references, unless a snapshot may still reference it. */
  free(ptr: BlockPtr): void {
    this.freeRun(ptr.page, 1, ptr.txn)
  }

  freeRun(page: number, count: number, txn: number): void {
    if (txn > this.#retainTxn) this.#release(page, count, txn)
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

  /** The size to grow to so that `needed` more pages fit (spec §15; see {@link growthTarget}). */
  #growthTarget(needed: number): number {
    return growthTarget(this.alloc.totalPages, needed, this.options.maxGrowthPages, this.#meta.growthThresholdPercent, this.#meta.maxPages)
  }

  /** Free pages a vacuum leaves at the end of the file (spec §15; see {@link vacuumHeadroom}). */
  get vacuumHeadroom(): number {
    return vacuumHeadroom(this.alloc.totalPages - this.alloc.freePages, this.#meta.growthThresholdPercent, this.options.maxGrowthPages)
  }

  /**
   * Grows once so that `pages` more pages fit, for a write whose size is known: it then ends in a
   * file sized to it (plus headroom) rather than doubling past it on the way. Best effort: at
   * `maxPages` the write's own allocations report FULL.
   */
  makeRoom(pages: number): void {
    const short = pages - this.alloc.availablePages
    if (short > 0 && this.#canGrow(short) && this.#fitsAboveReserve(short)) this.alloc.grow(this.#growthTarget(short))
  }

  /** Whether growing can make a run of `needed` pages fit at the end. */
  #canGrow(needed: number): boolean {
    return this.#growthTarget(needed) >= this.alloc.totalPages + needed
  }

  /** Grows so that a run of `needed` pages fits at the end; fails with `CARTRIDGE_FULL` when it cannot. */
  #grow(needed: number): void {
    if (!this.#canGrow(needed)) throw this.#fullError(needed)
    this.alloc.grow(this.#growthTarget(needed))
  }

  /** Grows (as one operation) until a run of `pages` pages can be reserved (see {@link allocate}). */
  ensureFree(pages: number): void {
    this.alloc.free(this.allocate(pages), pages, { reusable: true })
  }

  // ---- operations and commits ---------------------------------------------------------

  #savepoint(): Savepoint {
    return {
      catalogObject: this.catalog, catalog: this.catalog.savepoint(), alloc: this.alloc.mark(), fileCount: this.fileCount,
      snapshots: this.#snapshots, rootOverride: this.#rootOverride, grows: this.#grows, audit: this.audit.mark(), policy: this.#policy,
    }
  }

  #rollback(sp: Savepoint): void {
    this.catalog = sp.catalogObject
    this.#setSnapshots(sp.snapshots)
    this.#rootOverride = sp.rootOverride
    this.#grows = sp.grows
    this.catalog.rollback(sp.catalog)
    this.alloc.rollback(sp.alloc)
    this.fileCount = sp.fileCount
    this.audit.rollback(sp.audit)
    this.#policy = sp.policy
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
      this.#snapshots !== this.#committedSnapshots || this.#rootOverride !== undefined || this.audit.dirty ||
      this.#policy !== this.#committedPolicy
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
      let snapshotsRoot = this.#meta.snapshotsRoot
      let tablePages = this.#snapshotPages
      if (this.#snapshots !== this.#committedSnapshots) {
        for (const p of this.#snapshotPages) this.#direct.free(p)
        tablePages = []
        snapshotsRoot = writeSnapshotTable({ ...this.#direct, txn: this.txn, stage: (n, page) => {
          tablePages.push({ page: n, txn: this.txn, checksum: 0, aux: 0 })
          this.stage(n, page)
        } }, this.#snapshots)
      }
      let policyRoot = this.#meta.policyRoot ?? NULL_PTR
      let policyPages = this.#policyPages
      if (this.#policy !== this.#committedPolicy) {
        for (const p of this.#policyPages) this.#direct.free(p)
        policyPages = []
        policyRoot = this.#policy ? writeBlob({ ...this.#direct, txn: this.txn, stage: (n, page) => {
          policyPages.push({ page: n, txn: this.txn, checksum: 0, aux: 0 })
          this.stage(n, page)
        } }, PageType.POLICY, this.#policy) : NULL_PTR
      }
      // The log's pages are freed without snapshot retention too (no snapshot reaches them).
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
      this.#committedSnapshots = this.#snapshots
      this.#snapshotPages = tablePages
      this.#rootOverride = undefined
      this.#committedPolicy = this.#policy
      this.#policyPages = policyPages
      this.audit.afterCommit()
      this.#afterCommit(meta, sync)
      this.txn++
    } catch (err) {
      this.pager.discard()
      this.audit.discard()
      this.#policy = this.#committedPolicy
      this.#pageCache.clear()
      this.#nodeCache.clear()
      this.#writeCodec.load(this.#meta)
      // The failed flush gave pages to catalog nodes: undo the allocator, then start the catalog
      // again from the committed root rather than rolling it back.
      this.alloc.rollback(this.#txnMark.alloc)
      this.fileCount = this.#txnMark.fileCount
      this.#setSnapshots(this.#committedSnapshots)
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

  /** The record of `path` in the working state or at `at`. */
  record(path: string, at?: CatalogVersion): FileRecord | undefined {
    return files.record(this, path, at)
  }

  /** Whether any file lives under directory `dir`. */
  isDirectory(dir: string, at?: CatalogVersion): boolean {
    return files.isDirectory(this, dir, at)
  }

  /**
   * Creates or replaces a file. `compression` overrides the container's codec for this write
   * (`null`: store raw).
   */
  writeFile(path: string, data: Uint8Array, compression?: CompressionSetting | null): void {
    files.writeFile(this, path, data, compression)
  }

  /** A record with page checksums was installed: the next meta page says format 1.4. */
  markSummed(): void {
    this.#pageSums = true
  }

  /** Appends an audit entry for an operation of the transaction being built (nothing when the log is off). */
  note(n: AuditNote): void {
    this.audit.append(n)
  }

  /**
   * Rewrites the content of the file at `path` with `codec` (undefined: raw); its times stay.
   * Returns the stored bytes before and after, or `undefined` when there was nothing to rewrite
   * (an inline or a paged file).
   */
  recompressFile(path: string, codec: Codec | undefined): { before: number; after: number } | undefined {
    return files.recompressFile(this, path, codec)
  }

  /** Seals everything written from now on with `s` (and opens what is read). */
  #seal(s: Sealing): void {
    this.#sealing = s
    this.pager.sealer = pageSealer(s)
  }

  /** How the container is encrypted (undefined: it is not). */
  get encryption(): { cipher: 'aes-256-gcm'; keyFrom: 'key' | 'passphrase' } | undefined {
    if (!this.#sealing) return undefined
    return { cipher: 'aes-256-gcm', keyFrom: readKeySlot(this.#sealing.header).kdf }
  }

  /**
   * Wraps the data key for a new key or passphrase; the next commits write the new key slot (a
   * caller makes two, so both meta slots carry it). No content or structure page changes.
   */
  changeKey(setting: EncryptionSetting): void {
    if (!this.#sealing || !this.#dataKey) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is not encrypted: use enableEncryption')
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    this.#seal(rewrapSealing(this.#sealing, this.#dataKey, setting))
    this.#grows = true
    this.audit.append({ action: 'key.change', detail: typeof setting === 'object' && 'passphrase' in setting ? 'passphrase' : 'key' })
  }

  /** The scrypt cost of the key slot when a passphrase opens the container (a rekey keeps it). */
  get scryptCost(): { logN: number; r: number; p: number } | undefined {
    if (!this.#sealing) return undefined
    const info = readKeySlot(this.#sealing.header)
    return info.kdf === 'passphrase' ? { logN: info.params.logN, r: info.params.r, p: info.params.p } : undefined
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
  get compression(): { codec: CodecName | `codec ${number}`; level: number } {
    return this.#writeCodec.setting
  }

  /** Sets the codec new writes use; the next commit stores it in the container. */
  setCompression(setting: CompressionSetting): void {
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    this.#writeCodec.set(setting)
    this.#grows = true
    this.audit.append({ action: 'config.compression', detail: `${setting.codec}${setting.level !== undefined ? ` level ${setting.level}` : ''}` })
  }

  /** A codec for one write's choice (cached by name and level). */
  codecFor(setting: CompressionSetting): Codec | undefined {
    return this.#writeCodec.for(setting)
  }

  /** Installs a record for `path`, releasing the version it replaces; `sha256` is the content's hash for the audit log. */
  putRecord(path: string, rec: FileRecord, old = this.record(path), sha256?: Uint8Array): void {
    files.putRecord(this, path, rec, old, sha256)
  }

  /** Deletes a file (a delete: it may use the delete reserve). */
  deleteFile(path: string): void {
    files.deleteFile(this, path)
  }

  /**
   * Deletes every file under `dir`; returns how many (a delete: it may use the delete reserve).
   * `check` is called with each path first and throws to refuse (then nothing is deleted).
   */
  deleteTree(dir: string, check?: (path: string) => void): number {
    return files.deleteTree(this, dir, check)
  }

  /**
   * Renames a file, or a directory with everything under it. Replaces a file at `to` unless
   * `overwrite` is false. `check` is called before anything changes with `delete` for each source
   * path and `write` for each target, and throws to refuse.
   */
  rename(from: string, to: string, overwrite = true, check?: (action: 'delete' | 'write', path: string) => void): void {
    files.rename(this, from, to, overwrite, check)
  }

  /** Writes a new version of a paged file (a SQLite file): replaced pages only, copy-on-write. */
  writePaged(path: string, change: PagedChange): void {
    files.writePaged(this, path, change)
  }

  /** Deletes a paged file (for the VFS; not guarded). Returns whether it existed. */
  deletePaged(path: string): boolean {
    return files.deletePaged(this, path)
  }

  /** Reads `[offset, offset+length)` of a file, clamped to its size. */
  readFile(path: string, at: CatalogVersion | undefined, offset = 0, length?: number): Uint8Array {
    return files.readFile(this, path, at, offset, length)
  }

  // ---- snapshots -----------------------------------------------------------------------

  #setSnapshots(t: SnapshotTable): void {
    this.#snapshots = t
    let max = -1
    for (const e of t.entries) if (e.txn > max) max = e.txn
    this.#retainTxn = max
  }

  /** Snapshots of the state being built, in id order. */
  get snapshots(): readonly SnapshotEntry[] {
    return this.#snapshots.entries
  }

  /** The id the next snapshot gets. */
  get nextSnapshotId(): number {
    return this.#snapshots.nextId
  }

  /** The stored access policy of the state being built (its JSON bytes), or undefined. */
  get storedPolicy(): Uint8Array | undefined {
    return this.#policy
  }

  /** Stores `json` (or no policy) with the next commit. */
  setStoredPolicy(json: Uint8Array | undefined): void {
    if (this.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    if (json && json.length > MAX_POLICY_BYTES) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `a stored policy is at most ${MAX_POLICY_BYTES} bytes of JSON`)
    this.#policy = json && json.length > 0 ? json : undefined
    this.#grows = true
  }

  /** Pages the committed policy occupies. */
  get policyPages(): readonly BlockPtr[] {
    return this.#policyPages
  }

  /** Writes the stored policy again with the next commit (vacuum: so its pages move below `limit`). */
  movePolicy(limit: number): void {
    if (this.#policy && this.#policy === this.#committedPolicy && this.#policyPages.some((p) => p.page >= limit)) this.#policy = this.#policy.slice()
  }

  /** Pages the committed snapshot table occupies. */
  get snapshotTablePages(): readonly BlockPtr[] {
    return this.#snapshotPages
  }

  /** Catalog root of the state being built, which must have nothing unflushed (restore, vacuum and sweeps work on it). */
  get cleanRoot(): BlockPtr {
    if (this.catalog.dirty) throw new CartridgeError(ErrorCodes.CONFLICT, 'snapshot operations need a state with no unflushed changes')
    return this.#rootOverride ?? this.#meta.catalogRoot
  }

  /** The snapshot with id `ref` (a number) or name `ref` (a string). */
  findSnapshot(ref: number | string): SnapshotEntry {
    const found = this.#snapshots.entries.find((s) => (typeof ref === 'number' ? s.id === ref : s.name === ref))
    if (!found) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such snapshot: ${typeof ref === 'number' ? `id ${ref}` : JSON.stringify(ref)}`)
    return found
  }

  /**
   * Gives the snapshots the ids and times of the container they were copied from (`ids`: id here
   * → original id and time; ids keep their order) and sets the next id.
   */
  renumberSnapshots(ids: ReadonlyMap<number, { id: number; created: number }>, nextId: number): void {
    const t = this.#snapshots
    const entries = t.entries.map((s) => {
      const to = ids.get(s.id)
      return to ? { ...s, id: to.id, created: to.created } : s
    })
    for (let i = 1; i < entries.length; i++) {
      if (entries[i].id <= entries[i - 1].id) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'snapshot ids must keep their order')
    }
    if (entries.length > 0 && nextId <= entries[entries.length - 1].id) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'next snapshot id too small')
    this.#setSnapshots({ nextId, entries })
  }

  /**
   * Adds a snapshot of the state being built, which must be committed already (the snapshot is
   * its catalog root, so everything it reaches was born at or before `txn`).
   */
  addSnapshot(name: string, created = Date.now()): SnapshotEntry {
    validateSnapshotName(name)
    if (this.catalog.dirty || this.#rootOverride !== undefined || this.fileCount !== this.#meta.fileCount) {
      throw new CartridgeError(ErrorCodes.CONFLICT, 'a snapshot is taken of committed state; commit first')
    }
    const t = this.#snapshots
    if (t.entries.some((s) => s.name === name)) throw new CartridgeError(ErrorCodes.EXISTS, `a snapshot named ${JSON.stringify(name)} exists`)
    if (t.entries.length >= MAX_SNAPSHOTS) throw new CartridgeError(ErrorCodes.FULL, `a container keeps at most ${MAX_SNAPSHOTS} snapshots`)
    const entry: SnapshotEntry = {
      id: t.nextId, name, created, txn: this.#meta.txn, fileCount: this.#meta.fileCount, catalogRoot: this.#meta.catalogRoot,
    }
    this.#setSnapshots({ nextId: t.nextId + 1, entries: [...t.entries, entry] })
    this.audit.append({ action: 'snapshot.create', target: name, detail: `id ${entry.id}` })
    return entry
  }

  /**
   * Makes snapshot `ref` the state being built. The blocks only the replaced state held are
   * freed: those born after every snapshot (anything older may belong to a snapshot, and stays).
   */
  restoreSnapshot(ref: number | string): SnapshotEntry {
    const target = this.findSnapshot(ref)
    const retain = this.#retainTxn
    const release: BlockVisitor = {
      enter: (page, count, txn) => {
        // Whatever a block older than every snapshot reaches is older still: skip the subtree.
        if (txn <= retain) return null
        this.#release(page, count, txn)
        return release
      },
    }
    walkBlocks(this.catalogFactory, this, this.cleanRoot, release, this.#walkNodes)
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
    const t = this.#snapshots
    const rest = t.entries.filter((s) => s !== entry)
    const blocks = this.restoreLineageAfter(entry.txn) ? undefined : this.exclusiveBlocks(entry, rest)
    this.#setSnapshots({ nextId: t.nextId, entries: rest })
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
    return exclusiveByBirth((root, v) => walkBlocks(this.catalogFactory, this, root, v, this.#walkNodes), s, others, () => this.cleanRoot)
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
    for (const p of this.#snapshotPages) marks.mark(p.page, 1)
    for (const p of this.#policyPages) marks.mark(p.page, 1)
    const log = this.audit.workingState
    if (log) visitAuditPages(this, log.head, (p) => marks.mark(p.page, 1))
    const v = marks.visitor()
    walkBlocks(this.catalogFactory, this, this.cleanRoot, v, this.#walkNodes)
    for (const s of this.#snapshots.entries) walkBlocks(this.catalogFactory, this, s.catalogRoot, v, this.#walkNodes)
    return marks
  }

  /** Installs moved roots (vacuum): the live catalog root and each snapshot's, by id. */
  installRoots(live: BlockPtr, snapshots: ReadonlyMap<number, BlockPtr>): void {
    if (live !== this.cleanRoot) {
      this.catalog = this.#openCatalog(live)
      this.#rootOverride = live
    }
    const t = this.#snapshots
    this.#setSnapshots({ nextId: t.nextId, entries: t.entries.map((s) => ({ ...s, catalogRoot: snapshots.get(s.id) ?? s.catalogRoot })) })
  }

  /** Forgets cached pages and catalog nodes (after pages moved). */
  dropCaches(): void {
    this.#pageCache.clear()
    this.#nodeCache.clear()
  }
}
