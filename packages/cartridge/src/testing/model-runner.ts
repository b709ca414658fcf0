import { ErrorCodes } from '@cartridge/core'
import { Cartridge } from '../cartridge.js'
import { auditDisagreements } from './audit-replay.js'
import { readAll } from './helpers.js'
import { runBatch } from './model-batches.js'
import { callFileOp, runStream } from './model-calls.js'
import { ModelMismatch, compareFiles, compareState, expectedBytes, mismatch } from './model-compare.js'
import { coverage } from './model-coverage.js'
import { type BatchMember, type ModelConfig, type Op, formatOp } from './model-ops.js'
import { isCode, isFull, observe, settle } from './model-outcomes.js'
import {
  type ModelState, applyFileOp, createSnapshot, deleteSnapshot, describeState, emptyModel, findSnapshot, isDir, resolveRef,
  restoreSnapshot, sortedPaths,
} from './model-state.js'
import { runTransaction, runTransactionWithWaiters } from './model-transactions.js'
import { type Target, openTarget } from './model-target.js'

/**
 * Runs operations on a container and on the model side by side, one step at a time: every
 * call's result against the model's prediction (model-outcomes.ts), then, after each step,
 * everything the container shows against the model (model-compare.ts). The rules for
 * transactions and batches are in model.test.ts.
 */

/** One step on the container and the model; returns the model after it. */
export async function step(t: Target, s: ModelState, op: Op): Promise<ModelState> {
  const cart = t.cart
  const fullOK = t.config.maxBlocks > 0
  const what = formatOp(op)
  coverage.add(op.t)
  switch (op.t) {
    case 'write':
    case 'rename':
      return settle(what, s, applyFileOp(s, op), await observe(callFileOp(cart, op)), fullOK)
    case 'delete':
    case 'deleteTree': {
      const predicted = applyFileOp(s, op)
      const got = await observe(callFileOp(cart, op))
      if (predicted.ok && isFull(got)) deleteWasFull(what)
      return settle(what, s, predicted, got, fullOK)
    }
    case 'stream': {
      // A stream stores its chunks as they arrive and checks its place at the end: with a
      // `maxBlocks` it may run out of space before it would fail for its place.
      const got = await observe(runStream(cart, op))
      if (fullOK && isFull(got)) return s
      return settle(what, s, applyFileOp(s, op), got, fullOK)
    }
    case 'tx':
      return runTransaction(t, s, op.ops, op.throwAtEnd)
    case 'batch':
      return runBatch(t, s, op.ops)
    case 'snapshot': {
      const predicted = createSnapshot(s, op.name)
      const got = await observe(cart.createSnapshot(op.name))
      const after = settle(what, s, predicted, got, fullOK)
      if (got.ok && predicted.ok) {
        const info = got.value as { id: number; name: string; fileCount: number }
        const want = predicted.state.snapshots[predicted.state.snapshots.length - 1]
        if (info.id !== want.id || info.name !== want.name || info.fileCount !== want.files.size) {
          mismatch(`${what}: returned ${JSON.stringify(info)}, the model has id ${want.id}, name ${want.name}, ${want.files.size} files`)
        }
      }
      return after
    }
    case 'restore': {
      const ref = resolveRef(s, op.ref)
      const options = op.saveAs === undefined ? {} : { saveCurrentAs: op.saveAs }
      const predicted = restoreSnapshot(s, ref, op.saveAs)
      const got = await observe(cart.restoreSnapshot(ref, options))
      return settle(`${what} (ref ${JSON.stringify(ref)})`, s, predicted, got, fullOK)
    }
    case 'deleteSnapshot': {
      const ref = resolveRef(s, op.ref)
      const predicted = deleteSnapshot(s, ref)
      const got = await observe(cart.deleteSnapshot(ref))
      if (predicted.ok && isFull(got)) deleteWasFull(what)
      return settle(`${what} (ref ${JSON.stringify(ref)})`, s, predicted, got, fullOK)
    }
    case 'readSnapshot': {
      const ref = resolveRef(s, op.ref)
      const snap = findSnapshot(s, ref)
      const view = cart.snapshot(ref)
      if (!snap) {
        settle(`${what} list`, s, { ok: false, code: ErrorCodes.NOT_FOUND }, await observe(view.list('/')), false)
        settle(`${what} read`, s, { ok: false, code: ErrorCodes.NOT_FOUND }, await observe(view.read('/a')), false)
        return s
      }
      await compareFiles(`${what} (ref ${JSON.stringify(ref)})`, view, snap.files)
      for (const p of sortedPaths(snap.files)) {
        const c = snap.files.get(p)!
        const offset = Math.floor(c.size / 3)
        const part = await view.read(p, { offset, length: 70_000 })
        const want = expectedBytes(c).subarray(offset, Math.min(c.size, offset + 70_000))
        if (Buffer.compare(part, want) !== 0) mismatch(`${what}: range read of ${p} at ${offset} differs`)
      }
      return s
    }
    case 'readRange': {
      const got = await observe(cart.read(op.path, { offset: op.offset, length: op.length }))
      const c = s.files.get(op.path)
      if (!c) {
        const code = isDir(s.files, op.path) ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND
        return settle(what, s, { ok: false, code }, got, false)
      }
      settle(what, s, { ok: true, state: s }, got, false)
      const start = Math.min(op.offset, c.size)
      const want = expectedBytes(c).subarray(start, Math.min(c.size, start + op.length))
      if (Buffer.compare(got.ok ? (got.value as Uint8Array) : new Uint8Array(0), want) !== 0) mismatch(`${what}: wrong bytes`)
      // The same range through a read stream (`end` is inclusive).
      if (want.length > 0) {
        const pieces: Buffer[] = []
        for await (const piece of cart.createReadStream(op.path, { start, end: start + want.length - 1 })) pieces.push(Buffer.from(piece))
        if (Buffer.compare(Buffer.concat(pieces), want) !== 0) mismatch(`${what}: createReadStream of the range returns other bytes`)
      }
      return s
    }
    case 'fill': {
      const members: BatchMember[] = []
      for (let i = 0; i < op.count; i++) members.push({ t: 'write', path: `${op.dir}/${i}`, size: op.size, seed: op.seed + i })
      return runBatch(t, s, members)
    }
    case 'snapMany':
      return runBatch(t, s, Array.from({ length: op.count }, (): BatchMember => ({ t: 'snapshot' })))
    case 'txWithWaiters':
      return runTransactionWithWaiters(t, s, op.ops, op.outside, op.throwAtEnd, op.abort ?? false)
    case 'openReadOnly': {
      if (!t.path) return s
      const ro = await Cartridge.open(t.path, { ...t.openOptions, readOnly: true })
      try {
        await compareState(ro, s, { where: 'read-only open' })
        settle('write on a read-only open', s, { ok: false, code: ErrorCodes.READ_ONLY }, await observe(ro.write('/ro', 'x')), false)
      } finally {
        await ro.close()
      }
      return s
    }
    case 'vacuum': {
      // With `abortAfter`, the signal fires after that many progress reports (0: before the call):
      // it stops between steps (ABORTED), or the vacuum finished first. Files never change.
      const controller = new AbortController()
      let reports = 0
      if (op.abortAfter === 0) controller.abort()
      const got = await observe(cart.vacuum({
        ...(op.stepPages === undefined ? {} : { stepPages: op.stepPages }),
        ...(op.abortAfter === undefined ? {} : {
          signal: controller.signal,
          onProgress: () => {
            if (++reports >= op.abortAfter!) controller.abort()
          },
        }),
      }))
      if (op.abortAfter !== undefined && !got.ok && isCode(got.error, ErrorCodes.ABORTED)) {
        coverage.add('vacuum aborted')
        return s
      }
      return settle(what, s, { ok: true, state: s }, got, fullOK)
    }
    case 'flush':
      return settle(what, s, { ok: true, state: s }, await observe(cart.flush()), fullOK)
    case 'reopen':
      if (t.reopen) await t.reopen()
      else return settle(what, s, { ok: true, state: s }, await observe(cart.flush()), fullOK)
      return s
  }
}

/** A delete (of a file, a tree or a snapshot) on its own must not fail with FULL: a full container can always be emptied. */
function deleteWasFull(what: string): never {
  mismatch(`${what}: failed with CARTRIDGE_FULL; deleting must work in a full container`)
}

/** What a run did, for the summary line. */
export interface RunStats {
  steps: number
}

/**
 * Runs a sequence on a fresh container: after every step, everything is compared with the model
 * and checked; at the end the container is closed, reopened and compared once more.
 */
export async function runSequence(config: ModelConfig, ops: readonly Op[], stats?: RunStats): Promise<void> {
  const t = await openTarget(config)
  let s = emptyModel()
  const at = (i: number, err: unknown): never => {
    const label = i < ops.length ? `step ${i + 1} of ${ops.length}, ${formatOp(ops[i])}` : 'after the last step, reopened'
    const text = err instanceof Error ? (err instanceof ModelMismatch ? err.message : (err.stack ?? err.message)) : String(err)
    const failure = new ModelMismatch(`${label}: ${text}\n  model: ${describeState(s)}`, { cause: err })
    failure.step = i
    throw failure
  }
  try {
    for (let i = 0; i < ops.length; i++) {
      const began = performance.now()
      try {
        s = await step(t, s, ops[i])
        const compared = performance.now()
        coverage.add(`ms ${ops[i].t}`, compared - began)
        await compareState(t.cart, s)
        coverage.add('ms comparing', performance.now() - compared)
      } catch (err) {
        at(i, err)
      }
      if (stats) stats.steps++
    }
    try {
      await t.reopen!()
      await compareState(t.cart, s, { check: false })
      if (t.config.encrypted) coverage.add('encrypted sequences')
      if (t.config.audited) {
        coverage.add('audited sequences')
        const disagree = await auditDisagreements(t.cart, await readAll(t.cart))
        if (disagree.length > 0) mismatch(`the audit log disagrees with the files: ${disagree.slice(0, 3).join('; ')}`)
        const report = await t.cart.verifyAudit()
        if (!report.valid) mismatch(`the audit log does not verify: ${report.problems[0]?.what}`)
      }
      if (t.config.compression !== 'none') {
        const stats = await t.cart.contentStats()
        coverage.add('compressed chunks', stats.compressedChunks)
        coverage.add('raw chunks in compressing containers', stats.chunks - stats.compressedChunks)
      }
    } catch (err) {
      at(ops.length, err)
    }
  } finally {
    await t.dispose?.()
  }
}
