import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { rng, runUntilKilled, tempDir } from './testing/helpers.js'

const tmp = tempDir('sqlite-kill-')
afterAll(() => tmp.cleanup())
const child = fileURLToPath(new URL('./testing/sqlite-kill-child.mjs', import.meta.url))
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))
const ROUNDS = Number(process.env.CARTRIDGE_KILL_ROUNDS ?? 20)

/** Runs the child until it acknowledged a few transactions plus a random delay, then SIGKILLs it; returns the last acknowledged row. */
function runAndKill(path: string, mode: string, start: number, delayMs: number): Promise<number> {
  return runUntilKilled([child, path, mode, String(start)], start, start + 8, delayMs)
}

/** Rows the child leaves after committing every transaction up to row `last`. */
function expectedRows(last: number): number[] {
  const rows: number[] = []
  for (let n = 0; n <= last; n++) rows.push(n)
  const trimmedBelow = Math.floor((last - 3) / 4) * 4 - 40
  return rows.filter((n) => !(n < trimmedBelow && n % 3 === 0))
}

describe.skipIf(!built).each(['atomic', 'wal'] as const)('SQLite kill -9 (%s mode)', (mode) => {
  it(`reopens with integrity_check ok and every acknowledged transaction, ${ROUNDS} kills`, async () => {
    const path = tmp.path(`${mode}.cart`)
    await (await Cartridge.create('kill', 'K', { path })).close()
    const random = rng(mode === 'wal' ? 11 : 5)
    let next = 0
    for (let round = 0; round < ROUNDS; round++) {
      const lastAck = await runAndKill(path, mode, next, Math.floor(random() * 30))
      const cart = await Cartridge.open(path)
      const db = cart.sqlite('/k.db', { mode })
      expect(db.pragma('integrity_check', { simple: true }), `round ${round}`).toBe('ok')
      const rows = db.prepare('SELECT n FROM t ORDER BY n').pluck().all() as number[]
      const max = rows[rows.length - 1]
      // Every acknowledged transaction is there; at most the one in flight landed too, whole.
      expect([lastAck, lastAck + 4], `round ${round}`).toContain(max)
      expect(rows, `round ${round}`).toEqual(expectedRows(max))
      const blobs = db.prepare('SELECT n, b FROM t WHERE b IS NOT NULL').all() as Array<{ n: number; b: Buffer }>
      for (const { n, b } of blobs) expect(b.equals(Buffer.alloc(9000, (n - (n % 4)) & 0xff)), `blob of row ${n}`).toBe(true)
      db.close()
      expect((await cart.check({ data: true })).problems).toEqual([])
      await cart.close()
      next = max + 1
    }
  })
})
