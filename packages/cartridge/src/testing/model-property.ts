import fc from 'fast-check'

/**
 * Runs a fast-check property over model sequences with a fixed seed by default, and on failure
 * throws one message with everything needed to act on it: the seed and path that replay it, the
 * shrunk counterexample as code (a regression test to paste), and the mismatch it produced.
 *
 * Environment: `CARTRIDGE_MODEL_RUNS` (sequences; more for a long run), `CARTRIDGE_MODEL_SEED`
 * (another seed), `CARTRIDGE_MODEL_PATH` (with the seed: replay one failing case and its shrink).
 */
export const DEFAULT_SEED = 20_261_201

export function modelSeed(): number {
  const v = process.env.CARTRIDGE_MODEL_SEED
  return v === undefined || v === '' ? DEFAULT_SEED : Number(v)
}

/** `n` runs, or as many as CARTRIDGE_MODEL_RUNS asks for, times `share`. */
export function modelRuns(n: number, share = 1): number {
  const v = process.env.CARTRIDGE_MODEL_RUNS
  return v === undefined || v === '' ? n : Math.max(1, Math.round(Number(v) * share))
}

export interface PropertyOptions<T> {
  /** Names the test in the replay command (`-t`). */
  title: string
  /** The test file, for the replay command (default model.test.ts). */
  file?: string
  numRuns: number
  /** The counterexample as code. */
  format: (value: T) => string
  /** Shrinks fast-check's counterexample further; returns it and the error it fails with. */
  minimize?: (value: T) => Promise<{ value: T; error: unknown }>
}

export async function checkProperty<T>(arb: fc.Arbitrary<T>, run: (value: T) => Promise<void>, o: PropertyOptions<T>): Promise<void> {
  const seed = modelSeed()
  const path = process.env.CARTRIDGE_MODEL_PATH || undefined
  const details = await fc.check(fc.asyncProperty(arb, run), { numRuns: o.numRuns, seed, path })
  if (!details.failed) return
  if (details.counterexample === null) throw new Error(`property ${o.title} failed without a counterexample (interrupted or too many skips)`)
  let value = details.counterexample[0]
  let err = details.errorInstance
  if (o.minimize) ({ value, error: err } = await o.minimize(value))
  const error = err instanceof Error ? err.message : String(err)
  throw new Error(
    [
      `Model test failed after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s).`,
      `Replay: CARTRIDGE_MODEL_SEED=${details.seed} CARTRIDGE_MODEL_PATH=${details.counterexamplePath} pnpm exec vitest run packages/cartridge/src/${o.file ?? 'model.test.ts'} -t ${JSON.stringify(o.title)}`,
      '',
      'Shrunk sequence, as a regression test for packages/cartridge/src/model-regressions.test.ts:',
      '',
      o.format(value),
      '',
      error,
    ].join('\n'),
    { cause: err },
  )
}
