import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CrashMode } from '@cartridge/pager'
import { configArb, sequenceArb } from './testing/model-generator.js'
import { type ModelConfig, type Op, formatOp, formatRegression } from './testing/model-ops.js'
import { checkProperty, modelRuns } from './testing/model-property.js'
import { runSequence } from './testing/model-runner.js'
import { runCrashCase } from './testing/model-crash.js'
import { LAYER_SETS, type LayerSetName } from './testing/layer-sets.js'

/**
 * The container suite on every alternative layer implementation (testing/layer-sets.ts): the
 * model-based random sequences of model.test.ts (every operation, compared with an in-memory
 * model after every step, closed and reopened with the same layers) and power-cut trials over
 * the same generator (the reopened container holds one of the states the model allows). The
 * reference implementations run the full counts in model.test.ts; each set here runs a share.
 */

const RUNS = modelRuns(400, 0.2)
const CRASH_RUNS = modelRuns(100, 0.05)
const modes: Array<[CrashMode, 'full' | 'none']> = [['drop-or-tear', 'full'], ['random', 'full'], ['drop-or-tear', 'none']]

const sets = (Object.keys(LAYER_SETS) as LayerSetName[]).filter((name) => name !== 'reference')

describe.each(sets)('container suite on layer set %s', (layers) => {
  it(`${RUNS} random sequences match the model after every step`, async () => {
    let steps = 0
    await checkProperty(
      fc.tuple(configArb, sequenceArb()),
      async ([config, ops]) => {
        const stats = { steps: 0 }
        await runSequence({ ...config, layers }, ops, stats)
        steps += stats.steps
      },
      { title: `layer set ${layers}: random sequences`, file: 'layer-suite.test.ts', numRuns: RUNS, format: ([config, ops]: [ModelConfig, Op[]]) => formatRegression({ ...config, layers }, ops) },
    )
    expect(steps).toBeGreaterThan(RUNS * 3)
  }, 600_000)

  it(`${CRASH_RUNS} crash trials reopen at an allowed state`, async () => {
    let crashed = 0
    const caseArb = fc.record({
      ops: sequenceArb({ reopen: false, maxLength: 16 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      mode: fc.constantFrom(...modes),
      warmup: fc.integer({ min: 0, max: 4 }),
      armWithin: fc.integer({ min: 1, max: 60 }),
      compression: fc.constantFrom('none' as const, 'zstd' as const),
      encrypted: fc.boolean(),
    })
    await checkProperty(
      caseArb,
      async (c) => {
        const r = await runCrashCase({ ...c, mode: c.mode[0], durability: c.mode[1], layers })
        if (r.crashed) crashed++
      },
      {
        title: `layer set ${layers}: crash trials`,
        file: 'layer-suite.test.ts',
        numRuns: CRASH_RUNS,
        format: (c) =>
          `await runCrashCase({ layers: '${layers}', seed: ${c.seed}, mode: '${c.mode[0]}', durability: '${c.mode[1]}', compression: '${c.compression}', encrypted: ${c.encrypted}, warmup: ${c.warmup}, armWithin: ${c.armWithin}, ops: [\n${c.ops.map((o) => `  ${formatOp(o)},`).join('\n')}\n] })`,
      },
    )
    // Most trials must actually cut the power, or passing proves little.
    expect(crashed).toBeGreaterThan(CRASH_RUNS / 2)
  }, 600_000)
})
