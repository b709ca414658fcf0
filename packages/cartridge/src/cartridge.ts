import type { Readable, Writable } from 'node:stream'
import { normalizeFilePath } from '@cartridge/core'
import type { PageStore, RecoveryNote } from '@cartridge/pager'
import type { CatalogVersion } from '@cartridge/catalog'
import type { CheckReport, ContentStats, EncryptionSetting, Engine, VacuumOptions, VacuumResult } from '@cartridge/engine'
import type { KeySource } from '@cartridge/crypto'
import type { EngramSummary } from '@cartridge/engram'
import type { Codec, CodecName, CodecOptions } from '@cartridge/codec'
import type { AuditEntry } from '@cartridge/audit'
import { Action, type Policy } from '@cartridge/iam'
import type { Database, OpenDatabaseOptions } from '@cartridge/vfs'
import type {
  CartridgeInfo, CreateOptions, OpenOptions, RecompressOptions, RecompressResult, RestoreOptions, ScanOptions, SnapshotInfo,
  SnapshotListing, TransactionOptions, WriteStreamOptions,
} from './cartridge-options.js'
import { CartridgeCore, closedError } from './cartridge-core.js'
import { containerOfStore, createContainer, openContainer, type OpenedEngine } from './cartridge-open.js'
import type { ResealOptions } from './reseal-file.js'
import { freezeContainer, type FreezeOptions } from './freeze.js'
import { fromEngram } from './engram-import.js'
import { FileOps, type Access } from './file-ops.js'
import { runTransaction, type Transaction } from './transaction.js'
import { scanPaths } from './path-scan.js'
import { SnapshotView } from './snapshot-view.js'
import type { SnapshotChange } from './snapshot-diff.js'
import { createSnapshot, deleteSnapshot, diffSnapshots, listSnapshots, restoreSnapshot } from './snapshot-api.js'
import { changeKey, enableEncryption, rekey } from './encryption-api.js'
import { enableCompression, recompress } from './compression-api.js'
import { createReadStream, createWriteStream } from './content-streams.js'
import { check, containerInfo, flush, storedContentStats, vacuum } from './maintenance-api.js'
import type {
  AuditCheckpoint, AuditConsistencyProof, AuditHead, AuditInclusionProof, AuditQuery, AuditReport, AuditStatus, VerifyAuditOptions,
} from './audit-api.js'
import {
  auditCheckpoint, auditEntries, auditHead, consistencyProof, enableAuditLogging, inclusionProof, rotateAudit, verifyAudit,
} from './audit-ops.js'
import type { RotateAuditOptions, RotateAuditResult } from './audit-rotate.js'
import { AccessGuard, type RequestContext } from './access-guard.js'
import { contextView, getPolicy, setPolicy } from './policy-api.js'

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
    return contextView(this, this.#core.guard, context)
  }

  /**
   * Sets the access policy every later call is decided by (`null`: none, everything allowed). With
   * `persist`, it is stored in the container, in one commit, and other processes and the CLI
   * opening it enforce it; otherwise it holds for this handle only. Changing the policy is itself
   * the `policy:admin` action, decided by the policy in force. Takes effect for the next call.
   */
  setPolicy(policy: Policy | null, options: { persist?: boolean } = {}): Promise<void> {
    return setPolicy(this.#core, policy, options)
  }

  /** The access policy in force (undefined: none). Reading it is the `policy:admin` action. */
  getPolicy(): Policy | undefined {
    return getPolicy(this.#core)
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
    return Cartridge.#wrap(createContainer(slug, title, options))
  }

  /** Opens an existing container file. */
  static async open(file: string, options: OpenOptions = {}): Promise<Cartridge> {
    return Cartridge.#wrap(openContainer(file, options))
  }

  /**
   * Creates or opens a container over any {@link PageStore} (memory, fault-injecting, your own).
   * With `create`, the store must be empty.
   */
  static async fromStore(store: PageStore, options: CreateOptions & { create?: { slug: string; title?: string } } = {}): Promise<Cartridge> {
    return Cartridge.#wrap(containerOfStore(store, options))
  }

  /** The public handle of an engine just created or opened. */
  static #wrap(opened: OpenedEngine): Cartridge {
    return new Cartridge(opened.engine, opened.path, opened.keys)
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
    return runTransaction(this.#core, body, options, this.access())
  }

  /** Streams every file path under `prefix` in byte order, fetching `batchSize` at a time (bounded memory). */
  async *scan(prefix = '/', options: ScanOptions = {}): AsyncGenerator<string> {
    yield* scanPaths(this.#core, this.access(), prefix, options)
  }

  /** Size, free space, file count, snapshots and what a vacuum would reclaim. */
  info(): Promise<CartridgeInfo> {
    return containerInfo(this.#core)
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
    return fromEngram(file, options, (title) => Cartridge.create(slug, title, options))
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
  contentStats(options: { signal?: AbortSignal } = {}): Promise<ContentStats> {
    return storedContentStats(this.#core, options)
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
  vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    return vacuum(this.#core, options)
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
    return enableAuditLogging(this.#core, options)
  }

  protected override logsReads(): boolean {
    return this.#core.engine.audit.logsReads && !this.#core.engine.store.readOnly
  }

  /** The committed log's head: size and Merkle root (RFC 9162), base of the stored part, and whether it is on. Keep heads to check later that the log only grew. */
  auditHead(): Promise<AuditStatus> {
    return auditHead(this.#core)
  }

  /**
   * Recomputes the audit log from its stored entries and reports the first entry found changed,
   * missing, inserted or moved; `trusted` heads and signed checkpoints kept from earlier must be
   * prefixes of it (which a rewrite of the whole log cannot fake).
   */
  verifyAudit(options: VerifyAuditOptions = {}): Promise<AuditReport> {
    return verifyAudit(this.#core, options)
  }

  /** Entries of the audit log, oldest first, read in batches (bounded memory), filtered by `query`. */
  auditLog(query: AuditQuery = {}): AsyncGenerator<AuditEntry> {
    return auditEntries(this.#core, query)
  }

  /** Proof that entry `index` is in the log (check it with `verifyAuditInclusion`, without the container). */
  auditInclusionProof(index: number): Promise<AuditInclusionProof> {
    return inclusionProof(this.#core, index)
  }

  /** Proof that the log of an older head (or of its first `oldSize` entries) is a prefix of today's (check with `verifyAuditConsistency`). */
  auditConsistencyProof(old: number | AuditHead): Promise<AuditConsistencyProof> {
    return consistencyProof(this.#core, old)
  }

  /**
   * Signs the current head with an Ed25519 key and logs that it did: hand the checkpoint to
   * someone outside, and `verifyAudit({ trusted: [checkpoint], publicKey })` later proves the
   * log still extends it.
   */
  auditCheckpoint(options: { secretKey: Uint8Array }): Promise<AuditCheckpoint> {
    return auditCheckpoint(this.#core, options)
  }

  /**
   * Moves the stored audit entries into a signed engram archive at `file` and drops them from
   * the container; the log goes on with the same roots (its next entry records the rotation), so
   * the chain is unbroken: the archive's manifest holds the head the container continues from.
   */
  rotateAudit(file: string, options: RotateAuditOptions): Promise<RotateAuditResult> {
    return rotateAudit(this.#core, file, options)
  }

  /** Commits anything pending and makes every commit so far durable (one fsync). */
  flush(): Promise<void> {
    return flush(this.#core)
  }

  /**
   * Walks the committed state and reports structural problems (see {@link CheckReport}).
   * With `data: true` it also reads and verifies every content chunk.
   */
  check(options: { data?: boolean } = {}): Promise<CheckReport> {
    return check(this.#core, options)
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
    return this.#core.close()
  }

  /** `await using cart = await Cartridge.open(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
