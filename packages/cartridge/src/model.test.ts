import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CrashMode } from '@cartridge/pager'
import { configArb, sequenceArb } from './testing/model-generator.js'
import { type ModelConfig, type Op, formatOp, formatRegression } from './testing/model-ops.js'
import { checkProperty, modelRuns } from './testing/model-property.js'
import { coverage } from './testing/model-coverage.js'
import { runSequence } from './testing/model-runner.js'
import { runCrashCase } from './testing/model-crash.js'
import { minimize } from './testing/model-shrink.js'

/**
 * Model-based random testing: random sequences of every operation, on containers that start at
 * 3 pages (so they grow in the middle of commits) and sometimes have a small `maxBlocks` (so
 * CARTRIDGE_FULL strikes in the middle of commits and transactions), compared with an in-memory
 * model after every step: every file's bytes and size, `list`, `scan`, `readdir('/')`, `exists`,
 * `info()`, every snapshot (listed, read through its view, diffed against the live state), and
 * `check({ data: true })`; at the end the container is closed, reopened and compared again.
 * The generator, model, runner, comparison and shrinking live in testing/model-*.ts. A second
 * test runs the power-loss harness (testing/crash-trial.ts) over the same generator.
 *
 * The rules tested, where the README leaves room:
 *
 * - Errors: every failure is a CartridgeError with the code the model predicts: NOT_FOUND (no such
 *   file, directory or snapshot), IS_A_DIRECTORY (write, delete without `/` or read where a
 *   directory is; a file renamed onto a directory), NOT_A_DIRECTORY (a file among the ancestors),
 *   EXISTS (a directory renamed onto anything that exists; a snapshot name taken), INVALID_PATH
 *   (a directory renamed into itself). `delete('/x/')` where `/x` is a file is NOT_FOUND: no
 *   directory `/x` exists. These checks come before any space is used, so a call the model
 *   expects to fail this way never fails with FULL instead — except a write stream, which stores
 *   its chunks as they arrive and checks its path when it ends.
 * - FULL: with a `maxBlocks`, any change the model expects to succeed may fail with FULL instead,
 *   and then it had no effect at all (files, snapshots and `check` as before). Without one, FULL
 *   never happens.
 * - Transactions: each `tx` call is atomic on its own (a caught failure, FULL included, leaves
 *   the transaction as it was before that call); a throw from the callback rejects
 *   `transaction()` with that very error and nothing happened; a FULL at commit rejects it and
 *   nothing happened. Inside, `tx` sees its own changes and the container the state before.
 *   Calls made on the container while a transaction holds the writer wait, and apply after it
 *   (committed or rolled back), in call order, as one batch.
 * - Same-tick batches (`Promise.all` of calls on the container): members take effect in call
 *   order; a member that fails (a predicted error, or FULL while it was applied) has no effect
 *   and does not affect the others; the members that share a commit whose write fails (FULL)
 *   all reject with FULL and none of them has an effect. So: every member that resolved took
 *   effect, in call order, and every member that rejected had none. A `createSnapshot` member
 *   commits the members called before it and captures exactly them; a `read` member sees at
 *   least every member called before it (it may see later members of the same tick, which
 *   share the commit it waits for); a write stream started in the batch ends after all the other
 *   calls were made, so it applies last.
 * - Snapshots: `restoreSnapshot(ref, { saveCurrentAs })` resolves `ref` among the snapshots that
 *   exist when it is called (NOT_FOUND first): a `ref` that only the snapshot being saved would
 *   match is NOT_FOUND, and nothing is saved. Ids are never reused; names are unique (EXISTS).
 *   Snapshots holding the same records (an empty diff) are read in full once.
 * - Reopening after a clean close shows no `recovery` note and the same files and snapshots; a
 *   read-only open of a container file sees its last commit and refuses writes (READ_ONLY).
 * - Power loss (second test): the reopened container holds exactly one of the states the model
 *   allows (the last acknowledged one, any commit of the step cut short, and with durability
 *   'none' any commit since the last flush), passes `check({ data: true })`, and takes new writes.
 *
 * - Space: a delete (of a file, a tree or a snapshot) on its own never fails with FULL, so a
 *   full container can always be emptied; with durability 'none' the same writes fit as with
 *   'full'.
 *
 * A failure prints the seed and path that replay it and the shrunk sequence as a regression
 * test for model-regressions.test.ts. CARTRIDGE_MODEL_RUNS sets the number of sequences (crash
 * trials are 15% of it), CARTRIDGE_MODEL_SEED another seed, CARTRIDGE_MODEL_PATH (with the seed)
 * replays one failing case.
 */

const RUNS = modelRuns(2000)
const CRASH_RUNS = modelRuns(300, 0.15)

/** Room for the runs on a loaded machine, and for shrinking a failure. */
const timeout = (runs: number, msPerRun: number) => 180_000 + runs * msPerRun

const format = ([config, ops]: [ModelConfig, Op[]]) => formatRegression(config, ops)

describe('model-based random testing', () => {
  it(`${RUNS} random sequences match the model after every step`, async () => {
    const started = Date.now()
    let sequences = 0
    let steps = 0
    await checkProperty(
      fc.tuple(configArb, sequenceArb()),
      async ([config, ops]) => {
        sequences++
        const stats = { steps: 0 }
        await runSequence(config, ops, stats)
        steps += stats.steps
      },
      {
        title: 'random sequences match the model', numRuns: RUNS, format,
        minimize: async ([config, ops]) => {
          const { value, error } = await minimize({ config, ops })
          return { value: [value.config, value.ops] as [ModelConfig, Op[]], error }
        },
      },
    )
    console.log(`model: ${sequences} sequences, ${steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; ${coverage.summary()}`)
    // The generator must reach what it is for, or passing proves little.
    expect(coverage.get('FULL')).toBeGreaterThan(RUNS / 100)
    expect(coverage.get('write chunk map')).toBeGreaterThan(RUNS / 20)
    expect(coverage.get('batch FULL')).toBeGreaterThan(0)
    expect(coverage.get('compressed chunks')).toBeGreaterThan(RUNS / 10)
    expect(coverage.get('encrypted sequences')).toBeGreaterThan(RUNS / 10)
    expect(coverage.get('audited sequences')).toBeGreaterThan(RUNS / 10)
    expect(coverage.get('raw chunks in compressing containers')).toBeGreaterThan(RUNS / 20)
  }, timeout(RUNS, 60))

  const modes: Array<[CrashMode, 'full' | 'none']> = [['drop-or-tear', 'full'], ['random', 'full'], ['drop-or-tear', 'none']]
  it(`${CRASH_RUNS} crash trials over model sequences reopen at an allowed state`, async () => {
    const started = Date.now()
    let trials = 0
    let crashed = 0
    let steps = 0
    const caseArb = fc.record({
      ops: sequenceArb({ reopen: false, maxLength: 16 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      mode: fc.constantFrom(...modes),
      warmup: fc.integer({ min: 0, max: 4 }),
      armWithin: fc.integer({ min: 1, max: 60 }),
      compression: fc.constantFrom('none' as const, 'none' as const, 'lz4' as const, 'zstd' as const),
      encrypted: fc.boolean(),
      audited: fc.boolean(),
    })
    await checkProperty(
      caseArb,
      async (c) => {
        trials++
        const r = await runCrashCase({ ...c, mode: c.mode[0], durability: c.mode[1] })
        if (r.crashed) crashed++
        steps += r.steps
      },
      {
        title: 'crash trials over model sequences',
        numRuns: CRASH_RUNS,
        format: (c) =>
          `await runCrashCase({ seed: ${c.seed}, mode: '${c.mode[0]}', durability: '${c.mode[1]}', compression: '${c.compression}', encrypted: ${c.encrypted}, audited: ${c.audited}, warmup: ${c.warmup}, armWithin: ${c.armWithin}, ops: [\n${c.ops.map((o) => `  ${formatOp(o)},`).join('\n')}\n] })`,
      },
    )
    console.log(`model crash trials: ${trials} trials (${crashed} cut power), ${steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    // The harness must really cut power in the middle of operations.
    expect(crashed).toBeGreaterThan(trials * 0.8)
  }, timeout(CRASH_RUNS, 100))
})
