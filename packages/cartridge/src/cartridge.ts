import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, resolve } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { CartridgeError, ErrorCodes, directoryPrefix, normalizeFilePath, normalizePath } from '@cartridge/core'
import { FilePageStore, MAX_SLUG_BYTES, MAX_TITLE_BYTES, type PageStore, type RecoveryNote } from '@cartridge/pager'
import type { CatalogVersion } from '@cartridge/catalog'
import { Engine, type CompressionSetting, type EngineOptions, keySource, type EncryptionSetting, contentStats, type ContentStats, CommitQueue, untilAborted, checkEngine, type CheckReport, ChunkWriter, CHUNK_SIZE, checkReadRange, readContent, vacuumEngine, type VacuumOptions, type VacuumResult, walkBlocks } from '@cartridge/engine'
import type { KeySource } from '@cartridge/crypto'
import { resealFile, type ResealOptions } from './reseal-file.js'
import { freezeEngine, type FreezeOptions } from './freeze.js'
import { Engram, type EngramSummary } from '@cartridge/engram'
import type { Codec, CodecName, CodecOptions } from '@cartridge/codec'
import { FileOps, compressionOption } from './file-ops.js'
import { Transaction } from './transaction.js'
import { SqliteHost, type Database, type DatabaseMount, type OpenDatabaseOptions } from '@cartridge/vfs'
import { ContainerDatabaseStore } from './container-database-store.js'
import { exclusivePages, type SnapshotEntry } from '@cartridge/snapshot'
import { PAGE_SIZE } from '@cartridge/pager'
import { SnapshotView } from './snapshot-view.js'
import { diffCatalogs, type SnapshotChange } from './snapshot-diff.js'
import type { AuditEntry } from '@cartridge/audit'
import {
  auditBatch, auditConsistencyProof, auditInclusionProof, auditStatus, matchesQuery, signCheckpoint, verifyAuditLog,
  type AuditCheckpoint, type AuditConsistencyProof, type AuditHead, type AuditInclusionProof, type AuditQuery, type AuditReport,
  type AuditStatus, type VerifyAuditOptions,
} from './audit-api.js'
import { rotateAuditLog, type RotateAuditOptions, type RotateAuditResult } from './audit-rotate.js'
import { Action, Policy } from '@cartridge/iam'
import { AccessGuard, type RequestContext } from './access-guard.js'
import type { Access } from './file-ops.js'

/**
 * Opens the page store a container file lives in: `create` for a new file (which must not exist),
 * else an existing one, `readOnly` without the writer lock. The default is `FilePageStore.open`;
 * a factory may wrap that store (for example in an `ImagePageStore`) or replace it.
 */
export type StoreFactory = (path: string, options: { create: boolean; readOnly: boolean }) => PageStore

/** Options when opening a container. */
export interface OpenOptions extends EngineOptions {
  /** Open without the writer lock; every mutation fails with `CARTRIDGE_READ_ONLY`. */
  readOnly?: boolean
  /** How the container file is opened (default {@link defaultStore}: `FilePageStore.open`). */
  store?: StoreFactory
}

/** The default {@link StoreFactory}: the file itself, through `FilePageStore`. */
export const defaultStore: StoreFactory = (path, { create, readOnly }) => FilePageStore.open(path, create ? { create: true } : { readOnly })

/** Options when creating a container. */
export interface CreateOptions extends OpenOptions {
  /** Where to put the file (default `./<slug>.cart`). */
  path?: string
  /** Initial size in 4 KiB blocks (default 3 = 12 KiB). */
  initialBlocks?: number
  /**
   * Headroom in percent (default 10): a write too large for the next doubling grows the file to
   * what it needs plus this much, and `vacuum()` leaves this much free (both at most one growth step).
   */
  growthThresholdPercent?: number
  /** Largest size in blocks (default 0 = unbounded); writing past it fails with `CARTRIDGE_FULL`. */
  maxBlocks?: number
  /**
   * Codec for new writes (default none), e.g. `{ codec: 'zstd', level: 3 }`, `{ codec: 'lz4' }` or
   * `{ codec: zstd({ level: 3 }) }`; an application codec (`{ codec: myCodec }`) must then be in the
   * `codecs` option of every open. Stored in the container; change it later with `enableCompression`.
   */
  compression?: CompressionSetting
  /**
   * Encrypt the container (AES-256-GCM; spec §25): `{ passphrase }` (scrypt) or `{ key }` (32 bytes).
   * Opening it again needs the same `passphrase` or `key` in the open options.
   */
  encryption?: EncryptionSetting
  /** Switch the audit log on from the first commit (`true`, or `{ reads: true }` to log content reads too); see `enableAuditLogging`. */
  auditLog?: boolean | { reads?: boolean }
}

/** What `info()` reports. */
export interface CartridgeInfo {
  slug: string
  title: string
  /** File the container lives in (undefined for a custom store). */
  path?: string
  /** Size of the container in bytes. */
  sizeBytes: number
  totalBlocks: number
  freeBlocks: number
  usedBlocks: number
  fileCount: number
  /** Free blocks as a percentage of all blocks. */
  freePercentage: number
  /** Id of the last commit. */
  txn: number
  durability: 'full' | 'none'
  created: Date
  /** Snapshots the container keeps. */
  snapshots: number
  /** Codec new writes use (`'none'`, `'lz4'`, `'zstd'`) and its level (0 when it has none). */
  compression: { codec: string; level: number }
  /** How the container is encrypted, or `undefined` when it is not. */
  encryption?: { cipher: 'aes-256-gcm'; keyFrom: 'key' | 'passphrase' }
  /**
   * Bytes `vacuum()` would give back to the file system: the free blocks, which it moves the
   * used ones over and cuts off, less the headroom it keeps (growthThresholdPercent of the file,
   * at most one growth step) and a few blocks where free space is too scattered for whole chunks.
   */
  reclaimableBytes: number
}

/** A snapshot, as `createSnapshot` returns it. */
export interface SnapshotInfo {
  /** Unique id (never reused in this container). */
  id: number
  name: string
  /** When it was taken. */
  created: Date
  /** The commit whose state it keeps. */
  txn: number
  /** Files in that state. */
  fileCount: number
}

/** A snapshot as `listSnapshots` reports it. */
export interface SnapshotListing extends SnapshotInfo {
  /** Bytes only this snapshot holds: what deleting it frees. */
  exclusiveBytes: number
}

/** Options of {@link Cartridge.restoreSnapshot}. */
export interface RestoreOptions {
  /** First keep the state being replaced as a new snapshot with this name (so the restore can be undone). */
  saveCurrentAs?: string
}

/** Options of {@link Cartridge.recompress}. */
export interface RecompressOptions {
  /** Codec to rewrite with (default: the container's); `'none'` stores everything raw; or a codec object. */
  codec?: CodecName | Codec
  /** Zstd level (with a codec name). */
  level?: number
  onProgress?: (p: { done: number; total: number; path: string }) => void
  signal?: AbortSignal
}

/** What {@link Cartridge.recompress} did. */
export interface RecompressResult {
  /** Files rewritten. */
  files: number
  /** Stored bytes of their content before and after. */
  bytesBefore: number
  bytesAfter: number
}

/** Options of {@link Cartridge.transaction}. */
export interface TransactionOptions {
  /** Rolls the transaction back and releases the writer when it fires (see {@link Cartridge.transaction}). */
  signal?: AbortSignal
}

/** Options for {@link Cartridge.scan}. */
export interface ScanOptions {
  /** Paths fetched per step (default 1024). */
  batchSize?: number
  signal?: AbortSignal
}

/** Options of {@link Cartridge.createWriteStream}. */
export interface WriteStreamOptions {
  signal?: AbortSignal
  /**
   * `'chunks'` (default): 64 KiB chunks. `'pages'`: one 4 KiB page per chunk, the layout SQLite
   * databases in the container use (import a database file this way and it is not converted on
   * its first write).
   */
  layout?: 'chunks' | 'pages'
  /** Codec for this file instead of the container's (as in `write`); paged files are never compressed. */
  compression?: CodecName | CompressionSetting
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/** Checks a slug: lowercase letters, digits and single hyphens, 1–214 characters. */
export function validateSlug(slug: string): string {
  if (typeof slug !== 'string' || slug.length === 0 || slug.length > MAX_SLUG_BYTES || !SLUG.test(slug)) {
    throw new CartridgeError(
      ErrorCodes.INVALID_ARGUMENT,
      `invalid slug ${JSON.stringify(slug)}: use 1–${MAX_SLUG_BYTES} lowercase letters, digits and single hyphens`,
    )
  }
  return slug
}

/** Bytes a read stream reads from the container at a time. */
const STREAM_READ = 16 * CHUNK_SIZE

/** The store of a container file, through the user's factory when there is one (checked: a wrong value fails clearly). */
function openStore(options: OpenOptions, path: string, how: { create: boolean; readOnly: boolean }): PageStore {
  const factory = options.store ?? defaultStore
  if (typeof factory !== 'function') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the store option must be a function (path, options) => PageStore')
  const store = factory(path, how)
  if (store === null || typeof store !== 'object' || typeof store.read !== 'function' || typeof store.sync !== 'function') {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the store factory must return a PageStore')
  }
  return store
}

/**
 * A container of files in one file. Every mutating call is atomic and, with the default
 * `durability: 'full'`, durable when its promise resolves; calls made in the same tick share one
 * commit. Reads see every write whose promise was created before them.
 */
export class Cartridge extends FileOps {
  #engine: Engine
  readonly #queue: CommitQueue
  readonly #path: string | undefined
  #closed = false
  #closing: Promise<void> | undefined
  #writers = new Set<ChunkWriter>()
  /** The key or passphrase the container was opened or created with (a rekey wraps the new data key with it). */
  #keys: KeySource | undefined
  #mount: DatabaseMount | undefined
  /** The access policy in force and the request context of each call. */
  readonly #guard: AccessGuard

  private constructor(engine: Engine, path: string | undefined, keys?: KeySource, guard = new AccessGuard()) {
    super()
    this.#keys = keys
    this.#engine = engine
    this.#path = path
    this.#queue = new CommitQueue(engine, () => this.#engine.options.durability === 'full')
    this.#guardDatabases(engine)
    this.#guard = guard
    guard.policy = storedPolicy(engine)
  }

  protected override access(): Access {
    return this.#guard.bound()
  }

  /** {@link #allow} for a method that returns a promise: the rejection when refused, else undefined. */
  #refused(action: string, path = '/'): Promise<never> | undefined {
    try {
      this.#allow(action, path)
      return undefined
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Checks `action` on `path` (default `/`) for the call being made; throws `CARTRIDGE_ACCESS_DENIED`. */
  #allow(action: string, path = '/'): void {
    this.#guard.check(action, path)
  }

  /**
   * Runs the body of an operation that holds the writer for a while (vacuum, rotation) with the
   * caller's principal on the audit entries it appends.
   */
  async #asWhile<T>(body: () => Promise<T>): Promise<T> {
    const e = this.#engine
    e.audit.principal = this.#guard.principal
    try {
      return await body()
    } finally {
      e.audit.principal = undefined
    }
  }

  /** `op` run with the caller's principal as the principal of the audit entries it appends. */
  #as<T>(op: (e: Engine) => T): (e: Engine) => T {
    const principal = this.#guard.principal
    return (e) => {
      e.audit.principal = principal
      try {
        return op(e)
      } finally {
        e.audit.principal = undefined
      }
    }
  }

  /**
   * A view of this container whose calls carry `context` (principal, tags, source): the policy's
   * conditions see it, and the audit log records its principal. The view has every method of the
   * container; closing it closes the container.
   */
  as(context: RequestContext): Cartridge {
    if (typeof context !== 'object' || context === null) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'as() takes a context object: { principal?, tags?, source? }')
    const guard = this.#guard
    const ctx = guard.prepare({ ...context, ...(context.tags ? { tags: { ...context.tags } } : {}) })
    return new Proxy(this, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown
        if (typeof value !== 'function' || prop === 'constructor') return value
        return (...args: unknown[]) => {
          const result = guard.run(ctx, () => (value as (...a: unknown[]) => unknown).apply(target, args))
          // An async generator's body runs on each next(): keep the context there too.
          if (result && typeof result === 'object' && typeof (result as AsyncGenerator)[Symbol.asyncIterator] === 'function' && typeof (result as AsyncGenerator).next === 'function') {
            const it = result as AsyncGenerator
            return {
              next: (...a: [unknown?]) => guard.run(ctx, () => it.next(...a)),
              return: (v: unknown) => guard.run(ctx, () => it.return(v)),
              throw: (e: unknown) => guard.run(ctx, () => it.throw(e)),
              [Symbol.asyncIterator]() {
                return this
              },
            }
          }
          return result
        }
      },
    })
  }

  /**
   * Sets the access policy every later call is decided by (`null`: none, everything allowed). With
   * `persist`, it is stored in the container, in one commit, and other processes and the CLI
   * opening it enforce it; otherwise it holds for this handle only. Changing the policy is itself
   * the `policy:admin` action, decided by the policy in force. Takes effect for the next call.
   */
  async setPolicy(policy: Policy | null, options: { persist?: boolean } = {}): Promise<void> {
    if (this.#closed) throw closedError()
    if (policy !== null && !(policy instanceof Policy)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'setPolicy takes a Policy (Policy.fromJSON for its JSON form) or null')
    this.#allow(Action.PolicyAdmin)
    if (options.persist) {
      const json = policy ? new TextEncoder().encode(JSON.stringify(policy.toJSON())) : undefined
      await this.#queue.alone(this.#as((e) => {
        e.setStoredPolicy(json)
        e.note({ action: 'policy.set', detail: policy ? `${policy.name} (${policy.statements.length} statements)` : 'none' })
      }))
    }
    this.#guard.policy = policy ?? undefined
  }

  /** The access policy in force (undefined: none). Reading it is the `policy:admin` action. */
  getPolicy(): Policy | undefined {
    this.#allow(Action.PolicyAdmin)
    return this.#guard.policy
  }

  /** Refuses changes to database files SQLite has open, through `engine`. */
  #guardDatabases(engine: Engine): void {
    engine.guard = (p) => {
      if (this.#mount?.isOpen(p)) {
        throw new CartridgeError(ErrorCodes.LOCKED, `${p} is a database SQLite has open; close it (or use SQL) to change it`, { path: p })
      }
    }
  }

  /**
   * Opens the SQLite database at `path` in this container (creating it when missing) as a
   * better-sqlite3 `Database`. The container owns the connection: `close()` closes it. In the
   * default `'atomic'` mode every SQLite commit is one atomic container commit; `'wal'` keeps
   * SQLite's write-ahead log as a file beside the database. While a database is open, other
   * changes to its files fail with `CARTRIDGE_LOCKED`; SQLite commits made while a
   * `transaction()` runs fail with SQLITE_BUSY.
   */
  sqlite(path: string, options: OpenDatabaseOptions = {}): Database {
    this.#allow(options.readonly ? Action.SqliteRead : Action.SqliteWrite, normalizeFilePath(path))
    return this.#databaseMount().open(path, options)
  }

  /**
   * The file name SQLite knows the database at `path` by, to `ATTACH` it to a connection of
   * this container: `db.prepare('ATTACH DATABASE ? AS other').run(cart.sqliteName('/other.db'))`.
   */
  sqliteName(path: string): string {
    // An attached database can be written through the connection it is attached to.
    this.#allow(Action.SqliteWrite, normalizeFilePath(path))
    return this.#databaseMount().nameOf(path)
  }

  #databaseMount(): DatabaseMount {
    if (this.#closed || this.#closing) throw closedError()
    this.#mount ??= SqliteHost.get().mount(
      new ContainerDatabaseStore(this.#engine, this.#queue, this.#path ? dirname(this.#path) : tmpdir()),
    )
    return this.#mount
  }

  /** Connections opened by {@link sqlite} and not closed yet. */
  get databases(): readonly Database[] {
    return this.#mount ? [...this.#mount.databases] : []
  }

  /** Creates `./<slug>.cart` (or `options.path`). Fails with `CARTRIDGE_EXISTS` if the file is there. */
  static async create(slug: string, title?: string, options: CreateOptions = {}): Promise<Cartridge> {
    validateSlug(slug)
    const t = title ?? slug
    if (new TextEncoder().encode(t).length > MAX_TITLE_BYTES) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `title longer than ${MAX_TITLE_BYTES} bytes`)
    }
    const path = resolve(options.path ?? `${slug}.cart`)
    const store = openStore(options, path, { create: true, readOnly: false })
    try {
      const engine = Engine.create(
        store,
        {
          slug, title: t, initialPages: options.initialBlocks, growthThresholdPercent: options.growthThresholdPercent, maxPages: options.maxBlocks,
          compression: options.compression, encryption: options.encryption,
        },
        options,
      )
      startAuditLog(engine, options)
      return new Cartridge(engine, path, keySource(options.encryption ?? {}))
    } catch (err) {
      store.close()
      rmSync(path, { force: true })
      throw err
    }
  }

  /** Opens an existing container file. */
  static async open(file: string, options: OpenOptions = {}): Promise<Cartridge> {
    const path = resolve(file)
    const store = openStore(options, path, { create: false, readOnly: options.readOnly === true })
    try {
      return new Cartridge(Engine.open(store, options), path, keySource(options))
    } catch (err) {
      store.close()
      throw err
    }
  }

  /**
   * Creates or opens a container over any {@link PageStore} (memory, fault-injecting, your own).
   * With `create`, the store must be empty.
   */
  static async fromStore(store: PageStore, options: CreateOptions & { create?: { slug: string; title?: string } } = {}): Promise<Cartridge> {
    if (options.create) {
      validateSlug(options.create.slug)
      const engine = Engine.create(
        store,
        {
          slug: options.create.slug, title: options.create.title ?? options.create.slug, initialPages: options.initialBlocks,
          growthThresholdPercent: options.growthThresholdPercent, maxPages: options.maxBlocks, compression: options.compression,
          encryption: options.encryption,
        },
        options,
      )
      startAuditLog(engine, options)
      return new Cartridge(engine, undefined, keySource(options.encryption ?? {}))
    }
    return new Cartridge(Engine.open(store, options), undefined, keySource(options))
  }

  /** The container's slug. */
  slug(): string {
    return this.#engine.meta.slug
  }

  /** The container's title. */
  title(): string {
    return this.#engine.meta.title
  }

  /** Absolute path of the container file (undefined for a custom store). */
  get path(): string | undefined {
    return this.#path
  }

  /**
   * Set when open could not use the newest commit as it is: the newest commit failed
   * verification and the previous one was opened (`skippedTxn` says which was skipped), or a meta
   * page is damaged. Expected after a crash in the middle of a commit (that commit was never
   * acknowledged); otherwise a sign of damage worth a `check()`. Undefined for a clean open.
   */
  get recovery(): RecoveryNote | undefined {
    return this.#engine.recovery
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed
  }

  protected mutate<T>(op: (e: Engine) => T): Promise<T> {
    if (this.#closed) return Promise.reject(closedError())
    return this.#queue.mutate(this.#as(op))
  }

  protected async view<T>(read: (e: Engine, at: CatalogVersion | undefined) => T): Promise<T> {
    if (this.#closed) throw closedError()
    // Nothing scheduled: read now (one turn less per read).
    if (this.#queue.pending) {
      await this.#queue.settled()
      if (this.#closed) throw closedError()
    }
    return read(this.#engine, this.#engine.committed)
  }

  /**
   * Runs `body` as one transaction: every change it makes commits together when it resolves,
   * or none does if it throws. Other writers wait; readers outside see the state before it.
   * Inside `body`, use `tx`: calling the container itself for a change (`cart.write`, a nested
   * `cart.transaction`, `createSnapshot`, `flush`, …) fails at once with `CARTRIDGE_CONFLICT`
   * (it would wait for this transaction forever); reads on the container see the state before it.
   *
   * A callback that never settles would hold the writer forever: pass `signal` (for example
   * `AbortSignal.timeout(5000)`) and when it fires the transaction is rolled back, the writer is
   * released, the promise rejects with `CARTRIDGE_ABORTED`, and the callback's later `tx` calls
   * fail with `CARTRIDGE_CLOSED`. A signal that fires while the transaction waits for the
   * writer gives up the wait.
   */
  async transaction<T>(body: (tx: Transaction) => Promise<T> | T, options: TransactionOptions = {}): Promise<T> {
    if (this.#closed) throw closedError()
    const { signal } = options
    throwIfAborted(signal)
    const access = this.access()
    const principal = this.#guard.principal
    return this.#queue.exclusive(async () => {
      throwIfAborted(signal)
      const tx = new Transaction(this.#engine, access, principal)
      let result: T
      try {
        result = await untilAborted(Promise.resolve().then(() => body(tx)), signal)
      } catch (err) {
        tx.end()
        this.#engine.abort()
        throw err
      }
      tx.end()
      this.#engine.commit(this.#engine.options.durability === 'full')
      return result
    }, signal)
  }

  /** Streams every file path under `prefix` in byte order, fetching `batchSize` at a time (bounded memory). */
  async *scan(prefix = '/', options: ScanOptions = {}): AsyncGenerator<string> {
    const p = normalizePath(prefix)
    const access = this.access()
    const batch = options.batchSize ?? 1024
    const dir = directoryPrefix(p)
    if (p !== '/' && access.allows('list', p) && (await this.view((e, at) => e.files.record(p, at) !== undefined))) yield p
    let from = dir
    let skipFirst = false
    for (;;) {
      throwIfAborted(options.signal)
      const keys = await this.view((e, at) => {
        const out: string[] = []
        for (const [k] of e.catalog.entries({ prefix: dir, from, at })) {
          if (skipFirst && k === from) continue
          out.push(k)
          if (out.length >= batch) break
        }
        return out
      })
      for (const k of keys) if (access.allows('list', k)) yield k
      if (keys.length < batch) return
      from = keys[keys.length - 1]
      skipFirst = true
    }
  }

  /** Size, free space, file count, snapshots and what a vacuum would reclaim. */
  async info(): Promise<CartridgeInfo> {
    this.#allow(Action.Metadata)
    return this.view((e) => {
      const { totalPages, freePages } = e.alloc
      return {
        slug: e.meta.slug, title: e.meta.title, path: this.#path, sizeBytes: totalPages * 4096, totalBlocks: totalPages, freeBlocks: freePages,
        usedBlocks: totalPages - freePages, fileCount: e.meta.fileCount, freePercentage: Math.round((freePages / totalPages) * 10000) / 100,
        txn: e.meta.txn, durability: e.options.durability, created: new Date(e.meta.created), snapshots: e.snapshots.length,
        reclaimableBytes: Math.max(0, freePages - e.vacuumHeadroom) * PAGE_SIZE, compression: e.compression,
        ...(e.encryption ? { encryption: e.encryption } : {}),
      }
    })
  }

  /**
   * Compresses new writes with `codec` (a name, or a codec object such as `zstd({ level: 9 })` or an
   * application codec) from now on (`'none'` stops compressing). Content already
   * stored stays as it is and readable; rewrite a file (or run `cartridge compress`) to recompress
   * it. The setting is stored in the container.
   */
  enableCompression(codec: CodecName | Codec, options: CodecOptions = {}): Promise<void> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    return this.#queue.mutate((e) => e.setCompression({ codec, ...options }))
  }

  /**
   * Encrypts an unencrypted container (AES-256-GCM; spec §25) with a 32-byte key (`Uint8Array` or `{ key }`) or
   * `{ passphrase }`: every file, every snapshot and every database is rewritten sealed into a new file
   * beside it, which replaces the container in one atomic rename. A crash or an abort at any point
   * leaves the container as it was, or encrypted whole. Needs free disk space for the copy; the
   * copy is also compacted (as after a vacuum). Later opens need the key or passphrase.
   */
  enableEncryption(key: Uint8Array | EncryptionSetting, options: ResealOptions = {}): Promise<void> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    const setting: EncryptionSetting = key instanceof Uint8Array ? { key } : key
    return this.#reseal('enable encryption', setting, options, (e) => {
      if (e.encryption) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is encrypted already: use changeKey or rekey')
    })
  }

  /**
   * A fresh data key: every page is sealed again under it, the same way as `enableEncryption`
   * (a new file renamed over the container; crash-safe and abortable). The key or passphrase
   * stays; use it when a data key may have leaked, or after very many writes.
   */
  rekey(options: ResealOptions = {}): Promise<void> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    return this.#reseal('rekey', undefined, options, (e) => {
      if (!e.encryption) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the container is not encrypted: use enableEncryption')
    })
  }

  /**
   * Changes the key or passphrase that opens the container. O(1): the data key is wrapped again
   * in the meta pages and no data is rewritten; after it resolves, only the new one opens the
   * container. (A copy of the file taken before still opens with the old one: use `rekey` as well
   * when the old passphrase leaked.)
   */
  changeKey(key: Uint8Array | EncryptionSetting): Promise<void> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    if (this.#closed) return Promise.reject(closedError())
    const setting: EncryptionSetting = key instanceof Uint8Array ? { key } : key
    return this.#queue.exclusive(async () => {
      this.#queue.flushNow(true)
      this.#engine.apply(() => this.#as((e) => e.changeKey(setting))(this.#engine))
      this.#engine.commit(true)
      // The second commit writes the other meta slot: neither holds the old key slot any more.
      this.#engine.commit(true)
      this.#keys = keySource(setting)
    })
  }

  /**
   * Freezes the last commit (or `options.snapshot`) into an engram at `file`: an immutable,
   * Ed25519-signed archive that anyone with the public key can verify, file by file. Files are
   * read a piece at a time (bounded memory); SQLite databases are included as the database
   * files of their last commit. An encrypted container freezes to a plain (signed, not
   * encrypted) engram. Writes to the container wait until the freeze ends.
   */
  freezeToEngram(file: string, options: FreezeOptions): Promise<EngramSummary> {
    const denied = this.#refused(Action.EngramFreeze)
    if (denied) return denied
    if (this.#closed) return Promise.reject(closedError())
    return this.#queue.exclusive(async () => {
      if (!this.#engine.store.readOnly) this.#queue.flushNow(this.#engine.options.durability === 'full')
      const e = this.#engine
      const snap = options.snapshot === undefined ? undefined : e.findSnapshot(options.snapshot)
      const log = e.audit.committed
      const principal = this.#guard.principal
      const summary = await freezeEngine(e, snap ? snap.catalogRoot : e.meta.catalogRoot, resolve(file), {
        ...options, source: { snapshot: snap?.name }, ...(log ? { audit: { size: log.size, root: log.root } } : {}),
      })
      if (log && !e.store.readOnly) {
        e.apply(() => e.note({ action: 'freeze', principal, target: basename(file), detail: `${summary.fileCount} files, engram root ${Buffer.from(summary.root).toString('hex')}${snap ? `, snapshot ${snap.name}` : ''}` }))
        e.commit(e.options.durability === 'full')
      }
      return summary
    })
  }

  /**
   * A new container (like `create`) holding every file of the engram at `file`, whose signature
   * `options.publicKey` must verify; every block is checked as it is copied.
   */
  static async fromEngram(file: string, slug: string, options: CreateOptions & { publicKey: Uint8Array; title?: string }): Promise<Cartridge> {
    const eng = await Engram.open(file, { publicKey: options.publicKey })
    try {
      const cart = await Cartridge.create(slug, options.title ?? eng.manifest.title, options)
      try {
        for (const path of await eng.list('/')) {
          const { size } = await eng.stat(path)
          const ws = cart.createWriteStream(path)
          for (let off = 0; off < size; off += 1 << 20) {
            const piece = await eng.read(path, { offset: off, length: 1 << 20 })
            if (!ws.write(piece)) await new Promise((r) => ws.once('drain', r))
          }
          await new Promise<void>((res, rej) => ws.end(() => res()).once('error', rej))
        }
        return cart
      } catch (err) {
        await cart.close().catch(() => {})
        throw err
      }
    } finally {
      await eng.close()
    }
  }

  /** Rewrites the container into a new file under new sealing and swaps it in. */
  #reseal(what: string, setting: EncryptionSetting | undefined, options: ResealOptions, precheck: (e: Engine) => void): Promise<void> {
    if (this.#closed) return Promise.reject(closedError())
    if (this.#engine.store.readOnly) return Promise.reject(new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only'))
    const path = this.#path
    if (path === undefined) return Promise.reject(new CartridgeError(ErrorCodes.UNSUPPORTED, `${what} needs a container in a file`))
    return this.#queue.exclusive(async () => {
      const src = this.#engine
      precheck(src)
      this.#refuseWithDatabases(what)
      if (this.#writers.size > 0) throw new CartridgeError(ErrorCodes.LOCKED, `a write stream is in progress; ${what} when it ends`)
      const encryption = setting ?? (this.#keys ? { ...this.#keys, scrypt: src.scryptCost } : undefined)
      if (!encryption) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${what} needs the container's key or passphrase`)
      this.#queue.flushNow(true)
      const next = await resealFile(src, path, encryption, options, what === 'rekey' ? 'key.rekey' : 'encryption.enable')
      this.#engine = next
      this.#queue.rebind(next)
      this.#guardDatabases(next)
      this.#mount = undefined
      src.store.close()
      if (setting) this.#keys = keySource(setting)
    })
  }

  /**
   * Rewrites every live file's content with `codec` (default: the container's codec), one file
   * per commit, so what was stored raw or with another codec is compressed the same way. Files
   * keep their times; paged files (SQLite databases) and inline files are left as they are.
   * Snapshots keep the old versions until they are deleted. Stops between files on `signal`.
   */
  async recompress(options: RecompressOptions = {}): Promise<RecompressResult> {
    this.#allow(Action.ContainerAdmin)
    const setting = options.codec === undefined ? undefined : compressionOption({ codec: options.codec, level: options.level })
    const codec = setting === undefined ? this.#engine.defaultCodec : setting === null ? undefined : this.#engine.codecFor(setting)
    const paths = await this.list('/')
    const result: RecompressResult = { files: 0, bytesBefore: 0, bytesAfter: 0 }
    for (const [i, p] of paths.entries()) {
      if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'recompress aborted', { cause: options.signal.reason })
      const r = await this.#queue.mutate((e) => (e.files.record(p) ? e.files.recompressFile(p, codec) : undefined))
      if (r) {
        result.files++
        result.bytesBefore += r.before
        result.bytesAfter += r.after
      }
      options.onProgress?.({ done: i + 1, total: paths.length, path: p })
    }
    return result
  }

  /**
   * How much the live files' content takes as stored (compressed) against its size, from the
   * chunk records (no content is read; O(files + chunk-map pages)).
   */
  async contentStats(options: { signal?: AbortSignal } = {}): Promise<ContentStats> {
    this.#allow(Action.Metadata)
    return this.view((e) => contentStats(e, options.signal))
  }

  // ---- snapshots ----------------------------------------------------------------------

  /**
   * Takes a snapshot of everything committed so far (writes issued before this call included):
   * a retained catalog root, so it costs a few pages, not a copy. Its files stay readable through
   * {@link snapshot} and restorable until it is deleted, across close and reopen. SQLite databases
   * in the container are captured as of their last commit.
   * @param name unique name (default `snapshot-<id>`)
   */
  createSnapshot(name?: string): Promise<SnapshotInfo> {
    const denied = this.#refused(Action.SnapshotCreate)
    if (denied) return denied
    return this.#exclusiveCommit((e) => snapshotInfo(e.addSnapshot(name ?? `snapshot-${e.nextSnapshotId}`)))
  }

  /** A read-only view of snapshot `ref` (its id, or its name, looked up at the view's first read). */
  snapshot(ref: number | string): SnapshotView {
    if (this.#closed) throw closedError()
    return new SnapshotView(ref, (read) => this.view((e) => read(e)), this.access())
  }

  /** Every snapshot, oldest first, with the bytes only it holds (from birth txns; one walk over every root after a restore). */
  async listSnapshots(): Promise<SnapshotListing[]> {
    this.#allow(Action.SnapshotRead)
    if (this.#closed) throw closedError()
    return this.#queue.exclusive(async () => {
      const e = this.#engine
      const snaps = e.snapshots
      if (snaps.length === 0) return []
      // Birth txns tell each snapshot's own blocks in O(changes) while no restore broke the
      // lineage since the oldest snapshot; otherwise one walk over every root.
      if (!e.restoreLineageAfter(Math.min(...snaps.map((s) => s.txn)))) {
        return snaps.map((s) => {
          let pages = 0
          for (const count of e.exclusiveBlocks(s, snaps).values()) pages += count
          return { ...snapshotInfo(s), exclusiveBytes: pages * PAGE_SIZE }
        })
      }
      const only = exclusivePages([e.cleanRoot, ...snaps.map((s) => s.catalogRoot)], (root, v) => walkBlocks(e.catalogFactory, e, root, v, e.walkNodes), e.alloc.totalPages)
      return snaps.map((s, i) => ({ ...snapshotInfo(s), exclusiveBytes: only[i + 1] * PAGE_SIZE }))
    })
  }

  /**
   * Makes snapshot `ref` the container's state, as one atomic commit. Other snapshots, older or
   * newer, stay as they are; restoring another one undoes it. Fails with `CARTRIDGE_LOCKED`
   * while a SQLite database in the container is open.
   */
  restoreSnapshot(ref: number | string, options: RestoreOptions = {}): Promise<SnapshotInfo> {
    const denied = this.#refused(Action.SnapshotRestore)
    if (denied) return denied
    return this.#exclusiveCommit((e) => {
      this.#refuseWithDatabases('restore a snapshot')
      // Resolve `ref` before saving: a missing ref is NOT_FOUND and saves nothing, and a ref
      // that only the snapshot about to be saved would match is not found either.
      const target = e.findSnapshot(ref)
      if (options.saveCurrentAs !== undefined) e.addSnapshot(options.saveCurrentAs)
      return snapshotInfo(e.restoreSnapshot(target.id))
    })
  }

  /** Deletes snapshot `ref` and frees exactly the pages nothing else holds; resolves to the bytes freed. */
  deleteSnapshot(ref: number | string): Promise<{ freedBytes: number }> {
    const denied = this.#refused(Action.SnapshotDelete)
    if (denied) return denied
    return this.#exclusiveCommit((e) => ({ freedBytes: e.deleteSnapshot(ref).freedPages * PAGE_SIZE }))
  }

  /**
   * What changed between two snapshots, or between a snapshot and the live state (`to` left
   * out): paths added, removed or changed, in path order.
   */
  async diffSnapshots(from: number | string, to?: number | string): Promise<SnapshotChange[]> {
    this.#allow(Action.SnapshotRead)
    return this.view((e) => diffCatalogs(e, e.findSnapshot(from).catalogRoot, to === undefined ? e.meta.catalogRoot : e.findSnapshot(to).catalogRoot))
  }

  /**
   * Moves used pages toward the start of the file and truncates it, giving freed space back to
   * the file system. Crash-safe (each step is a synced commit), interruptible through `signal`
   * (the next vacuum goes on where it stopped) and reports progress. Fails with
   * `CARTRIDGE_LOCKED` while a SQLite database is open or a write stream is in progress.
   */
  async vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    this.#allow(Action.Vacuum)
    if (this.#closed) throw closedError()
    if (this.#engine.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    return this.#queue.exclusive(async () => {
      this.#refuseWithDatabases('vacuum')
      if (this.#writers.size > 0) throw new CartridgeError(ErrorCodes.LOCKED, 'a write stream is in progress; vacuum when it ends')
      return this.#asWhile(() => vacuumEngine({ engine: this.#engine, pause: () => new Promise((r) => setImmediate(r)) }, options))
    })
  }

  #refuseWithDatabases(what: string): void {
    if (this.#mount && this.#mount.databases.size > 0) {
      throw new CartridgeError(ErrorCodes.LOCKED, `cannot ${what} while a SQLite database in the container is open; close it first`)
    }
  }

  /** Applies `op` in a commit of its own, after every write issued before it and before any issued after. */
  #exclusiveCommit<T>(op: (e: Engine) => T): Promise<T> {
    if (this.#closed) return Promise.reject(closedError())
    return this.#queue.alone(this.#as(op))
  }

  // ---- audit log ----------------------------------------------------------------------

  /**
   * Switches the audit log on: from the next operation, every change (write, delete, rename,
   * snapshot create/restore/delete, vacuum, database commit, compression and key changes, a
   * freeze) appends an entry inside the container in the same commit as the change itself, so
   * neither exists without the other. With `reads: true`, content reads are logged too (each read
   * then commits its entry before it returns). Once on, the log stays on: calling this again
   * only changes `reads`, and that change is logged.
   */
  enableAuditLogging(options: { reads?: boolean } = {}): Promise<void> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    return this.#exclusiveCommit((e) => e.audit.enable(options.reads === true))
  }

  protected override logsReads(): boolean {
    return this.#engine.audit.logsReads && !this.#engine.store.readOnly
  }

  /** The committed log's head: size and Merkle root (RFC 9162), base of the stored part, and whether it is on. Keep heads to check later that the log only grew. */
  async auditHead(): Promise<AuditStatus> {
    this.#allow(Action.AuditRead)
    return this.view((e) => auditStatus(e))
  }

  /**
   * Recomputes the audit log from its stored entries and reports the first entry found changed,
   * missing, inserted or moved; `trusted` heads and signed checkpoints kept from earlier must be
   * prefixes of it (which a rewrite of the whole log cannot fake).
   */
  async verifyAudit(options: VerifyAuditOptions = {}): Promise<AuditReport> {
    this.#allow(Action.AuditRead)
    if (this.#closed) throw closedError()
    await this.#queue.settled()
    return this.#queue.exclusive(async () => verifyAuditLog(() => this.#engine, options, () => new Promise((r) => setImmediate(r))))
  }

  /** Entries of the audit log, oldest first, read in batches (bounded memory), filtered by `query`. */
  async *auditLog(query: AuditQuery = {}): AsyncGenerator<AuditEntry> {
    this.#allow(Action.AuditRead)
    let next = query.from ?? 0
    for (;;) {
      throwIfAborted(query.signal)
      const batch = await this.view((e) => auditBatch(e, next, 512))
      for (const entry of batch) if (matchesQuery(entry, query)) yield entry
      if (batch.length < 512) return
      next = batch[batch.length - 1].index + 1
    }
  }

  /** Proof that entry `index` is in the log (check it with `verifyAuditInclusion`, without the container). */
  async auditInclusionProof(index: number): Promise<AuditInclusionProof> {
    this.#allow(Action.AuditRead)
    return this.view((e) => auditInclusionProof(e, index))
  }

  /** Proof that the log of an older head (or of its first `oldSize` entries) is a prefix of today's (check with `verifyAuditConsistency`). */
  async auditConsistencyProof(old: number | AuditHead): Promise<AuditConsistencyProof> {
    this.#allow(Action.AuditRead)
    return this.view((e) => auditConsistencyProof(e, typeof old === 'number' ? old : old.size))
  }

  /**
   * Signs the current head with an Ed25519 key and logs that it did: hand the checkpoint to
   * someone outside, and `verifyAudit({ trusted: [checkpoint], publicKey })` later proves the
   * log still extends it.
   */
  auditCheckpoint(options: { secretKey: Uint8Array }): Promise<AuditCheckpoint> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    return this.#exclusiveCommit((e) => {
      const status = auditStatus(e)
      if (!status.enabled) throw new CartridgeError(ErrorCodes.NOT_FOUND, 'audit logging is not enabled in this container')
      const working = e.audit.working!
      const cp = signCheckpoint(Buffer.from(e.meta.uuid).toString('hex'), working, options.secretKey)
      e.note({ action: 'audit.checkpoint', detail: `size ${cp.size} key ${cp.keyId}` })
      return cp
    })
  }

  /**
   * Moves the stored audit entries into a signed engram archive at `file` and drops them from
   * the container; the log goes on with the same roots (its next entry records the rotation), so
   * the chain is unbroken: the archive's manifest holds the head the container continues from.
   */
  rotateAudit(file: string, options: RotateAuditOptions): Promise<RotateAuditResult> {
    const denied = this.#refused(Action.ContainerAdmin)
    if (denied) return denied
    if (this.#closed) return Promise.reject(closedError())
    return this.#queue.exclusive(async () => {
      this.#queue.flushNow(this.#engine.options.durability === 'full')
      return this.#asWhile(() => rotateAuditLog(this.#engine, resolve(file), options))
    })
  }

  /** Commits anything pending and makes every commit so far durable (one fsync). */
  async flush(): Promise<void> {
    if (this.#closed) throw closedError()
    await this.#queue.settled()
    if (this.#engine.store.readOnly) return
    await this.#queue.exclusive(async () => this.#queue.flushNow(true))
  }

  /**
   * Walks the committed state and reports structural problems (see {@link CheckReport}).
   * With `data: true` it also reads and verifies every content chunk.
   */
  async check(options: { data?: boolean } = {}): Promise<CheckReport> {
    this.#allow(Action.ContainerAdmin)
    if (this.#closed) throw closedError()
    await this.#queue.settled()
    return this.#queue.exclusive(async () => checkEngine(this.#engine, options))
  }

  /**
   * A readable stream of a file's content (or `[start, end]` inclusive, like `fs`), read up to
   * 1 MiB at a time and handed on in pieces of at most 64 KiB. If the file is replaced while
   * streaming, the stream fails with `CARTRIDGE_CONFLICT`.
   */
  createReadStream(path: string, options: { start?: number; end?: number; signal?: AbortSignal } = {}): Readable {
    const p = normalizeFilePath(path)
    this.#allow(Action.Read, p)
    const self = this
    const logged = this.logsReads()
    const note = this.#as((e: Engine) => e.note({ action: 'read', path: p, size: e.files.record(p)?.size, detail: 'stream' }))
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const first = await self.view((e, at) => {
        const r = e.files.record(p, at)
        if (!r) throw new CartridgeError(e.files.isDirectory(p, at) ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND, `no such file: ${p}`, { path: p })
        return { size: r.size, modified: new Date(r.modified) }
      })
      if (logged) await self.#queue.mutate(note)
      let pos = options.start ?? 0
      const end = Math.min(first.size, options.end === undefined ? first.size : options.end + 1)
      while (pos < end) {
        throwIfAborted(options.signal)
        // Up to STREAM_READ bytes per look at the container (one record lookup, one run of reads),
        // handed on a 64 KiB chunk at a time.
        const bytes = await self.view((e, at) => {
          const r = e.files.record(p, at)
          if (!r || r.modified !== first.modified.getTime() || r.size !== first.size) {
            throw new CartridgeError(ErrorCodes.CONFLICT, `${p} changed while it was being read`, { path: p })
          }
          const length = Math.min(STREAM_READ - (pos % CHUNK_SIZE), end - pos)
          checkReadRange(p, pos, length)
          return readContent(e, r, p, pos, length)
        })
        for (let at = 0; at < bytes.length; ) {
          const n = Math.min(CHUNK_SIZE - ((pos + at) % CHUNK_SIZE), bytes.length - at)
          yield bytes.subarray(at, at + n)
          at += n
        }
        pos += bytes.length
      }
    }
    return Readable.from(chunks(), { objectMode: false })
  }

  /**
   * A writable stream that stores a file in 64 KiB chunks as they arrive (bounded memory). The
   * file appears, atomically, when the stream finishes; if the stream is destroyed or fails,
   * nothing changes and the space is given back.
   */
  createWriteStream(path: string, options: WriteStreamOptions = {}): Writable {
    const p = normalizeFilePath(path)
    if (this.#closed) throw closedError()
    this.#allow(Action.Write, p)
    if (options.layout !== undefined && options.layout !== 'chunks' && options.layout !== 'pages') {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "layout must be 'chunks' or 'pages'", { path: p })
    }
    const setting = compressionOption(options.compression)
    const codec = setting === undefined ? this.#engine.defaultCodec : setting === null ? undefined : this.#engine.codecFor(setting)
    const access = this.access()
    const writer = new ChunkWriter(this.#engine, (op) => this.#queue.mutate(this.#as(op)), p, options.layout === 'pages', codec, (size) => access.check(Action.Write, p, size))
    this.#writers.add(writer)
    const done = () => this.#writers.delete(writer)
    return new Writable({
      signal: options.signal,
      write: (chunk: Buffer | Uint8Array, _enc, cb) => {
        writer.push(chunk).then(() => cb(), cb)
      },
      final: (cb) => {
        writer.finish().then(() => (done(), cb()), (err) => (done(), cb(err)))
      },
      destroy: (err, cb) => {
        writer.abort()
        done()
        cb(err)
      },
    })
  }

  /** Commits what is pending, syncs, and releases the file and its lock. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      try {
        this.#queue.refuseInsideHolder('close()')
      } catch (err) {
        return Promise.reject(err)
      }
      this.#closing = this.#close()
    }
    return this.#closing
  }

  async #close(): Promise<void> {
    await this.#queue.settled()
    await this.#queue.exclusive(async () => {
      for (const w of this.#writers) w.abort()
      let failure: unknown
      try {
        this.#queue.unlocked(() => this.#mount?.close())
      } catch (err) {
        failure = err
      }
      this.#closed = true
      try {
        if (!this.#engine.store.readOnly) this.#queue.flushNow(true)
      } finally {
        this.#engine.store.close()
      }
      if (failure) throw failure
    })
  }

  /** `await using cart = await Cartridge.open(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/**
 * The policy stored in the container, if any. A stored policy that cannot be read is damage:
 * opening fails rather than run without it.
 */
function storedPolicy(engine: Engine): Policy | undefined {
  const bytes = engine.storedPolicy
  if (!bytes) return undefined
  try {
    return Policy.fromJSON(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)))
  } catch (err) {
    throw new CartridgeError(ErrorCodes.CORRUPT, 'the access policy stored in the container cannot be read; it is not opened without it', { cause: err })
  }
}

/** Switches the audit log on in a new container, as its second commit, when the options ask for it. */
function startAuditLog(engine: Engine, options: CreateOptions): void {
  if (!options.auditLog) return
  const reads = typeof options.auditLog === 'object' && options.auditLog.reads === true
  engine.apply(() => engine.audit.enable(reads))
  engine.commit(engine.options.durability === 'full')
}

function snapshotInfo(s: SnapshotEntry): SnapshotInfo {
  return { id: s.id, name: s.name, created: new Date(s.created), txn: s.txn, fileCount: s.fileCount }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'operation was aborted', { cause: signal.reason })
}

function closedError(): CartridgeError {
  return new CartridgeError(ErrorCodes.CLOSED, 'container is closed')
}
