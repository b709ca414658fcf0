import { availableParallelism } from 'node:os'
import { CodecSet } from '@cartridge/codec'
import { BLOCK_SIZE, sameBytes, sha256 } from './engram-format.js'
import { WorkerPool, transferable } from './worker-pool.js'

/** One block of an engram to check: where it lies in the bytes handed over, and what its directory entry says. */
export interface BlockToCheck {
  readonly start: number
  readonly stored: number
  readonly logical: number
  readonly codec: number
  readonly sha256: Uint8Array
}

/** A block that failed: its index in the batch, and what is wrong. */
export interface BlockProblem {
  readonly index: number
  readonly what: string
}

/**
 * Checks batches of blocks against their hashes and decodes them (to their stated length).
 * Batches may be handed in faster than they are checked; each answer belongs to its batch.
 */
export interface BlockChecker {
  /** The problems of `blocks`, whose stored bytes lie in `bytes` (which belongs to the checker from then on). */
  check(bytes: Uint8Array, blocks: readonly BlockToCheck[]): Promise<BlockProblem[]>
  close(): Promise<void>
}

/** Checks on this thread. */
export class InlineChecker implements BlockChecker {
  readonly #codecs = new CodecSet()
  readonly #scratch = new Uint8Array(BLOCK_SIZE)

  async check(bytes: Uint8Array, blocks: readonly BlockToCheck[]): Promise<BlockProblem[]> {
    const problems: BlockProblem[] = []
    for (const [index, b] of blocks.entries()) {
      const stored = bytes.subarray(b.start, b.start + b.stored)
      if (!sameBytes(sha256(stored), b.sha256)) {
        problems.push({ index, what: 'does not match its hash' })
        continue
      }
      try {
        if (b.codec === 0 ? b.stored !== b.logical : this.#codecs.decoder(b.codec).decompress(stored, b.logical, this.#scratch.subarray(0, b.logical)).length !== b.logical) throw new Error('wrong length')
      } catch (err) {
        problems.push({ index, what: `does not decode: ${(err as Error).message}` })
      }
    }
    return problems
  }

  async close(): Promise<void> {}
}

/** The checking worker (CommonJS, evaluated): the same checks as {@link InlineChecker}. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { CodecSet } = require(workerData.codecModule)
const codecs = new CodecSet()
const scratch = new Uint8Array(workerData.blockSize)
parentPort.on('message', ({ id, bytes, starts, storeds, logicals, ids, hashes }) => {
  const data = new Uint8Array(bytes)
  const want = new Uint8Array(hashes)
  const problems = []
  for (let i = 0; i < starts.length; i++) {
    const stored = data.subarray(starts[i], starts[i] + storeds[i])
    const got = createHash('sha256').update(stored).digest()
    if (!got.equals(want.subarray(32 * i, 32 * i + 32))) {
      problems.push({ index: i, what: 'does not match its hash' })
      continue
    }
    try {
      if (ids[i] === 0 ? storeds[i] !== logicals[i] : codecs.decoder(ids[i]).decompress(stored, logicals[i], scratch.subarray(0, logicals[i])).length !== logicals[i]) throw new Error('wrong length')
    } catch (err) {
      problems.push({ index: i, what: 'does not decode: ' + (err && err.message) })
    }
  }
  parentPort.postMessage({ id, problems })
})
`

/** Checks on worker threads, beside the thread reading the engram. */
export class WorkerChecker implements BlockChecker {
  readonly #pool: WorkerPool

  private constructor(pool: WorkerPool) {
    this.#pool = pool
  }

  static async start(threads: number): Promise<WorkerChecker | undefined> {
    const pool = await WorkerPool.start(WORKER_SOURCE, { blockSize: BLOCK_SIZE }, threads, 'verification')
    return pool && new WorkerChecker(pool)
  }

  async check(bytes: Uint8Array, blocks: readonly BlockToCheck[]): Promise<BlockProblem[]> {
    const whole = transferable(bytes)
    const hashes = new Uint8Array(32 * blocks.length)
    for (const [i, b] of blocks.entries()) hashes.set(b.sha256, 32 * i)
    const m = await this.#pool.request({
      bytes: whole.buffer, hashes: hashes.buffer,
      starts: blocks.map((b) => b.start), storeds: blocks.map((b) => b.stored), logicals: blocks.map((b) => b.logical), ids: blocks.map((b) => b.codec),
    }, [whole.buffer, hashes.buffer])
    return m.problems as BlockProblem[]
  }

  close(): Promise<void> {
    return this.#pool.close()
  }
}

/**
 * The checker for verifying `size` bytes: workers (one per core, at most 4) from 8 MiB on, where
 * they start, else this thread.
 */
export async function startChecker(size: number): Promise<BlockChecker> {
  const threads = Math.min(4, availableParallelism())
  if (threads > 1 && size >= 8 * 2 ** 20) {
    const pool = await WorkerChecker.start(threads)
    if (pool) return pool
  }
  return new InlineChecker()
}
