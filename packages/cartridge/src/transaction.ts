import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { CatalogVersion } from '@cartridge/catalog'
import type { Engine } from './engine.js'
import { FileOps } from './file-ops.js'

/**
 * The handle passed to `cart.transaction(async tx => …)`. Its operations see the transaction's
 * own changes; nothing is visible to others or durable until the callback resolves, and all of
 * it is undone if the callback throws. Each operation on its own is still atomic, so a caught
 * error inside the callback leaves the transaction as it was before that operation.
 */
export class Transaction extends FileOps {
  #engine: Engine
  #open = true

  /** @internal */
  constructor(engine: Engine) {
    super()
    this.#engine = engine
  }

  /** @internal */
  end(): void {
    this.#open = false
  }

  protected mutate<T>(op: (e: Engine) => T): Promise<T> {
    try {
      this.#check()
      return Promise.resolve(this.#engine.apply(() => op(this.#engine)))
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
