import { ModelMismatch } from './model-compare.js'
import { type BatchMember, DEFAULT_CONFIG, type FileOp, type ModelConfig, type Op } from './model-ops.js'
import { runSequence } from './model-runner.js'

/**
 * A second, greedy shrink after fast-check's: drops every step after the failing one, then tries
 * removing each step, each member of a transaction or batch, the throw at a transaction's end,
 * smaller sizes, and the default for each setting, keeping every change that still fails. What
 * is left is the shortest sequence it found, to print as a regression test.
 */

type Case = { config: ModelConfig; ops: Op[] }

/** Runs `c`; the mismatch it fails with, if any. */
async function failure(c: Case): Promise<ModelMismatch | undefined> {
  try {
    await runSequence(c.config, c.ops)
    return undefined
  } catch (err) {
    if (err instanceof ModelMismatch) return err
    throw err
  }
}

const SIZES = [0, 1, 600, 65_537, 262_145]

/** Simpler variants of one step, simplest first. */
function simpler(op: Op): Op[] {
  const out: Op[] = []
  const sized = (o: FileOp | BatchMember): Array<FileOp | BatchMember> =>
    (o.t === 'write' || o.t === 'stream') ? SIZES.filter((n) => n < o.size).map((size) => ({ ...o, size })) : []
  if (op.t === 'tx' || op.t === 'batch') {
    const members = op.ops as Array<FileOp | BatchMember>
    for (let i = 0; i < members.length; i++) {
      out.push({ ...op, ops: members.filter((_, j) => j !== i) } as Op)
      for (const v of sized(members[i])) out.push({ ...op, ops: members.map((m, j) => (j === i ? v : m)) } as Op)
    }
    if (op.t === 'tx' && op.throwAtEnd) out.push({ ...op, throwAtEnd: false })
    if (members.length === 1 && members[0].t !== 'read') out.push(members[0] as Op)
  } else if (op.t === 'txWithWaiters') {
    out.push({ t: 'tx', ops: op.ops, throwAtEnd: op.throwAtEnd })
    for (let i = 0; i < op.ops.length; i++) out.push({ ...op, ops: op.ops.filter((_, j) => j !== i) })
    for (let i = 0; i < op.outside.length; i++) out.push({ ...op, outside: op.outside.filter((_, j) => j !== i) })
    if (op.throwAtEnd) out.push({ ...op, throwAtEnd: false })
    if (op.abort) out.push({ t: 'txWithWaiters', ops: op.ops, outside: op.outside, throwAtEnd: op.throwAtEnd })
  } else if (op.t === 'fill') {
    for (const count of [1, 2, Math.floor(op.count / 2), op.count - 1]) if (count >= 1 && count < op.count) out.push({ ...op, count })
    if (op.size > 0) out.push({ ...op, size: 0 })
  } else if (op.t === 'snapMany') {
    for (const count of [1, Math.floor(op.count / 2), op.count - 1]) if (count >= 1 && count < op.count) out.push({ ...op, count })
  } else {
    out.push(...(sized(op as FileOp) as Op[]))
    if (op.t === 'stream') out.push({ t: 'write', path: op.path, size: op.size, seed: op.seed })
    if (op.t === 'stream' && op.pieces > 1) out.push({ ...op, pieces: 1 })
    if (op.t === 'stream' && op.pages) out.push({ t: 'stream', path: op.path, size: op.size, seed: op.seed, pieces: op.pieces })
    if (op.t === 'vacuum' && (op.stepPages !== undefined || op.abortAfter !== undefined)) out.push({ t: 'vacuum' })
  }
  return out
}

/** The smallest failing case found from `start` within the time limit, and its failure. */
export async function minimize(start: Case, options: { timeLimitMs?: number } = {}): Promise<{ value: Case; error: unknown }> {
  const deadline = Date.now() + (options.timeLimitMs ?? 60_000)
  const first = await failure(start)
  if (!first) return { value: start, error: new Error('the case no longer fails (flaky?)') }
  let error: ModelMismatch = first
  let best: Case = { config: start.config, ops: start.ops.slice(0, (first.step ?? start.ops.length - 1) + 1) }
  const attempt = async (c: Case): Promise<boolean> => {
    if (Date.now() > deadline) return false
    const f = await failure(c)
    if (!f) return false
    error = f
    best = { config: c.config, ops: c.ops.slice(0, (f.step ?? c.ops.length - 1) + 1) }
    return true
  }
  for (let progress = true; progress && Date.now() < deadline; ) {
    progress = false
    for (let i = best.ops.length - 1; i >= 0; i--) {
      if (i < best.ops.length && (await attempt({ config: best.config, ops: best.ops.filter((_, j) => j !== i) }))) progress = true
    }
    for (let i = 0; i < best.ops.length; i++) {
      for (const v of simpler(best.ops[i])) {
        if (await attempt({ config: best.config, ops: best.ops.map((o, j) => (j === i ? v : o)) })) {
          progress = true
          break
        }
      }
    }
    for (const k of Object.keys(DEFAULT_CONFIG) as Array<keyof ModelConfig>) {
      if (best.config[k] === DEFAULT_CONFIG[k]) continue
      const config = { ...best.config, [k]: DEFAULT_CONFIG[k] }
      if (k === 'initialBlocks' && config.maxBlocks > 0) config.maxBlocks = Math.max(config.maxBlocks, config.initialBlocks)
      if (await attempt({ config, ops: best.ops })) progress = true
    }
  }
  return { value: best, error: (await failure(best)) ?? error }
}
