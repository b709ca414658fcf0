import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Cartridge } from '../cartridge.js'
import type { FileOps } from '../file-ops.js'
import { rng } from './helpers.js'
import { expectedBytes } from './model-compare.js'
import { coverage, noteWrite } from './model-coverage.js'
import type { BatchMember, FileOp, StreamOp } from './model-ops.js'

/** The calls the operations make on a container or a transaction, with the bytes the model expects. */

/** Calls a file operation on a container or a transaction, synchronously up to the call. */
export function callFileOp(target: FileOps, op: FileOp): Promise<void> {
  switch (op.t) {
    case 'write':
      // A copy: the container must not keep (or change) the caller's buffer, and the cache is shared.
      return target.write(op.path, expectedBytes(op).slice()).then(() => noteWrite(op.size))
    case 'delete':
      return target.delete(op.path)
    case 'deleteTree':
      return target.delete(op.path === '/' ? '/' : `${op.path}/`)
    case 'rename':
      return target.rename(op.from, op.to)
  }
}

/** The stream's bytes cut at `pieces - 1` random places (uneven pieces, derived from the seed). */
export function streamPieces(op: StreamOp): Uint8Array[] {
  const data = expectedBytes(op)
  if (data.length === 0) return []
  const random = rng(op.seed * 7 + op.pieces)
  const cuts = new Set<number>()
  for (let i = 1; i < op.pieces; i++) cuts.add(1 + Math.floor(random() * (data.length - 1)))
  const ends = [...cuts].filter((c) => c > 0 && c < data.length).sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let from = 0
  for (const end of [...ends, data.length]) {
    out.push(data.subarray(from, end))
    from = end
  }
  return out
}

/** Writes a file through `createWriteStream`, in uneven pieces. */
export async function runStream(cart: Cartridge, op: StreamOp): Promise<void> {
  const ws = cart.createWriteStream(op.path, op.pages ? { layout: 'pages' } : {})
  await pipeline(Readable.from(streamPieces(op)), ws)
  if (op.pages) coverage.add(op.size > 84 * 4096 ? 'write paged multi-leaf map' : 'write paged')
  else noteWrite(op.size)
}

/** Calls one batch member, synchronously up to the call. */
export function callMember(cart: Cartridge, m: BatchMember): Promise<unknown> {
  switch (m.t) {
    case 'read':
      return cart.read(m.path)
    case 'snapshot':
      return cart.createSnapshot(m.name)
    case 'stream':
      return runStream(cart, m)
    default:
      return callFileOp(cart, m)
  }
}

