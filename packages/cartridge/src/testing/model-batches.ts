import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { callMember } from './model-calls.js'
import { expectContent, mismatch } from './model-compare.js'
import { coverage } from './model-coverage.js'
import { type BatchMember, type FileOp, type StreamOp, formatOp } from './model-ops.js'
import { type Observed, describeError, describeObserved, describeOutcome, isCode, isFull, observe, passMismatch, settle } from './model-outcomes.js'
import { type ModelState, applyFileOp, createSnapshot, describeState, isDir } from './model-state.js'
import type { Target } from './model-target.js'

type Member = { m: BatchMember; got: Observed; index: number }

/**
 * Whether the members of one commit (a run of file operations between snapshot members) can have
 * produced what was observed. Each member either failed when it was applied (with the predicted
 * error, or FULL) or was applied; then the commit either succeeded (every applied member
 * resolved) or failed with FULL (every applied member rejected with FULL, nothing of it kept).
 */
function segmentExplained(start: ModelState, items: Member[], fullOK: boolean): boolean {
  const full = items.filter((x) => isFull(x.got))
  if (full.length > 0 && !fullOK) return false
  const anyResolved = items.some((x) => x.got.ok)
  // Which FULL members were applied before their commit failed. Every combination for a few;
  // for many (a fill), the likely ones: the first j applied, the rest failed when applied.
  const hypotheses: Array<(i: number) => boolean> = []
  if (anyResolved || full.length === 0) hypotheses.push(() => false)
  else if (full.length <= 8) for (let mask = 0; mask < 1 << full.length; mask++) hypotheses.push((i) => (mask & (1 << i)) !== 0)
  else for (let j = 0; j <= full.length; j++) hypotheses.push((i) => i < j)
  for (const applied of hypotheses) {
    let cur = start
    let explained = true
    for (const x of items) {
      const predicted = applyFileOp(cur, x.m as FileOp)
      if (x.got.ok || isFull(x.got)) {
        if (!predicted.ok) {
          explained = false
          break
        }
        if (x.got.ok || applied(full.indexOf(x))) cur = predicted.state
      } else if (predicted.ok || !isCode(x.got.error, predicted.code)) {
        explained = false
        break
      }
    }
    if (explained) return true
  }
  return false
}

/**
 * A same-tick batch. The rules (see model.test.ts): members take effect in call order; each
 * member either resolves and took effect, or rejects and had none; a failing member does not
 * affect the others, except that when a commit fails (FULL) every member sharing it rejects.
 * A snapshot member commits the members before it first and sees them; a read sees at least
 * every member called before it; a stream ends after every other call was made.
 */
export async function runBatch(t: Target, s: ModelState, ops: BatchMember[]): Promise<ModelState> {
  const calls = ops.map((m) => callMember(t.cart, m))
  return resolveBatch(t, s, ops, await Promise.all(calls.map(observe)))
}

/** Checks a batch's observed outcomes against the model (the rules above); returns the state after it. */
export function resolveBatch(t: Target, s: ModelState, ops: BatchMember[], observed: Observed[]): ModelState {
  const fullOK = t.config.maxBlocks > 0
  const members: Member[] = observed.map((got, index) => ({ m: ops[index], got, index }))
  const problem = (text: string) =>
    mismatch(`batch member ${text}\n  batch outcomes: ${members.map((x) => `${formatOp(x.m)} → ${describeObserved(x.got)}`).join('; ')}\n  before: ${describeState(s)}`)
  if (members.some((x) => isFull(x.got))) coverage.add('batch FULL')
  for (const x of members) {
    passMismatch(x.got)
    if (!x.got.ok && !(x.got.error instanceof CartridgeError)) problem(`${formatOp(x.m)} threw ${describeError(x.got.error)}`)
  }

  // States after each member in call order (streams, which end last, left out).
  let cur = s
  let segment: Member[] = []
  const after: ModelState[] = []
  const closeSegment = (start: ModelState) => {
    if (!segmentExplained(start, segment, fullOK)) problem(`outcomes of [${segment.map((x) => formatOp(x.m)).join(', ')}] cannot be explained by the model`)
    segment = []
  }
  let segmentStart = s
  for (const x of members) {
    const m = x.m
    if (m.t === 'snapshot') {
      closeSegment(segmentStart)
      const predicted = createSnapshot(cur, m.name)
      // The snapshot commits the members before it first: their failed commit fails it too.
      if (!(fullOK && isFull(x.got))) cur = settle(`batch member ${formatOp(m)}`, cur, predicted, x.got, fullOK)
      segmentStart = cur
    } else if (m.t !== 'read' && m.t !== 'stream') {
      segment.push(x)
      if (x.got.ok) {
        const predicted = applyFileOp(cur, m)
        if (predicted.ok) cur = predicted.state
      }
    }
    after.push(cur)
  }
  closeSegment(segmentStart)
  const plainFinal = cur

  // The stream (at most one) ends after every other member was applied.
  const streamed = members.find((x) => x.m.t === 'stream')
  if (streamed) {
    const m = streamed.m as StreamOp
    const predicted = applyFileOp(cur, m)
    if (streamed.got.ok) {
      if (!predicted.ok) problem(`${formatOp(m)} succeeded, the model expects ${predicted.code}`)
      else cur = predicted.state
    } else if (!(fullOK && isFull(streamed.got)) && (predicted.ok || !isCode(streamed.got.error, predicted.code))) {
      // It may also have been applied with the last commit's members before that commit failed.
      let all = plainFinal
      for (const x of members) if (x.m.t !== 'read' && x.m.t !== 'stream' && x.m.t !== 'snapshot' && isFull(x.got)) {
        const o = applyFileOp(all, x.m)
        if (o.ok) all = o.state
      }
      const alt = applyFileOp(all, m)
      if (alt.ok || !isCode(streamed.got.error, alt.code)) problem(`${formatOp(m)}: expected ${describeOutcome(predicted)}, got ${describeObserved(streamed.got)}`)
    }
  }

  // A read sees every member called before it, and maybe later ones of the same tick.
  for (const x of members) {
    if (x.m.t !== 'read') continue
    const path = x.m.path
    const candidates = [...after.slice(Math.max(0, x.index - 1)), cur]
    const explained = candidates.some((c) => {
      const content = c.files.get(path)
      if (!content) return !x.got.ok && isCode(x.got.error, isDir(c.files, path) ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND)
      if (!x.got.ok) return false
      try {
        expectContent(path, x.got.value as Uint8Array, content)
        return true
      } catch {
        return false
      }
    })
    if (!explained) problem(`${formatOp(x.m)} returned ${x.got.ok ? `${(x.got.value as Uint8Array).length} bytes` : describeObserved(x.got)}, which no state from the members before it to the end of the batch holds`)
  }
  return cur
}
