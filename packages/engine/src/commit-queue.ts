import { AsyncLocalStorage } from 'node:async_hooks'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { Engine } from './engine.js'

/** Marks the async context of an {@link CommitQueue.exclusive} body while it holds the writer. */
interface Holder {
  active: boolean
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Serializes writers and shares commits. Operations applied in the same turn of the event loop
 * join one batch, committed once (one fsync) on the next turn; each operation's promise settles
 * with the batch. While an explicit transaction holds the writer, other operations wait.
 */
export class CommitQueue {
  #engine: Engine
  readonly #sync: () => boolean
  #batch: Waiter[] = []
  #scheduled: Promise<void> | undefined
  #exclusive = false
  #waiting: Array<() => void> = []
  #txChain: Promise<void> = Promise.resolve()
  /** The holder whose body the current async context runs in, if any. */
  readonly #holder = new AsyncLocalStorage<Holder>()

  /** Moves the queue to another engine (a container rewritten into a new file); only while exclusive. */
  rebind(engine: Engine): void {
    this.#engine = engine
  }

  constructor(engine: Engine, sync: () => boolean) {
    this.#engine = engine
    this.#sync = sync
  }

  /** Applies `op` as one atomic operation and resolves once its commit is done. */
  mutate<T>(op: (e: Engine) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.refuseInsideHolder('this change')
      const run = () => {
        let result: T
        try {
          result = this.#engine.apply(() => op(this.#engine))
        } catch (err) {
          reject(err)
          return
        }
        this.#batch.push({ resolve: () => resolve(result), reject })
        this.#schedule()
      }
      if (this.#exclusive) this.#waiting.push(run)
      else run()
    })
  }

  /**
   * Applies `op` and commits at once, synchronously, together with any batch still pending (whose
   * promises settle with this commit). For callers that cannot wait (SQLite's sync). Fails with
   * `CARTRIDGE_LOCKED` while an explicit transaction holds the writer.
   */
  commitNow<T>(op: (e: Engine) => T, sync: boolean): T {
    if (this.#exclusive) {
      throw new CartridgeError(ErrorCodes.LOCKED, 'a container transaction is in progress; database commits wait for it to end')
    }
    const result = this.#engine.apply(() => op(this.#engine))
    // A database sync is durable only if the container's durability is; waiters of the batch expect it too.
    this.#commitBatch((sync || this.#batch.length > 0) && this.#sync(), true)
    return result
  }

  /**
   * Applies `op` in a commit of its own, ordered with other writes by call time: the pending
   * batch commits first (so `op` sees every write issued before it), then `op` is applied and
   * committed; writes issued after it go into later commits. Waits while a transaction holds
   * the writer.
   */
  alone<T>(op: (e: Engine) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.refuseInsideHolder('this operation')
      const run = () => {
        try {
          if (this.#batch.length > 0) this.#commitBatch(this.#sync(), true)
          const result = this.#engine.apply(() => op(this.#engine))
          this.#engine.commit(this.#sync())
          resolve(result)
        } catch (err) {
          reject(err)
        }
      }
      if (this.#exclusive) this.#waiting.push(run)
      else run()
    })
  }

  /** Runs `body` (inside {@link exclusive}) with {@link commitNow} allowed, for the holder's own database commits. */
  unlocked<T>(body: () => T): T {
    const was = this.#exclusive
    this.#exclusive = false
    try {
      return body()
    } finally {
      this.#exclusive = was
    }
  }

  /** Resolves when no commit is pending (readers call this so they see earlier writes). */
  settled(): Promise<void> {
    return this.#scheduled ?? Promise.resolve()
  }

  /** Whether a batch is scheduled to commit (reads must wait for it: {@link settled}). */
  get pending(): boolean {
    return this.#scheduled !== undefined
  }

  /** Commits the pending batch now (with a sync when `forceSync`). */
  flushNow(forceSync = false): void {
    if (this.#batch.length === 0 && !forceSync) {
      this.#scheduled = undefined
      return
    }
    this.#commitBatch(forceSync || this.#sync(), false)
  }

  /**
   * Commits what is applied (fsynced when `sync`) and settles the pending batch with it. A
   * failure rejects the batch; it is thrown when `rethrow` or when no waiter received it.
   */
  #commitBatch(sync: boolean, rethrow: boolean): void {
    const batch = this.#batch
    this.#batch = []
    this.#scheduled = undefined
    try {
      this.#engine.commit(sync)
    } catch (err) {
      for (const w of batch) w.reject(err)
      if (rethrow || batch.length === 0) throw err
      return
    }
    for (const w of batch) w.resolve()
  }

  /**
   * Throws `CARTRIDGE_CONFLICT` when called from the body of the {@link exclusive} holder (a
   * `transaction()` callback calling the container instead of `tx`): the call would wait for the
   * body that waits for it, forever.
   */
  refuseInsideHolder(what: string): void {
    if (this.#holder.getStore()?.active) {
      throw new CartridgeError(
        ErrorCodes.CONFLICT,
        `${what} was called on the container inside its own transaction() callback, where it would wait for the transaction forever: use the callback's tx (tx.write, tx.delete, …), or call it after the transaction`,
      )
    }
  }

  /**
   * Runs `body` holding the writer alone; other writers queue until it ends. Calls that need the
   * writer, made from inside `body`, fail at once (see {@link refuseInsideHolder}). `signal`
   * aborts the wait for the writer (with `CARTRIDGE_ABORTED`); aborting `body` is its own job.
   */
  async exclusive<T>(body: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.refuseInsideHolder('this operation')
    const prev = this.#txChain
    let release!: () => void
    this.#txChain = new Promise<void>((r) => (release = r))
    try {
      await untilAborted(prev, signal)
    } catch (err) {
      // Gave up waiting: the writer passes on in order once the previous holder is done.
      void prev.then(release)
      throw err
    }
    await this.settled()
    this.#exclusive = true
    if (this.#batch.length > 0) this.flushNow()
    const holder: Holder = { active: true }
    try {
      return await this.#holder.run(holder, body)
    } finally {
      holder.active = false
      // Async context tracking costs every promise a little: keep it on only while a body runs.
      this.#holder.disable()
      this.#exclusive = false
      release()
      const waiting = this.#waiting
      this.#waiting = []
      for (const run of waiting) run()
    }
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.flushNow()
        resolve()
      })
    })
  }
}

/** `promise`, or a `CARTRIDGE_ABORTED` rejection as soon as `signal` fires (whichever comes first). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  const aborted = () => new CartridgeError(ErrorCodes.ABORTED, 'operation was aborted', { cause: signal.reason })
  if (signal.aborted) return Promise.reject(aborted())
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted())
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
