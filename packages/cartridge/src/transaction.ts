import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { CatalogVersion } from '@cartridge/catalog'
import { untilAborted, type Engine } from '@cartridge/engine'
import { FileOps, OPEN_ACCESS, type Access } from './file-ops.js'
import type { TransactionOptions } from './cartridge-options.js'
import { closedError, throwIfAborted, type CartridgeCore } from './cartridge-core.js'

/**
 * The handle passed to `cart.transaction(async tx => …)`. Its operations see the transaction's
 * own changes; nothing is visible to others or durable until the callback resolves, and all of
 * it is undone if the callback throws. Each operation on its own is still atomic, so a caught
 * error inside the callback leaves the transaction as it was before that operation.
 */
export class Transaction extends FileOps {
  #engine: Engine
  #open = true
  readonly #access: Access
  readonly #principal: string | undefined

  /** @internal `access`: the checks of the `transaction()` call; `principal`: who it is, for the audit log. */
  constructor(engine: Engine, access: Access = OPEN_ACCESS, principal?: string) {
    super()
    this.#engine = engine
    this.#access = access
    this.#principal = principal
  }

  protected override access(): Access {
    return this.#access
  }

  /** @internal */
  end(): void {
    this.#open = false
  }

  protected mutate<T>(op: (e: Engine) => T): Promise<T> {
    try {
      this.#check()
      const e = this.#engine
      return Promise.resolve(e.apply(() => {
        e.audit.principal = this.#principal
        try {
          return op(e)
        } finally {
          e.audit.principal = undefined
        }
      }))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  protected override logsReads(): boolean {
    return this.#engine.audit.logsReads
  }

  protected view<T>(read: (e: Engine, at: CatalogVersion | undefined) => T): Promise<T> {
    try {
      this.#check()
      return Promise.resolve(read(this.#engine, undefined))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #check(): void {
    if (!this.#open) throw new CartridgeError(ErrorCodes.CLOSED, 'transaction has ended')
  }
}

/**
 * See `Cartridge.transaction`: holds the writer while `body` runs against a {@link Transaction},
 * then commits everything it did, or rolls it all back when it throws or `signal` fires.
 * `access`: the checks of the `transaction()` call.
 */
export async function runTransaction<T>(core: CartridgeCore, body: (tx: Transaction) => Promise<T> | T, options: TransactionOptions, access: Access): Promise<T> {
  if (core.closed) throw closedError()
  const { signal } = options
  throwIfAborted(signal)
  const principal = core.guard.principal
  return core.queue.exclusive(async () => {
    throwIfAborted(signal)
    const tx = new Transaction(core.engine, access, principal)
    let result: T
    try {
      result = await untilAborted(Promise.resolve().then(() => body(tx)), signal)
    } catch (err) {
      tx.end()
      core.engine.abort()
      throw err
    }
    tx.end()
    core.engine.commit(core.durable)
    return result
  }, signal)
}
