import { TEST_ENCRYPTION, TEST_PASSPHRASE } from './variants.js'
import type { CrashMode } from '@cartridge/pager'
import { crashTrial } from './crash-trial.js'
import { readAll, rng } from './helpers.js'
import { auditDisagreements } from './audit-replay.js'
import { ModelMismatch, compareState } from './model-compare.js'
import { DEFAULT_CONFIG, type FileOp, type Op, type StreamOp, formatOp, write } from './model-ops.js'
import { step } from './model-runner.js'
import {
  type ModelState, applyFileOp, createSnapshot, deleteSnapshot, describeState, emptyModel, resolveRef, restoreSnapshot,
} from './model-state.js'
import type { Target } from './model-target.js'
import { layerCompression, layerOptions, layerSet, type LayerSetName } from './layer-sets.js'

/**
 * The fault-injection harness ({@link crashTrial}) driven by model sequences: the operations come
 * from the sequence (then small filler writes if the power has not failed yet), each checked
 * against the model as it runs; after the power cut, the reopened container must hold exactly
 * one of the states the model allows (every file and every snapshot), pass `check({ data: true })`
 * and take new writes.
 */
export interface CrashCase {
  ops: Op[]
  seed: number
  mode: CrashMode
  durability: 'full' | 'none'
  /** Codec of the container (default none). */
  compression?: 'none' | 'lz4' | 'zstd'
  /** Encrypted with the test passphrase. */
  encrypted?: boolean
  /** Keeps an audit log, which must agree with the reopened files. */
  audited?: boolean
  /** Operations committed (and flushed) before the fault is armed. */
  warmup: number
  /** The power fails within this many writes and syncs of arming. */
  armWithin: number
  /** The layer implementations (testing/layer-sets.ts); default the reference. */
  layers?: LayerSetName
}

export async function runCrashCase(c: CrashCase): Promise<{ crashed: boolean; steps: number }> {
  let next = 0
  let inflight: ModelState[] = []
  let current: Op | undefined
  const config = { ...DEFAULT_CONFIG, durability: c.durability, layers: c.layers }
  const layers = layerSet(c.layers)
  const { crashed, allowed, reopened } = await crashTrial<ModelState>({
    random: rng(c.seed),
    mode: c.mode,
    durability: c.durability,
    options: {
      compression: layerCompression(layers, c.compression ?? 'none'),
      ...(c.encrypted ? { encryption: TEST_ENCRYPTION, passphrase: TEST_PASSPHRASE } : {}),
      ...(c.audited ? { auditLog: true } : {}),
      ...layerOptions(layers),
    },
    wrap: layers.wrap,
    slug: 'model',
    initial: emptyModel(),
    seed: c.seed,
    warmup: Math.min(c.warmup, c.ops.length),
    armWithin: c.armWithin,
    op: async (cart, state, _random, _seed, plan) => {
      const op = next < c.ops.length ? c.ops[next] : write(`/filler${next % 3}`, 3000 + 20_000 * (next % 4), next)
      next++
      current = op
      // A step may commit more than once (a snapshot inside a batch, a stream's end): any of its
      // commits may be what the power cut leaves.
      inflight = committedStates(state, op)
      for (const s of inflight) plan(s)
      const target: Target = { cart, config }
      return step(target, state, op)
    },
  })
  try {
    const candidates = crashed ? [...allowed, ...inflight] : allowed
    const reasons: string[] = []
    let match: ModelState | undefined
    for (const s of candidates) {
      try {
        await compareState(reopened, s, { check: false })
        match = s
        break
      } catch (err) {
        if (!(err instanceof ModelMismatch)) throw err
        reasons.push(err.message)
      }
    }
    if (!match) {
      throw new ModelMismatch(
        `after a power cut in ${current ? formatOp(current) : '(nothing)'} (op ${next}), the reopened container is none of the ${candidates.length} allowed states:\n` +
          candidates.map((s, i) => `  [${i}] ${describeState(s)}\n      ${reasons[i]}`).join('\n'),
      )
    }
    const report = await reopened.check({ data: true })
    if (!report.ok) throw new ModelMismatch(`after a power cut in ${current ? formatOp(current) : '?'}: check found ${report.problems.slice(0, 5).join('; ')}`)
    if (c.audited) {
      const disagree = await auditDisagreements(reopened, await readAll(reopened))
      if (disagree.length > 0) throw new ModelMismatch(`after a power cut in ${current ? formatOp(current) : '?'}: the audit log disagrees: ${disagree.slice(0, 3).join('; ')}`)
    }
    // The reopened container keeps working: a write that grows it, then everything again.
    const after = await step({ cart: reopened, config }, match, write('/after-crash', 200_000, 1))
    await compareState(reopened, after)
  } finally {
    await reopened.close()
  }
  return { crashed, steps: next }
}

/**
 * The states a change may leave committed, in order, when nothing fails (the crash harness uses
 * them: a power cut in the middle of the step may leave any of them).
 */
export function committedStates(s: ModelState, op: Op): ModelState[] {
  const fold = (start: ModelState, ops: Array<FileOp | StreamOp>) => {
    let cur = start
    for (const o of ops) {
      const r = applyFileOp(cur, o)
      if (r.ok) cur = r.state
    }
    return cur
  }
  switch (op.t) {
    case 'write': case 'delete': case 'deleteTree': case 'rename': case 'stream':
      return [fold(s, [op])]
    case 'tx':
      return [op.throwAtEnd ? s : fold(s, op.ops)]
    case 'batch': {
      const out: ModelState[] = []
      let cur = s
      for (const m of op.ops) {
        if (m.t === 'snapshot') {
          out.push(cur)
          const r = createSnapshot(cur, m.name)
          if (r.ok) cur = r.state
          out.push(cur)
        } else if (m.t !== 'read' && m.t !== 'stream') cur = fold(cur, [m])
      }
      out.push(cur)
      const streamed = op.ops.find((m) => m.t === 'stream')
      if (streamed) out.push(fold(cur, [streamed as StreamOp]))
      return out
    }
    case 'snapshot': {
      const r = createSnapshot(s, op.name)
      return [r.ok ? r.state : s]
    }
    case 'fill': {
      const ops: FileOp[] = []
      for (let i = 0; i < op.count; i++) ops.push({ t: 'write', path: `${op.dir}/${i}`, size: op.size, seed: op.seed + i })
      return [fold(s, ops)]
    }
    case 'snapMany': {
      const out: ModelState[] = []
      let cur = s
      for (let i = 0; i < op.count; i++) {
        const r = createSnapshot(cur)
        if (r.ok) cur = r.state
        out.push(cur)
      }
      return out
    }
    case 'txWithWaiters': {
      const afterTx = op.throwAtEnd || op.abort ? s : fold(s, op.ops)
      return [afterTx, fold(afterTx, op.outside)]
    }
    case 'restore': {
      const ref = resolveRef(s, op.ref)
      const r = restoreSnapshot(s, ref, op.saveAs)
      return [r.ok ? r.state : s]
    }
    case 'deleteSnapshot': {
      const r = deleteSnapshot(s, resolveRef(s, op.ref))
      return [r.ok ? r.state : s]
    }
    default:
      return [s]
  }
}
