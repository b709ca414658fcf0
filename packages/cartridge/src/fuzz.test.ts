import { writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { buildSeeds } from './testing/fuzz-seeds.js'
import { makeInput } from './testing/fuzz-inputs.js'
import { runFuzz, type FuzzResult } from './testing/fuzz-runner.js'
import { tempDir } from './testing/helpers.js'

/**
 * Hostile-input fuzzing: realistic containers (testing/fuzz-seeds.ts) damaged as disks and copies
 * do, and forged as an attacker would with every checksum recomputed (testing/fuzz-inputs.ts);
 * each input is opened, listed, read (live and every snapshot), checked with data, written to,
 * deleted from (a file and a snapshot), vacuumed, read again and closed in a child process under
 * a watchdog (testing/fuzz-runner.ts, fuzz-child.mjs).
 * Required: no hang, no crash, no error without a CARTRIDGE_* code, and for damage no read
 * that returns bytes never written to that path. CARTRIDGE_FUZZ_INPUTS sets the number of
 * inputs (default 2,000), CARTRIDGE_FUZZ_FROM the first index (to replay one).
 */
const INPUTS = Number(process.env.CARTRIDGE_FUZZ_INPUTS || 2000)
const FROM = Number(process.env.CARTRIDGE_FUZZ_FROM || 0)

const tmp = tempDir('cart-fuzz-')
afterAll(() => tmp.cleanup())

describe('hostile inputs', () => {
  it(`${INPUTS} damaged and forged containers: no hang, crash, uncoded error, or wrong data from damage`, async () => {
    const started = Date.now()
    const seeds = await buildSeeds(tmp.path)
    const manifest = tmp.path('manifest.json')
    writeFileSync(manifest, JSON.stringify(Object.fromEntries(seeds.map((s) => [s.name, s.versions]))))
    const results = await runFuzz({
      inputs: INPUTS,
      make: (n) => {
        const i = n + FROM
        const seed = seeds[i % seeds.length]
        return { ...makeInput(seed, Math.floor(i / seeds.length)), seed: seed.name }
      },
      file: (n) => tmp.path(`input-${n + FROM}.cart`),
      manifest,
      workers: 2,
      watchdogMs: 20_000,
      heapMiB: 512,
    })
    const count = (pred: (r: FuzzResult) => boolean) => results.filter(pred).length
    const tally: Record<string, number> = {}
    for (const r of results) tally[`${r.family} ${r.outcome}`] = (tally[`${r.family} ${r.outcome}`] ?? 0) + 1
    console.log(`fuzz: ${results.length} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s; ${JSON.stringify(tally)}`)
    const bad = results.filter((r) => r.outcome === 'hang' || r.outcome === 'crash' || r.outcome === 'uncoded' || (r.family === 'damage' && r.outcome === 'wrong'))
    const shown = bad.slice(0, 5).map((r) => `input ${r.index + FROM} (${r.family}: ${r.what}): ${r.outcome}: ${r.detail}`)
    expect(shown).toEqual([])
    // The inputs must reach past open, or passing proves little.
    expect(count((r) => r.outcome === 'ok')).toBeGreaterThan(INPUTS / 20)
    expect(count((r) => r.outcome === 'coded')).toBeGreaterThan(INPUTS / 5)
  }, 600_000)
})
