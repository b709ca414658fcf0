import { CartridgeError, ErrorCodes, type ErrorCode } from '@cartridge/core'
import { coverage } from './model-coverage.js'
import { ModelMismatch, mismatch } from './model-compare.js'
import type { ModelState, Outcome } from './model-state.js'

/**
 * A call's observed result against the model's prediction: success, or a `CartridgeError` with
 * the predicted code; with a `maxBlocks` (`fullOK`), a predicted success may instead be
 * CARTRIDGE_FULL, and then the call must have had no effect.
 */

export type Observed = { ok: true; value: unknown } | { ok: false; error: unknown }

export function observe(p: Promise<unknown>): Promise<Observed> {
  return p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))
}

export const isCode = (err: unknown, code: ErrorCode) => err instanceof CartridgeError && err.code === code
export const isFull = (got: Observed) => !got.ok && isCode(got.error, ErrorCodes.FULL)

export function describeError(err: unknown): string {
  if (err instanceof CartridgeError) return `${err.code} (${err.message})`
  return `a non-CartridgeError: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`
}

export function describeObserved(got: Observed): string {
  return got.ok ? 'success' : describeError(got.error)
}

export const describeOutcome = (o: Outcome) => (o.ok ? 'success' : o.code)

/** Rethrows a mismatch raised inside a callback (a transaction body) as it is. */
export function passMismatch(got: Observed): void {
  if (!got.ok && got.error instanceof ModelMismatch) throw got.error
}

/**
 * Checks a call's result against the prediction and returns the state after it. With `fullOK`,
 * a predicted success may instead be CARTRIDGE_FULL, with no effect.
 */
export function settle(what: string, before: ModelState, predicted: Outcome, got: Observed, fullOK: boolean): ModelState {
  passMismatch(got)
  if (predicted.ok) {
    if (got.ok) return predicted.state
    if (fullOK && isFull(got)) {
      coverage.add('FULL')
      return before
    }
    return mismatch(`${what}: expected success, got ${describeError(got.error)}`)
  }
  if (got.ok) return mismatch(`${what}: expected ${predicted.code}, but it succeeded`)
  if (isCode(got.error, predicted.code)) return before
  return mismatch(`${what}: expected ${predicted.code}, got ${describeError(got.error)}`)
}

