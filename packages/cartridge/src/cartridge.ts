import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { CartridgeError, ErrorCodes, directoryPrefix, normalizeFilePath, normalizePath } from '@cartridge/core'
import { MAX_TITLE_BYTES, PAGE_SIZE, type PageStore, type RecoveryNote } from '@cartridge/pager'
import type { CatalogVersion } from '@cartridge/catalog'
import {
  Engine, checkEngine, contentStats, keySource, untilAborted, vacuumEngine,
  type CheckReport, type ContentStats, type EncryptionSetting, type VacuumOptions, type VacuumResult,
} from '@cartridge/engine'
import type { KeySource } from '@cartridge/crypto'
import { Engram, type EngramSummary } from '@cartridge/engram'
import type { Codec, CodecName, CodecOptions } from '@cartridge/codec'
import type { AuditEntry } from '@cartridge/audit'
import { Action, Policy } from '@cartridge/iam'
import type { Database, OpenDatabaseOptions } from '@cartridge/vfs'
import {
  openStore, validateSlug, type CartridgeInfo, type CreateOptions, type OpenOptions, type RecompressOptions, type RecompressResult,
  type RestoreOptions, type ScanOptions, type SnapshotInfo, type SnapshotListing, type TransactionOptions, type WriteStreamOptions,
} from './cartridge-options.js'
import { CartridgeCore, closedError, throwIfAborted } from './cartridge-core.js'
import type { ResealOptions } from './reseal-file.js'
import { freezeContainer, type FreezeOptions } from './freeze.js'
import { FileOps, type Access } from './file-ops.js'
import { Transaction } from './transaction.js'
import { SnapshotView } from './snapshot-view.js'
import type { SnapshotChange } from './snapshot-diff.js'
import { createSnapshot, deleteSnapshot, diffSnapshots, listSnapshots, restoreSnapshot } from './snapshot-api.js'
import { changeKey, enableEncryption, rekey } from './encryption-api.js'
import { enableCompression, recompress } from './compression-api.js'
import { createReadStream, createWriteStream } from './content-streams.js'
import {
  auditBatch, auditConsistencyProof, auditInclusionProof, auditStatus, matchesQuery, signCheckpoint, verifyAuditLog,
  type AuditCheckpoint, type AuditConsistencyProof, type AuditHead, type AuditInclusionProof, type AuditQuery, type AuditReport,
  type AuditStatus, type VerifyAuditOptions,
} from './audit-api.js'
import { rotateAuditLog, type RotateAuditOptions, type RotateAuditResult } from './audit-rotate.js'
import { AccessGuard, type RequestContext } from './access-guard.js'

/**
 * A container of files in one file. Every mutating call is atomic and, with the default
 * `durability: 'full'`, durable when its promise resolves; calls made in the same tick share one
 * commit. Reads see every write whose promise was created before them.
 */
export class Cartridge extends FileOps {
  readonly #core: CartridgeCore

  private constructor(engine: Engine, path: string | undefined, keys?: KeySource, guard = new AccessGuard()) {
    super()
    this.#core = new CartridgeCore(engine, path, keys, guard)
  }

  protected override access(): Access {
    return this.#core.guard.bound()
  }

  /**
   * A view of this container whose calls carry `context` (principal, tags, source): the policy's
   * conditions see it, and the audit log records its principal. The view has every method of the
   * container; closing it closes the container.
   */
  as(context: RequestContext): Cartridge {
    if (typeof context !== 'object' || context === null) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'as() takes a context object: { principal?, tags?, source? }')
    const guard = this.#core.guard
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
    if (this.#core.closed) throw closedError()
    if (policy !== null && !(policy instanceof Policy)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'setPolicy takes a Policy (Policy.fromJSON for its JSON form) or null')
    this.#core.allow(Action.PolicyAdmin)
    if (options.persist) {
      const json = policy ? new TextEncoder().encode(JSON.stringify(policy.toJSON())) : undefined
      await this.#core.queue.alone(this.#core.as((e) => {
        e.setStoredPolicy(json)
        e.note({ action: 'policy.set', detail: policy ? `${policy.name} (${policy.statements.length} statements)` : 'none' })
      }))
    }
    this.#core.guard.policy = policy ?? undefined
  }

  /** The access policy in force (undefined: none). Reading it is the `policy:admin` action. */
  getPolicy(): Policy | undefined {
    this.#core.allow(Action.PolicyAdmin)
    return this.#core.guard.policy
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
    this.#core.allow(options.readonly ? Action.SqliteRead : Action.SqliteWrite, normalizeFilePath(path))
    return this.#core.databaseMount().open(path, options)
  }

  /**
   * The file name SQLite knows the database at `path` by, to `ATTACH` it to a connection of
   * this container: `db.prepare('ATTACH DATABASE ? AS other').run(cart.sqliteName('/other.db'))`.
   */
  sqliteName(path: string): string {
    // An attached database can be written through the connection it is attached to.
    this.#core.allow(Action.SqliteWrite, normalizeFilePath(path))
    return this.#core.databaseMount().nameOf(path)
  }

  /** Connections opened by {@link sqlite} and not closed yet. */
  get databases(): readonly Database[] {
    return this.#core.mount ? [...this.#core.mount.databases] : []
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
    return this.#core.engine.meta.slug
  }

  /** The container's title. */
  title(): string {
    return this.#core.engine.meta.title
  }

  /** Absolute path of the container file (undefined for a custom store). */
  get path(): string | undefined {
    return this.#core.path
  }

  /**
   * Set when open could not use the newest commit as it is: the newest commit failed
   * verification and the previous one was opened (`skippedTxn` says which was skipped), or a meta
   * page is damaged. Expected after a crash in the middle of a commit (that commit was never
   * acknowledged); otherwise a sign of damage worth a `check()`. Undefined for a clean open.
   */
  get recovery(): RecoveryNote | undefined {
    return this.#core.engine.recovery
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#core.closed
  }

  protected mutate<T>(op: (e: Engine) => T): Promise<T> {
    return this.#core.mutate(op)
  }

  protected view<T>(read: (e: Engine, at: CatalogVersion | undefined) => T): Promise<T> {
    return this.#core.view(read)
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
    if (this.#core.closed) throw closedError()
    const { signal } = options
    throwIfAborted(signal)
    const access = this.access()
    const principal = this.#core.guard.principal
    return this.#core.queue.exclusive(async () => {
      throwIfAborted(signal)
      const tx = new Transaction(this.#core.engine, access, principal)
      let result: T
      try {
        result = await untilAborted(Promise.resolve().then(() => body(tx)), signal)
      } catch (err) {
        tx.end()
        this.#core.engine.abort()
        throw err
      }
      tx.end()
      this.#core.engine.commit(this.#core.durable)
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
    this.#core.allow(Action.Metadata)
    return this.view((e) => {
      const { totalPages, freePages } = e.alloc
      return {
        slug: e.meta.slug, title: e.meta.title, path: this.#core.path, sizeBytes: totalPages * 4096, totalBlocks: totalPages, freeBlocks: freePages,
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
    return enableCompression(this.#core, codec, options)
  }

  /**
   * Encrypts an unencrypted container (AES-256-GCM; spec §25) with a 32-byte key (`Uint8Array` or `{ key }`) or
   * `{ passphrase }`: every file, every snapshot and every database is rewritten sealed into a new file
   * beside it, which replaces the container in one atomic rename. A crash or an abort at any point
   * leaves the container as it was, or encrypted whole. Needs free disk space for the copy; the
   * copy is also compacted (as after a vacuum). Later opens need the key or passphrase.
   */
  enableEncryption(key: Uint8Array | EncryptionSetting, options: ResealOptions = {}): Promise<void> {
    return enableEncryption(this.#core, key, options)
  }

  /**
   * A fresh data key: every page is sealed again under it, the same way as `enableEncryption`
   * (a new file renamed over the container; crash-safe and abortable). The key or passphrase
   * stays; use it when a data key may have leaked, or after very many writes.
   */
  rekey(options: ResealOptions = {}): Promise<void> {
    return rekey(this.#core, options)
  }

  /**
   * Changes the key or passphrase that opens the container. O(1): the data key is wrapped again
   * in the meta pages and no data is rewritten; after it resolves, only the new one opens the
   * container. (A copy of the file taken before still opens with the old one: use `rekey` as well
   * when the old passphrase leaked.)
   */
  changeKey(key: Uint8Array | EncryptionSetting): Promise<void> {
    return changeKey(this.#core, key)
  }

  /**
   * Freezes the last commit (or `options.snapshot`) into an engram at `file`: an immutable,
   * Ed25519-signed archive that anyone with the public key can verify, file by file. Files are
   * read a piece at a time (bounded memory); SQLite databases are included as the database
   * files of their last commit. An encrypted container freezes to a plain (signed, not
   * encrypted) engram. Writes to the container wait until the freeze ends.
   */
  freezeToEngram(file: string, options: FreezeOptions): Promise<EngramSummary> {
    return freezeContainer(this.#core, file, options)
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

  /**
   * Rewrites every live file's content with `codec` (default: the container's codec), one file
   * per commit, so what was stored raw or with another codec is compressed the same way. Files
   * keep their times; paged files (SQLite databases) and inline files are left as they are.
   * Snapshots keep the old versions until they are deleted. Stops between files on `signal`.
   */
  recompress(options: RecompressOptions = {}): Promise<RecompressResult> {
    return recompress(this.#core, options, () => this.list('/'))
  }

  /**
   * How much the live files' content takes as stored (compressed) against its size, from the
   * chunk records (no content is read; O(files + chunk-map pages)).
   */
  async contentStats(options: { signal?: AbortSignal } = {}): Promise<ContentStats> {
    this.#core.allow(Action.Metadata)
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
    return createSnapshot(this.#core, name)
  }

  /** A read-only view of snapshot `ref` (its id, or its name, looked up at the view's first read). */
  snapshot(ref: number | string): SnapshotView {
    if (this.#core.closed) throw closedError()
    return new SnapshotView(ref, (read) => this.view((e) => read(e)), this.access())
  }

  /** Every snapshot, oldest first, with the bytes only it holds (from birth txns; one walk over every root after a restore). */
  listSnapshots(): Promise<SnapshotListing[]> {
    return listSnapshots(this.#core)
  }

  /**
   * Makes snapshot `ref` the container's state, as one atomic commit. Other snapshots, older or
   * newer, stay as they are; restoring another one undoes it. Fails with `CARTRIDGE_LOCKED`
   * while a SQLite database in the container is open.
   */
  restoreSnapshot(ref: number | string, options: RestoreOptions = {}): Promise<SnapshotInfo> {
    return restoreSnapshot(this.#core, ref, options)
  }

  /** Deletes snapshot `ref` and frees exactly the pages nothing else holds; resolves to the bytes freed. */
  deleteSnapshot(ref: number | string): Promise<{ freedBytes: number }> {
    return deleteSnapshot(this.#core, ref)
  }

  /**
   * What changed between two snapshots, or between a snapshot and the live state (`to` left
   * out): paths added, removed or changed, in path order.
   */
  diffSnapshots(from: number | string, to?: number | string): Promise<SnapshotChange[]> {
    return diffSnapshots(this.#core, from, to)
  }

  /**
   * Moves used pages toward the start of the file and truncates it, giving freed space back to
   * the file system. Crash-safe (each step is a synced commit), interruptible through `signal`
   * (the next vacuum goes on where it stopped) and reports progress. Fails with
   * `CARTRIDGE_LOCKED` while a SQLite database is open or a write stream is in progress.
   */
  async vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    this.#core.allow(Action.Vacuum)
    if (this.#core.closed) throw closedError()
    if (this.#core.engine.store.readOnly) throw new CartridgeError(ErrorCodes.READ_ONLY, 'container is open read-only')
    return this.#core.queue.exclusive(async () => {
      this.#core.refuseWithDatabases('vacuum')
      this.#core.refuseWithWriters('vacuum')
      return this.#core.asWhile(() => vacuumEngine({ engine: this.#core.engine, pause: () => new Promise((r) => setImmediate(r)) }, options))
    })
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
    const denied = this.#core.refused(Action.ContainerAdmin)
    if (denied) return denied
    return this.#core.exclusiveCommit((e) => e.audit.enable(options.reads === true))
  }

  protected override logsReads(): boolean {
    return this.#core.engine.audit.logsReads && !this.#core.engine.store.readOnly
  }

  /** The committed log's head: size and Merkle root (RFC 9162), base of the stored part, and whether it is on. Keep heads to check later that the log only grew. */
  async auditHead(): Promise<AuditStatus> {
    this.#core.allow(Action.AuditRead)
    return this.view((e) => auditStatus(e))
  }

  /**
   * Recomputes the audit log from its stored entries and reports the first entry found changed,
   * missing, inserted or moved; `trusted` heads and signed checkpoints kept from earlier must be
   * prefixes of it (which a rewrite of the whole log cannot fake).
   */
  async verifyAudit(options: VerifyAuditOptions = {}): Promise<AuditReport> {
    this.#core.allow(Action.AuditRead)
    if (this.#core.closed) throw closedError()
    await this.#core.queue.settled()
    return this.#core.queue.exclusive(async () => verifyAuditLog(() => this.#core.engine, options, () => new Promise((r) => setImmediate(r))))
  }

  /** Entries of the audit log, oldest first, read in batches (bounded memory), filtered by `query`. */
  async *auditLog(query: AuditQuery = {}): AsyncGenerator<AuditEntry> {
    this.#core.allow(Action.AuditRead)
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
    this.#core.allow(Action.AuditRead)
    return this.view((e) => auditInclusionProof(e, index))
  }

  /** Proof that the log of an older head (or of its first `oldSize` entries) is a prefix of today's (check with `verifyAuditConsistency`). */
  async auditConsistencyProof(old: number | AuditHead): Promise<AuditConsistencyProof> {
    this.#core.allow(Action.AuditRead)
    return this.view((e) => auditConsistencyProof(e, typeof old === 'number' ? old : old.size))
  }

  /**
   * Signs the current head with an Ed25519 key and logs that it did: hand the checkpoint to
   * someone outside, and `verifyAudit({ trusted: [checkpoint], publicKey })` later proves the
   * log still extends it.
   */
  auditCheckpoint(options: { secretKey: Uint8Array }): Promise<AuditCheckpoint> {
    const denied = this.#core.refused(Action.ContainerAdmin)
    if (denied) return denied
    return this.#core.exclusiveCommit((e) => {
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
    const denied = this.#core.refused(Action.ContainerAdmin)
    if (denied) return denied
    if (this.#core.closed) return Promise.reject(closedError())
    return this.#core.queue.exclusive(async () => {
      this.#core.queue.flushNow(this.#core.durable)
      return this.#core.asWhile(() => rotateAuditLog(this.#core.engine, resolve(file), options))
    })
  }

  /** Commits anything pending and makes every commit so far durable (one fsync). */
  async flush(): Promise<void> {
    if (this.#core.closed) throw closedError()
    await this.#core.queue.settled()
    if (this.#core.engine.store.readOnly) return
    await this.#core.queue.exclusive(async () => this.#core.queue.flushNow(true))
  }

  /**
   * Walks the committed state and reports structural problems (see {@link CheckReport}).
   * With `data: true` it also reads and verifies every content chunk.
   */
  async check(options: { data?: boolean } = {}): Promise<CheckReport> {
    this.#core.allow(Action.ContainerAdmin)
    if (this.#core.closed) throw closedError()
    await this.#core.queue.settled()
    return this.#core.queue.exclusive(async () => checkEngine(this.#core.engine, options))
  }

  /**
   * A readable stream of a file's content (or `[start, end]` inclusive, like `fs`), read up to
   * 1 MiB at a time and handed on in pieces of at most 64 KiB. If the file is replaced while
   * streaming, the stream fails with `CARTRIDGE_CONFLICT`.
   */
  createReadStream(path: string, options: { start?: number; end?: number; signal?: AbortSignal } = {}): Readable {
    return createReadStream(this.#core, path, options, this.logsReads())
  }

  /**
   * A writable stream that stores a file in 64 KiB chunks as they arrive (bounded memory). The
   * file appears, atomically, when the stream finishes; if the stream is destroyed or fails,
   * nothing changes and the space is given back.
   */
  createWriteStream(path: string, options: WriteStreamOptions = {}): Writable {
    return createWriteStream(this.#core, path, options, this.access())
  }

  /** Commits what is pending, syncs, and releases the file and its lock. Idempotent. */
  close(): Promise<void> {
    if (!this.#core.closing) {
      try {
        this.#core.queue.refuseInsideHolder('close()')
      } catch (err) {
        return Promise.reject(err)
      }
      this.#core.closing = this.#close()
    }
    return this.#core.closing
  }

  async #close(): Promise<void> {
    await this.#core.queue.settled()
    await this.#core.queue.exclusive(async () => {
      for (const w of this.#core.writers) w.abort()
      let failure: unknown
      try {
        this.#core.queue.unlocked(() => this.#core.mount?.close())
      } catch (err) {
        failure = err
      }
      this.#core.closed = true
      try {
        if (!this.#core.engine.store.readOnly) this.#core.queue.flushNow(true)
      } finally {
        this.#core.engine.store.close()
      }
      if (failure) throw failure
    })
  }

  /** `await using cart = await Cartridge.open(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** Switches the audit log on in a new container, as its second commit, when the options ask for it. */
function startAuditLog(engine: Engine, options: CreateOptions): void {
  if (!options.auditLog) return
  const reads = typeof options.auditLog === 'object' && options.auditLog.reads === true
  engine.apply(() => engine.audit.enable(reads))
  engine.commit(engine.options.durability === 'full')
}
