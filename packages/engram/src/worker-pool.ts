import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

/**
 * A worker's heap: small. Workers only hold a batch (transferred in and out) and a codec's
 * context, and a small young generation makes them collect what they drop at once, so a freeze
 * or verify stays within its memory bound whatever the Node version's defaults.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 48 }

interface Pending {
  resolve(reply: Record<string, unknown>): void
  reject(err: unknown): void
}

/**
 * A few worker threads running `source` (CommonJS, evaluated, given `workerData.codecModule`: the
 * path of `@cartridge/codec` resolved here), answering requests by id: each request goes to the
 * workers in turn, and its promise settles with the reply that carries its id. A worker's
 * `{ id, error: { message, code } }` rejects that request with a `CartridgeError`; a worker that
 * dies rejects everything outstanding and every later request.
 */
export class WorkerPool {
  readonly #workers: Worker[]
  readonly #pending = new Map<number, Pending>()
  readonly #what: string
  #next = 0
  #failed: unknown

  private constructor(workers: Worker[], what: string) {
    this.#workers = workers
    this.#what = what
    for (const w of workers) {
      w.on('message', (m: { id: number; error?: { message: string; code?: string } }) => {
        const p = this.#pending.get(m.id)
        if (!p) return
        this.#pending.delete(m.id)
        if (m.error) p.reject(new CartridgeError((m.error.code as never) ?? ErrorCodes.IO, `${what} failed: ${m.error.message}`))
        else p.resolve(m as Record<string, unknown>)
      })
      w.on('error', (err) => this.#fail(err))
      w.on('exit', (code) => {
        if (this.#pending.size > 0) this.#fail(new Error(`a worker exited with ${code}`))
      })
    }
  }

  /**
   * Starts `threads` workers running `source` with `data` (plus `codecModule`), or returns
   * undefined where they cannot run here (the codec module cannot be found from here, or a worker
   * does not come online): the caller then does the work on its own thread.
   */
  static async start(source: string, data: Record<string, unknown>, threads: number, what: string): Promise<WorkerPool | undefined> {
    let codecModule: string
    try {
      codecModule = createRequire(import.meta.url).resolve('@cartridge/codec')
    } catch {
      return undefined
    }
    const workers: Worker[] = []
    try {
      for (let i = 0; i < threads; i++) workers.push(new Worker(source, { eval: true, workerData: { ...data, codecModule }, resourceLimits: WORKER_LIMITS }))
      // A worker that cannot load its modules exits at once: wait for each to be online, or fail.
      await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
        w.once('online', resolve)
        w.once('error', reject)
        w.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
      })))
    } catch {
      await Promise.all(workers.map((w) => w.terminate()))
      return undefined
    }
    return new WorkerPool(workers, what)
  }

  /** How many workers run. */
  get size(): number {
    return this.#workers.length
  }

  #fail(err: unknown): void {
    this.#failed ??= err
    for (const p of this.#pending.values()) p.reject(new CartridgeError(ErrorCodes.IO, `a ${this.#what} worker failed: ${(err as Error).message}`, { cause: err }))
    this.#pending.clear()
  }

  /** Sends `request` (with an id added) to the next worker, transferring `transfer`; resolves to its reply. */
  request(request: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Record<string, unknown>> {
    if (this.#failed) return Promise.reject(new CartridgeError(ErrorCodes.IO, `a ${this.#what} worker failed: ${(this.#failed as Error).message}`, { cause: this.#failed }))
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#workers[id % this.#workers.length].postMessage({ ...request, id }, transfer)
    })
  }

  async close(): Promise<void> {
    this.#fail(new Error('closed'))
    await Promise.all(this.#workers.map((w) => w.terminate()))
  }
}

/** `data` as a Uint8Array that owns its whole ArrayBuffer (itself, or a copy), for transferring. */
export function transferable(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : data.slice()
}
