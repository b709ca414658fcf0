import { availableParallelism } from 'node:os'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { createCodec, type Codec, type CodecName } from '@cartridge/codec'
import { sha256 } from './engram-format.js'
import { WorkerPool, transferable } from './worker-pool.js'

/** One block sealed for an engram: the bytes stored, their codec id (0: raw) and SHA-256. */
export interface SealedBlock {
  readonly stored: Uint8Array
  readonly codec: number
  readonly sha256: Uint8Array
}

/** A sealed batch: its blocks, and the batch's buffer, free for another batch once they are written. */
export interface SealedBatch {
  readonly blocks: SealedBlock[]
  readonly buffer: Uint8Array
}

/**
 * Compresses and hashes batches of blocks: `seal(data, lengths)` resolves to the sealed blocks
 * of the batch. Batches may be handed in faster than they are sealed; each answer belongs to its
 * batch. A block's stored bytes may live in the batch's buffer: reuse the buffer only after
 * they are written.
 */
export interface BlockSealer {
  /** Seals the blocks at the start of `data`, `lengths[i]` bytes each, back to back. `data` belongs to the sealer until the batch is sealed. */
  seal(data: Uint8Array, lengths: readonly number[]): Promise<SealedBatch>
  close(): Promise<void>
}


/** Seals on this thread, one block after another. */
export class InlineSealer implements BlockSealer {
  readonly #codec: Codec | undefined

  constructor(codec: Codec | undefined) {
    this.#codec = codec
  }

  seal(data: Uint8Array, lengths: readonly number[]): Promise<SealedBatch> {
    const blocks: SealedBlock[] = []
    let at = 0
    for (const n of lengths) {
      const b = data.subarray(at, at + n)
      at += n
      const packed = this.#codec?.compress(b)
      // A codec may return a view of its scratch buffer: copy before the next block overwrites it.
      const stored = packed ? packed.slice() : b
      blocks.push({ stored, codec: packed ? this.#codec!.id : 0, sha256: sha256(stored) })
    }
    return Promise.resolve({ blocks, buffer: data })
  }

  async close(): Promise<void> {}
}

/**
 * The worker's code (CommonJS, evaluated): makes the codec from `@cartridge/codec` (by the path
 * resolved for it on the main thread) and seals each batch it is sent: the stored bytes of all
 * blocks back to back in one transferred buffer, with their lengths, codec ids and hashes.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { createCodec } = require(workerData.codecModule)
const codec = createCodec(workerData.name, workerData.level === undefined ? {} : { level: workerData.level })
parentPort.on('message', ({ id, data, lengths }) => {
  // Stored bytes are never longer than the block (a block that does not shrink is stored raw), so
  // they are packed in place, front to back, into the buffer the batch came in: no allocation.
  const bytes = new Uint8Array(data)
  const stored = new Array(lengths.length)
  const codecs = new Array(lengths.length)
  const hashes = new Uint8Array(32 * lengths.length)
  let at = 0
  let put = 0
  try {
    for (let i = 0; i < lengths.length; i++) {
      const block = bytes.subarray(at, at + lengths[i])
      const packed = codec ? codec.compress(block) : undefined
      if (packed) bytes.set(packed, put)
      else bytes.copyWithin(put, at, at + lengths[i])
      const n = packed ? packed.length : lengths[i]
      hashes.set(createHash('sha256').update(bytes.subarray(put, put + n)).digest(), 32 * i)
      stored[i] = n
      codecs[i] = packed ? codec.id : 0
      at += lengths[i]
      put += n
    }
    parentPort.postMessage({ id, data, stored, codecs, hashes: hashes.buffer }, [data, hashes.buffer])
  } catch (err) {
    parentPort.postMessage({ id, error: { message: err && err.message, code: err && err.code } })
  }
})
`

/**
 * Seals on worker threads, so compression and hashing of a freeze run beside the reading and
 * writing. Batches go to the workers in turn and each answer is matched to its batch.
 */
export class WorkerSealer implements BlockSealer {
  readonly #pool: WorkerPool

  private constructor(pool: WorkerPool) {
    this.#pool = pool
  }

  /**
   * Starts `threads` workers sealing with codec `name` (and `level`), or returns undefined where
   * workers cannot run this codec here: the caller then seals inline.
   */
  static async start(name: CodecName, level: number | undefined, threads: number): Promise<WorkerSealer | undefined> {
    const pool = await WorkerPool.start(WORKER_SOURCE, { name, level }, threads, 'compression')
    if (!pool) return undefined
    const sealer = new WorkerSealer(pool)
    // A worker that loaded but cannot make its codec says so with its first batch: try one each.
    try {
      await Promise.all(Array.from({ length: pool.size }, () => sealer.seal(new Uint8Array(1), [1])))
    } catch {
      await sealer.close()
      return undefined
    }
    return sealer
  }

  async seal(data: Uint8Array, lengths: readonly number[]): Promise<SealedBatch> {
    const whole = transferable(data)
    const m = await this.#pool.request({ data: whole.buffer, lengths }, [whole.buffer]) as { data: ArrayBuffer; stored: number[]; codecs: number[]; hashes: ArrayBuffer }
    const bytes = new Uint8Array(m.data)
    const hashes = new Uint8Array(m.hashes)
    const blocks: SealedBlock[] = []
    let at = 0
    for (let i = 0; i < m.stored.length; i++) {
      blocks.push({ stored: bytes.subarray(at, at + m.stored[i]), codec: m.codecs[i], sha256: hashes.subarray(32 * i, 32 * i + 32) })
      at += m.stored[i]
    }
    return { blocks, buffer: bytes }
  }

  close(): Promise<void> {
    return this.#pool.close()
  }
}

/**
 * The sealer for a freeze: `threadsWanted` workers (default one per core, at most 4) when there
 * is enough content for them to pay for starting (8 MiB), else inline (also for 1 thread).
 */
export async function startSealer(name: CodecName, level: number | undefined, contentBytes: number | undefined, threadsWanted?: number): Promise<BlockSealer> {
  const codec = createCodec(name, level === undefined ? {} : { level })
  if (threadsWanted !== undefined && !(Number.isSafeInteger(threadsWanted) && threadsWanted >= 1)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `threads must be a positive integer, not ${threadsWanted}`)
  const threads = threadsWanted ?? Math.min(4, availableParallelism())
  if (codec && threads > 1 && (contentBytes === undefined || contentBytes >= 8 * 2 ** 20)) {
    const pool = await WorkerSealer.start(name, level, threads)
    if (pool) return pool
  }
  return new InlineSealer(codec)
}
