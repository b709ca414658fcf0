import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { CatalogVersion } from '@cartridge/catalog'
import { CommitQueue, type ChunkWriter, type Engine } from '@cartridge/engine'
import type { KeySource } from '@cartridge/crypto'
import { SqliteHost, type DatabaseMount } from '@cartridge/vfs'
import { Policy } from '@cartridge/iam'
import { ContainerDatabaseStore } from './container-database-store.js'
import type { AccessGuard } from './access-guard.js'

/**
 * The state of an open container that its parts share (the public `Cartridge`, and its snapshot,
 * encryption, compression, stream, engram, transaction, audit, policy and maintenance operations
 * in their own files): the engine and its commit queue, the key it was opened with, the SQLite
 * mount, open write streams, and the access guard, with the checks every operation makes before
 * it runs, and closing. Not part of the public API.
 */
export class CartridgeCore {
  engine: Engine
  readonly queue: CommitQueue
  /** Absolute path of the container file (undefined for a custom store). */
  readonly path: string | undefined
  closed = false
  closing: Promise<void> | undefined
  /** Write streams in progress. */
  readonly writers = new Set<ChunkWriter>()
  /** The key or passphrase the container was opened or created with (a rekey wraps the new data key with it). */
  keys: KeySource | undefined
  mount: DatabaseMount | undefined
  /** The access policy in force and the request context of each call. */
  readonly guard: AccessGuard

  constructor(engine: Engine, path: string | undefined, keys: KeySource | undefined, guard: AccessGuard) {
    this.engine = engine
    this.path = path
    this.keys = keys
    this.queue = new CommitQueue(engine, () => this.durable)
    this.guard = guard
    this.guardDatabases(engine)
    guard.policy = storedPolicy(engine)
  }

  /** Whether commits are synced (`durability: 'full'`). */
  get durable(): boolean {
    return this.engine.options.durability === 'full'
  }

  /** Checks `action` on `path` (default `/`) for the call being made; throws `CARTRIDGE_ACCESS_DENIED`. */
  allow(action: string, path = '/'): void {
    this.guard.check(action, path)
  }

  /** {@link allow} for a method that returns a promise: the rejection when refused, else undefined. */
  refused(action: string, path = '/'): Promise<never> | undefined {
    try {
      this.allow(action, path)
      return undefined
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** `op` run with the caller's principal as the principal of the audit entries it appends. */
  as<T>(op: (e: Engine) => T): (e: Engine) => T {
    const principal = this.guard.principal
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
   * Runs the body of an operation that holds the writer for a while (vacuum, rotation) with the
   * caller's principal on the audit entries it appends.
   */
  async asWhile<T>(body: () => Promise<T>): Promise<T> {
    const e = this.engine
    e.audit.principal = this.guard.principal
    try {
      return await body()
    } finally {
      e.audit.principal = undefined
    }
  }

  /** Applies `op` in the next commit, with the caller's principal. */
  mutate<T>(op: (e: Engine) => T): Promise<T> {
    if (this.closed) return Promise.reject(closedError())
    return this.queue.mutate(this.as(op))
  }

  /** Applies `op` in a commit of its own, after every write issued before it and before any issued after. */
  exclusiveCommit<T>(op: (e: Engine) => T): Promise<T> {
    if (this.closed) return Promise.reject(closedError())
    return this.queue.alone(this.as(op))
  }

  /** Runs `read` on the committed state once every write issued before it has committed. */
  async view<T>(read: (e: Engine, at: CatalogVersion | undefined) => T): Promise<T> {
    if (this.closed) throw closedError()
    // Nothing scheduled: read now (one turn less per read).
    if (this.queue.pending) {
      await this.queue.settled()
      if (this.closed) throw closedError()
    }
    return read(this.engine, this.engine.committed)
  }

  /** Refuses changes to database files SQLite has open, through `engine`. */
  guardDatabases(engine: Engine): void {
    engine.guard = (p) => {
      if (this.mount?.isOpen(p)) {
        throw new CartridgeError(ErrorCodes.LOCKED, `${p} is a database SQLite has open; close it (or use SQL) to change it`, { path: p })
      }
    }
  }

  /** The SQLite mount of this container, made on first use. */
  databaseMount(): DatabaseMount {
    if (this.closed || this.closing) throw closedError()
    this.mount ??= SqliteHost.get().mount(new ContainerDatabaseStore(this.engine, this.queue, this.path ? dirname(this.path) : tmpdir()))
    return this.mount
  }

  /** `CARTRIDGE_LOCKED` while a SQLite database in the container is open. */
  refuseWithDatabases(what: string): void {
    if (this.mount && this.mount.databases.size > 0) {
      throw new CartridgeError(ErrorCodes.LOCKED, `cannot ${what} while a SQLite database in the container is open; close it first`)
    }
  }

  /** `CARTRIDGE_LOCKED` while a write stream is in progress. */
  refuseWithWriters(what: string): void {
    if (this.writers.size > 0) throw new CartridgeError(ErrorCodes.LOCKED, `a write stream is in progress; ${what} when it ends`)
  }

  /** See `Cartridge.close`: once, after every pending write, whoever calls it. */
  close(): Promise<void> {
    if (!this.closing) {
      try {
        this.queue.refuseInsideHolder('close()')
      } catch (err) {
        return Promise.reject(err)
      }
      this.closing = this.#close()
    }
    return this.closing
  }

  /** Aborts write streams, closes the databases, commits and syncs what is pending, and closes the store. */
  async #close(): Promise<void> {
    await this.queue.settled()
    await this.queue.exclusive(async () => {
      for (const w of this.writers) w.abort()
      let failure: unknown
      try {
        this.queue.unlocked(() => this.mount?.close())
      } catch (err) {
        failure = err
      }
      this.closed = true
      try {
        if (!this.engine.store.readOnly) this.queue.flushNow(true)
      } finally {
        this.engine.store.close()
      }
      if (failure) throw failure
    })
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

/** `CARTRIDGE_ABORTED` when `signal` fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'operation was aborted', { cause: signal.reason })
}

/** The error of a call on a closed container. */
export function closedError(): CartridgeError {
  return new CartridgeError(ErrorCodes.CLOSED, 'container is closed')
}
