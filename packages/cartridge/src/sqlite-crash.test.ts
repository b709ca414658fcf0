import { describe, expect, it } from 'vitest'
import { sqliteCrashRun, type CrashVerdict } from './testing/sqlite-crash.js'

const RUNS = Number(process.env.CARTRIDGE_SQLITE_CRASH_RUNS ?? 500)

describe.each(['atomic', 'wal'] as const)('SQLite power loss (%s mode)', (mode) => {
  it(`${RUNS} random crash points: integrity_check ok and every acknowledged commit present`, async () => {
    const verdicts: CrashVerdict[] = []
    for (let trial = 0; trial < RUNS; trial++) {
      const crash = trial % 2 === 0 ? 'drop-or-tear' : 'random'
      const v = await sqliteCrashRun(trial, { mode, crash })
      const where = `trial ${trial} (${crash})`
      expect(v.integrity, where).toBe('ok')
      expect(v.outcome, where).not.toBe('lost')
      expect(v.problems, where).toBe(0)
      verdicts.push(v)
    }
    // The harness must really crash mid-run, after acknowledged work, for the checks to mean anything.
    expect(verdicts.filter((v) => v.crashed).length).toBeGreaterThan(RUNS * 0.9)
    expect(verdicts.filter((v) => v.crashed && v.acknowledged > 0).length).toBeGreaterThan(RUNS * 0.5)
  })
})

describe('SQLite power loss: the simulator catches an unsafe configuration', () => {
  it('with synchronous=OFF acknowledged commits are lost, and the simulator says so', async () => {
    const verdicts: CrashVerdict[] = []
    for (let trial = 0; trial < 60; trial++) verdicts.push(await sqliteCrashRun(trial, { mode: 'atomic', crash: 'drop-or-tear', synchronous: 'OFF' }))
    const lost = verdicts.filter((v) => v.outcome === 'lost').length
    expect(lost).toBeGreaterThan(5)
    // Container commits stay atomic even unsynced: the database is never damaged, only older.
    expect(verdicts.every((v) => v.integrity === 'ok')).toBe(true)
  })
})
