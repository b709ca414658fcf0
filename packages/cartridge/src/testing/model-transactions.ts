import { ErrorCodes } from '@cartridge/core'
import type { Transaction } from '../transaction.js'
import { resolveBatch } from './model-batches.js'
import { callFileOp } from './model-calls.js'
import { ModelMismatch, compareFiles, mismatch } from './model-compare.js'
import { coverage } from './model-coverage.js'
import { type FileOp, formatOp } from './model-ops.js'
import { describeObserved, isCode, isFull, observe, passMismatch, settle } from './model-outcomes.js'
import { type ModelState, applyFileOp, sortedPaths } from './model-state.js'
import type { Target } from './model-target.js'

/**
 * A transaction: each operation awaited in turn through `tx` (a failure is caught, and leaves
 * the transaction as it was), the transaction's own view and the container's outside view
 * compared, then either a throw (nothing happened) or the commit (all of it happened; with a
 * `maxBlocks`, or CARTRIDGE_FULL and none of it).
 */
export async function runTransaction(t: Target, s: ModelState, ops: FileOp[], throwAtEnd: boolean): Promise<ModelState> {
  const fullOK = t.config.maxBlocks > 0
  const rollback = new Error('the callback throws at its end')
  let inner = s
  const got = await observe(
    t.cart.transaction(async (tx) => {
      for (const o of ops) inner = settle(`inside tx, ${formatOp(o)}`, inner, applyFileOp(inner, o), await observe(callFileOp(tx, o)), fullOK)
      await compareFiles('inside tx', tx, inner.files)
      const outside = await t.cart.list('/')
      if (outside.join() !== sortedPaths(s.files).join()) mismatch(`inside tx, the container lists [${outside.join(', ')}], not the state before the transaction`)
      if (throwAtEnd) throw rollback
    }),
  )
  passMismatch(got)
  if (isFull(got)) coverage.add('tx FULL at commit')
  if (throwAtEnd) {
    if (got.ok || got.error !== rollback) mismatch(`tx with a throw at the end: expected the callback's error, got ${describeObserved(got)}`)
    return s
  }
  return settle('tx commit', s, { ok: true, state: inner }, got, fullOK)
}

/**
 * A transaction holding the writer while other calls are made on the container: those wait,
 * then apply after the transaction ends (committed or rolled back), in call order, as one batch.
 * With `abort`, the transaction's signal fires while its callback waits: `transaction()`
 * rejects with ABORTED at once, nothing of it happened, the waiting calls go ahead, and the
 * callback's next `tx` call fails with CLOSED.
 */
export async function runTransactionWithWaiters(t: Target, s: ModelState, ops: FileOp[], outside: FileOp[], throwAtEnd: boolean, abort: boolean): Promise<ModelState> {
  const fullOK = t.config.maxBlocks > 0
  const rollback = new Error('the callback throws at its end')
  const controller = new AbortController()
  let inner = s
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let bodyError: unknown
  let bodyDone!: () => void
  const bodyFinished = new Promise<void>((resolve) => (bodyDone = resolve))
  const body = async (tx: Transaction) => {
    try {
      for (const [i, o] of ops.entries()) {
        inner = settle(`inside tx, ${formatOp(o)}`, inner, applyFileOp(inner, o), await observe(callFileOp(tx, o)), fullOK)
        if (i === 0) {
          started()
          await gate
          if (abort) {
            settle('a tx call after the transaction was aborted', s, { ok: false, code: ErrorCodes.CLOSED }, await observe(tx.write('/late', 'x')), false)
            return
          }
        }
      }
      await compareFiles('inside tx', tx, inner.files)
      if (throwAtEnd) throw rollback
    } catch (err) {
      bodyError = err
      throw err
    } finally {
      bodyDone()
    }
  }
  const txDone = observe(t.cart.transaction(body, abort ? { signal: controller.signal } : {}))
  await Promise.race([running, txDone])
  // Made here, outside the callback, while the transaction holds the writer.
  const waiting = Promise.all(outside.map((o) => observe(callFileOp(t.cart, o))))
  if (abort) controller.abort()
  else release()
  const got = await txDone
  if (abort) release()
  await bodyFinished
  if (bodyError instanceof ModelMismatch) throw bodyError
  passMismatch(got)
  let after = s
  if (abort) {
    if (got.ok || !isCode(got.error, ErrorCodes.ABORTED)) mismatch(`aborted tx: expected CARTRIDGE_ABORTED, got ${describeObserved(got)}`)
  } else if (throwAtEnd) {
    if (got.ok || got.error !== rollback) mismatch(`tx with a throw at the end: expected the callback's error, got ${describeObserved(got)}`)
  } else {
    after = settle('tx commit', s, { ok: true, state: inner }, got, fullOK)
  }
  return resolveBatch(t, after, outside, await waiting)
}
