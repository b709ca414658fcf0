import { describe, expect, it } from 'vitest'
import { Cartridge, FaultyPageStore, MemoryPageStore } from './index.js'
import type { CrashMode } from '@cartridge/pager'
import { bytes, readAll, rng, sameFiles } from './testing/helpers.js'
import { crashTrial } from './testing/crash-trial.js'
import { auditDisagreements } from './testing/audit-replay.js'
import { VARIANTS, type ContainerVariant } from './testing/variants.js'

const POINTS = Number(process.env.CARTRIDGE_SNAPSHOT_CRASH_POINTS ?? 1200)
const SIZES = [0, 300, 5000, 70_000, 200_000]

/** Live files plus every snapshot's files, by snapshot name. */
interface State {
  files: Map<string, Uint8Array>
  snaps: Map<string, Map<string, Uint8Array>>
}

async function readState(cart: Cartridge): Promise<State> {
  const snaps = new Map<string, Map<string, Uint8Array>>()
  for (const s of await cart.listSnapshots()) {
    const view = cart.snapshot(s.id)
    const files = new Map<string, Uint8Array>()
    for (const p of await view.list('/')) files.set(p, await view.read(p))
    snaps.set(s.name, files)
  }
  return { files: await readAll(cart), snaps }
}

function sameState(a: State, b: State): boolean {
  if (!sameFiles(a.files, b.files) || a.snaps.size !== b.snaps.size) return false
  for (const [name, files] of a.snaps) {
    const other = b.snaps.get(name)
    if (!other || !sameFiles(files, other)) return false
  }
  return true
}

let names = 0
/** The kind of the operation last started (to count where crashes hit). */
let kind = ''

/** One random operation, weighted toward the snapshot operations and vacuum; returns the state after it. */
async function randomOp(cart: Cartridge, state: State, random: () => number, seed: number, plan: (s: State) => void): Promise<State> {
  const next: State = { files: new Map(state.files), snaps: new Map(state.snaps) }
  const snapNames = [...state.snaps.keys()]
  const paths = [...state.files.keys()]
  const r = random()
  if (r < 0.35 || paths.length === 0) {
    const p = `/d${Math.floor(random() * 2)}/f${Math.floor(random() * 8)}`
    const data = bytes(SIZES[Math.floor(random() * SIZES.length)], seed)
    next.files.set(p, data)
    kind = 'write'
    plan(next)
    await cart.write(p, data)
  } else if (r < 0.5) {
    const p = paths[Math.floor(random() * paths.length)]
    next.files.delete(p)
    kind = 'delete'
    plan(next)
    await cart.delete(p)
  } else if (r < 0.65 && snapNames.length < 4) {
    const name = `s${++names}`
    next.snaps.set(name, state.files)
    kind = 'createSnapshot'
    plan(next)
    await cart.createSnapshot(name)
  } else if (r < 0.75 && snapNames.length > 0) {
    const name = snapNames[Math.floor(random() * snapNames.length)]
    next.files = state.snaps.get(name)!
    kind = 'restoreSnapshot'
    plan(next)
    await cart.restoreSnapshot(name)
  } else if (r < 0.87 && snapNames.length > 0) {
    const name = snapNames[Math.floor(random() * snapNames.length)]
    next.snaps.delete(name)
    kind = 'deleteSnapshot'
    plan(next)
    await cart.deleteSnapshot(name)
  } else {
    // Vacuum changes where things are, never what they are.
    kind = 'vacuum'
    plan(next)
    await cart.vacuum({ stepPages: 1 + Math.floor(random() * 24) })
  }
  return next
}

/** Runs one trial; returns the kind of operation the power loss hit, or undefined. */
async function crashRun(v: ContainerVariant, trial: number, mode: CrashMode, durability: 'full' | 'none' = 'full'): Promise<string | undefined> {
  const result = await crashTrial<State>({
    random: rng(trial * 104_729 + (mode === 'random' ? 5 : 6)),
    mode, durability, slug: 'snap-crash', initial: { files: new Map(), snaps: new Map() }, op: randomOp, seed: trial * 100, warmup: 6, armWithin: 60,
    options: { ...v.create, ...v.open },
  })
  const { allowed, reopened } = result
  const crashed = result.crashed ? kind : undefined
  const got = await readState(reopened)
  if (!allowed.some((s) => sameState(s, got))) {
    throw new Error(`trial ${trial} (${mode}): reopened state is not an allowed commit (${got.files.size} files, snapshots ${[...got.snaps.keys()]})`)
  }
  const report = await reopened.check({ data: true })
  if (!report.ok) throw new Error(`trial ${trial} (${mode}): ${report.problems.slice(0, 3).join('; ')}`)
  if (v.create.auditLog) {
    const disagree = await auditDisagreements(reopened, await readAll(reopened))
    if (disagree.length > 0) throw new Error(`trial ${trial} (${mode}): the audit log disagrees: ${disagree.slice(0, 3).join('; ')}`)
    if (!(await reopened.verifyAudit()).valid) throw new Error(`trial ${trial} (${mode}): the audit log does not verify`)
  }
  // The reopened container keeps working: every snapshot can be deleted and a vacuum runs.
  for (const s of await reopened.listSnapshots()) await reopened.deleteSnapshot(s.id)
  await reopened.vacuum()
  const after = await reopened.check({ data: true })
  if (!after.ok || after.unreferencedPages !== 0) throw new Error(`trial ${trial} (${mode}) after cleanup: ${after.problems.slice(0, 3).join('; ')}`)
  if (!sameFiles(await readAll(reopened), got.files)) throw new Error(`trial ${trial} (${mode}): cleanup changed the files`)
  await reopened.close()
  return crashed
}

describe.each(VARIANTS)('fault injection through snapshot create, restore, delete and vacuum ($name)', (v) => {
  const points = v.name === 'plain' ? POINTS : Math.ceil(POINTS / 2)
  it(`reopens at the last acknowledged commit with every snapshot intact (${points} crash points, unsynced writes dropped or torn)`, async () => {
    const hits = new Map<string, number>()
    for (let t = 0; t < points; t++) {
      const hit = await crashRun(v, t, 'drop-or-tear')
      if (hit) hits.set(hit, (hits.get(hit) ?? 0) + 1)
    }
    const crashed = [...hits.values()].reduce((a, b) => a + b, 0)
    expect(crashed).toBeGreaterThan(points * 0.9)
    // Every snapshot operation and vacuum is cut short many times, not only plain writes.
    for (const k of ['createSnapshot', 'restoreSnapshot', 'deleteSnapshot', 'vacuum']) expect(hits.get(k) ?? 0).toBeGreaterThan(points / 50)
  })

  it('reopens at the last acknowledged or the interrupted commit when unsynced writes are dropped, torn or kept in any mix', async () => {
    const n = Math.ceil(points / 4)
    let crashed = 0
    for (let t = 0; t < n; t++) if (await crashRun(v, t + 100_000, 'random')) crashed++
    expect(crashed).toBeGreaterThan(n * 0.9)
  })

  it("durability 'none': reopens at the last synced commit or one after it, with every snapshot intact", async () => {
    const n = Math.ceil(points / 4)
    let crashed = 0
    for (let t = 0; t < n; t++) if (await crashRun(v, t + 200_000, 'drop-or-tear', 'none')) crashed++
    expect(crashed).toBeGreaterThan(n * 0.9)
  })

  it('a vacuum cut at every one of its writes and syncs reopens with the live state and every snapshot intact', async () => {
    // One container with snapshots and holes, then one vacuum crashed at each point in turn.
    const base = new MemoryPageStore()
    const cart = await Cartridge.fromStore(base, { ...v.create, create: { slug: 'vacuum-crash' } })
    for (let i = 0; i < 24; i++) await cart.write(`/f/${i}`, bytes(SIZES[i % SIZES.length] + i, i))
    await cart.createSnapshot('a')
    for (let i = 0; i < 24; i += 3) await cart.delete(`/f/${i}`)
    for (let i = 0; i < 6; i++) await cart.write(`/g/${i}`, bytes(70_000, 50 + i))
    await cart.createSnapshot('b')
    for (let i = 1; i < 24; i += 3) await cart.delete(`/f/${i}`)
    await cart.deleteSnapshot('a')
    const expected = await readState(cart)
    await cart.close()
    const image = base.snapshot()
    // Count the crash points of one uninterrupted vacuum.
    const dry = new FaultyPageStore(image, { crashInSync: true })
    const dryCart = await Cartridge.fromStore(dry, v.open)
    const start = dry.writes
    const { movedPages } = await dryCart.vacuum({ stepPages: 8 })
    const points = dry.writes - start
    expect(movedPages).toBeGreaterThan(50)
    expect(points).toBeGreaterThan(40)
    for (let at = 1; at <= points; at++) {
      for (const mode of ['random', 'drop-or-tear'] as const) {
        const store = new FaultyPageStore(image, { crashInSync: true, random: rng(at * 31 + (mode === 'random' ? 1 : 2)) })
        const c = await Cartridge.fromStore(store, v.open)
        store.failAfter(at + (store.writes - start))
        await expect(c.vacuum({ stepPages: 8 })).rejects.toMatchObject({ code: 'CARTRIDGE_IO' })
        store.cut()
        const reopened = await Cartridge.fromStore(new MemoryPageStore(store.crashImage(mode)), v.open)
        const got = await readState(reopened)
        if (!sameState(expected, got)) throw new Error(`vacuum cut at point ${at} (${mode}): contents changed`)
        const report = await reopened.check({ data: true })
        if (!report.ok) throw new Error(`vacuum cut at point ${at} (${mode}): ${report.problems.slice(0, 3).join('; ')}`)
        await reopened.close()
      }
    }
  })
})
