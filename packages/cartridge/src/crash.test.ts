import { describe, expect, it } from 'vitest'
import { Cartridge, FaultyPageStore, MemoryPageStore } from './index.js'
import type { CrashMode } from '@cartridge/pager'
import { bytes, readAll, rng, sameFiles } from './testing/helpers.js'
import { crashTrial } from './testing/crash-trial.js'
import { VARIANTS, type ContainerVariant } from './testing/variants.js'
import { auditDisagreements } from './testing/audit-replay.js'

const POINTS = Number(process.env.CARTRIDGE_CRASH_POINTS ?? 2000)
const SIZES = [0, 7, 300, 600, 5000, 65_536, 70_000, 200_000, 400_000]

type Model = Map<string, Uint8Array>

/** One random operation against the container and the model; returns the model after it. */
async function randomOp(cart: Cartridge, model: Model, random: () => number, seed: number, plan: (m: Model) => void = () => {}): Promise<Model> {
  const next = new Map(model)
  const paths = [...model.keys()]
  const r = random()
  if (r < 0.55 || paths.length === 0) {
    const p = `/d${Math.floor(random() * 3)}/f${Math.floor(random() * 12)}`
    const data = bytes(SIZES[Math.floor(random() * SIZES.length)], seed)
    if ([...model.keys()].some((k) => k.startsWith(p + '/'))) return model
    next.set(p, data)
    plan(next)
    await cart.write(p, data)
  } else if (r < 0.75) {
    const p = paths[Math.floor(random() * paths.length)]
    next.delete(p)
    plan(next)
    await cart.delete(p)
  } else if (r < 0.9) {
    const from = paths[Math.floor(random() * paths.length)]
    const to = `/moved/m${Math.floor(random() * 6)}`
    if (from === to) return model
    next.set(to, next.get(from)!)
    next.delete(from)
    plan(next)
    await cart.rename(from, to)
  } else {
    const group = Array.from({ length: 3 }, (_, i) => [`/batch/b${Math.floor(random() * 8)}-${i}`, bytes(SIZES[Math.floor(random() * SIZES.length)], seed + i)] as const)
    for (const [p, d] of group) next.set(p, d)
    plan(next)
    await cart.transaction(async (tx) => {
      for (const [p, d] of group) await tx.write(p, d)
    })
  }
  return next
}

async function crashRun(v: ContainerVariant, trial: number, mode: CrashMode, durability: 'full' | 'none'): Promise<{ crashed: boolean; acked: boolean }> {
  const { crashed, allowed, reopened } = await crashTrial<Model>({
    random: rng(trial * 7919 + (mode === 'random' ? 1 : 2) + (durability === 'none' ? 3 : 0)),
    mode, durability, slug: 'crash', initial: new Map(), op: randomOp, seed: trial * 100, warmup: 4, armWithin: 40,
    options: { ...v.create, ...v.open },
  })
  const files = await readAll(reopened)
  const ok = allowed.some((m) => sameFiles(m, files))
  if (!ok) throw new Error(`trial ${trial} (${mode}, ${durability}): reopened state is not an allowed commit`)
  const report = await reopened.check({ data: true })
  if (!report.ok) throw new Error(`trial ${trial} (${mode}, ${durability}): ${report.problems.slice(0, 3).join('; ')}`)
  if (v.create.auditLog) {
    const disagree = await auditDisagreements(reopened, files)
    if (disagree.length > 0) throw new Error(`trial ${trial} (${mode}, ${durability}): the audit log disagrees: ${disagree.slice(0, 3).join('; ')}`)
    const verified = await reopened.verifyAudit()
    if (!verified.valid) throw new Error(`trial ${trial} (${mode}, ${durability}): ${verified.problems[0]?.what}`)
  }
  await reopened.close()
  return { crashed, acked: sameFiles(allowed[durability === 'full' ? 0 : allowed.length - 1], files) }
}

async function crashRuns(v: ContainerVariant, n: number, mode: CrashMode, durability: 'full' | 'none'): Promise<{ crashed: number; acked: number }> {
  let crashed = 0
  let acked = 0
  for (let t = 0; t < n; t++) {
    const r = await crashRun(v, t, mode, durability)
    if (r.crashed) crashed++
    if (r.acked) acked++
  }
  // The harness must really crash mid-operation, or these tests prove nothing.
  expect(crashed).toBeGreaterThan(n * 0.9)
  return { crashed, acked }
}

describe.each(VARIANTS)('fault injection: power loss at random write points ($name)', (v) => {
  // The plain layout takes the full count; each other variant half, so the suite stays in budget.
  const points = v.name === 'plain' ? POINTS : Math.ceil(POINTS / 2)
  it(`reopens at the last acknowledged commit (${points} crash points, every unsynced write dropped or torn)`, async () => {
    const { acked } = await crashRuns(v, points, 'drop-or-tear', 'full')
    // An unacknowledged commit survives only when its torn sectors happened to hold their new bytes already.
    expect(acked).toBeGreaterThan(points * 0.9)
  })

  it('reopens at the last acknowledged commit or the interrupted one when unsynced writes are dropped, torn or kept in any mix', async () => {
    await crashRuns(v, Math.ceil(points / 4), 'random', 'full')
  })

  it("durability 'none' loses at most the commits since the last flush, never consistency", async () => {
    await crashRuns(v, Math.ceil(points / 4), 'drop-or-tear', 'none')
  })
})

describe('fault injection: the harness', () => {
  it('the test can fail: a store that lies about sync is caught', async () => {
    // Syncs that do nothing: the "durable" image never advances, so acknowledged commits are lost.
    class LyingStore extends FaultyPageStore {
      lying = false
      override sync(): void {
        if (!this.lying) super.sync()
      }
    }
    const store = new LyingStore()
    const cart = await Cartridge.fromStore(store, { create: { slug: 'liar' } })
    store.lying = true
    await cart.write('/acked', 'this commit was acknowledged')
    store.cut()
    const reopened = await Cartridge.fromStore(new MemoryPageStore(store.crashImage('drop')))
    expect(await reopened.exists('/acked')).toBe(false)
    await reopened.close()
  })
})
