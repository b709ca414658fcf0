import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Cartridge } from './index.js'
import { readAll, rng, runUntilKilled, tempDir } from './testing/helpers.js'
import { auditDisagreements } from './testing/audit-replay.js'
import { CHILD_OPEN_ENV, VARIANTS, type ContainerVariant } from './testing/variants.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const child = fileURLToPath(new URL('./testing/kill-child.mjs', import.meta.url))
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))
const ROUNDS = Number(process.env.CARTRIDGE_KILL_ROUNDS ?? 20)

function content(n: number): Uint8Array {
  const size = [5, 700, 9000, 150_000][n % 4]
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (n * 31 + i * 7) & 0xff
  return out
}

/** Runs the child until it has acknowledged at least `minAcks` writes plus a random delay, then SIGKILLs it. */
function runAndKill(v: ContainerVariant, path: string, start: number, delayMs: number): Promise<number> {
  return runUntilKilled([child, path, String(start)], start, start + 3, delayMs, { [CHILD_OPEN_ENV]: JSON.stringify(v.open) })
}

describe.skipIf(!built).each(VARIANTS)('kill -9 mid-write ($name)', (v) => {
  const rounds = v.name === 'plain' ? ROUNDS : Math.ceil(ROUNDS / 2)
  it('a second process opening the container for writing gets CARTRIDGE_LOCKED', async () => {
    const path = tmp.path(`lock-${v.name}.cart`)
    await (await Cartridge.create('lock', 'L', { ...v.create, path })).close()
    const p = spawn(process.execPath, [child, path, '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, [CHILD_OPEN_ENV]: JSON.stringify(v.open) } })
    await new Promise<void>((resolve) => p.stdout.once('data', () => resolve()))
    await expect(Cartridge.open(path, v.open)).rejects.toMatchObject({ code: 'CARTRIDGE_LOCKED' })
    p.kill('SIGKILL')
    await new Promise((r) => p.once('exit', r))
    // The kernel released the dead process's lock with its file descriptors.
    await (await Cartridge.open(path, v.open)).close()
  })

  it(`reopens cleanly with every acknowledged write, ${rounds} times`, async () => {
    const path = tmp.path(`kill-${v.name}.cart`)
    const cart = await Cartridge.create('kill', 'K', { ...v.create, path })
    await cart.close()
    const random = rng(3)
    let next = 0
    const expected = new Map<string, number>()
    for (let round = 0; round < rounds; round++) {
      const lastAck = await runAndKill(v, path, next, Math.floor(random() * 40))
      // Model what the child acknowledged: writes of n, deletes of n-3 every 7th.
      for (let n = next; n <= lastAck; n++) {
        expected.set(`/k/${n % 50}`, n)
        if (n % 7 === 0 && n > 0) expected.delete(`/k/${(n - 3) % 50}`)
      }
      const re = await Cartridge.open(path, v.open)
      const report = await re.check({ data: true })
      expect(report.problems).toEqual([])
      // The write after the last ack (and its delete) may have landed too, unacknowledged.
      const maybe = lastAck + 1
      const maybePath = `/k/${maybe % 50}`
      const maybeDeleted = maybe % 7 === 0 ? `/k/${(maybe - 3) % 50}` : undefined
      for (const [p, n] of expected) {
        const data = await re.read(p).catch((e) => {
          if (p === maybeDeleted && e.code === 'CARTRIDGE_NOT_FOUND') return undefined
          throw e
        })
        if (data === undefined) continue
        const matches = (m: number) => Buffer.from(data).equals(Buffer.from(content(m)))
        expect(matches(n) || (p === maybePath && matches(maybe)), `${p} should hold write ${n}`).toBe(true)
      }
      // Adopt what the unacknowledged write left, so later rounds know the exact state.
      const landed = await re.read(maybePath).then((d) => Buffer.from(d).equals(Buffer.from(content(maybe)))).catch(() => false)
      if (landed) expected.set(maybePath, maybe)
      if (maybeDeleted && !(await re.exists(maybeDeleted))) expected.delete(maybeDeleted)
      expect(report.files).toBe(expected.size)
      if (v.create.auditLog) {
        expect(await auditDisagreements(re, await readAll(re))).toEqual([])
        expect((await re.verifyAudit()).valid).toBe(true)
      }
      await re.close()
      next = lastAck + 2
    }
  })
})
