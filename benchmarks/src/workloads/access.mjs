// Workload 11: access control. Decisions per second of a 3-statement and a 100-statement policy,
// for requests the policy has seen lately (remembered matches) and for requests it has never
// seen; then what a policy costs 10,000 × 4 KiB reads from a container, against the same reads
// with no policy, in the same run.
import { join } from 'node:path'
import { Cartridge } from '../peers.mjs'
import { Suite, expectBytes, makeData, median, pad, rotate, round, sampleRss, tempDir } from '../harness.mjs'

export const id = 'w11'
export const title = 'access control: policy decisions per second, and the cost of a policy on 10,000 × 4 KiB reads'

const { Action, Effect, Policy, resolveContext } = await import('cartridge')

/** The 3-statement policy: public reads, no writes or deletes, an admin may do anything. */
function threeStatements(options = {}) {
  return new Policy('three', [
    { effect: Effect.Allow, actions: [Action.Read, Action.List], resources: ['/public/**'] },
    { effect: Effect.Deny, actions: [Action.Write, Action.Delete], resources: ['/**'] },
    { effect: Effect.Allow, actions: [Action.All], resources: ['/**'], conditions: { StringEquals: { principal: 'admin' } } },
  ], options)
}

/** 100 statements, one per team directory (reads or writes of its .txt files and a shared folder), every seventh a Deny. */
function hundredStatements(options = {}) {
  const statements = []
  for (let i = 0; i < 98; i++) {
    statements.push({
      effect: i % 7 === 0 ? Effect.Deny : Effect.Allow,
      actions: [i % 2 ? Action.Read : Action.Write],
      resources: [`/team${i}/**/*.txt`, `/shared/t${i}/*`],
    })
  }
  statements.push({ effect: Effect.Allow, actions: [Action.Read, Action.List], resources: ['/public/**'] })
  statements.push({ effect: Effect.Allow, actions: [Action.All], resources: ['/**'], conditions: { StringEquals: { principal: 'admin' } } })
  return new Policy('hundred', statements, options)
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const decisions = { smoke: 20_000, quick: 1_000_000, full: 3_000_000 }[ctx.mode]
  const count = { smoke: 500, quick: 10_000, full: 10_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 9, full: 15 }[ctx.mode]
  const decisionRuns = { smoke: 1, quick: 3, full: 5 }[ctx.mode]
  const size = 4096
  const suite = new Suite(id, `${decisions.toLocaleString('en-US')} policy decisions per case; ${count.toLocaleString('en-US')} × 4 KiB reads with and without a policy`, { decisions, count, runs })

  // 1. Decisions. "cached": requests cycle through 1,000 paths the policy remembers; "uncached":
  //    the same requests to the same policy made with `cacheSize: 0` (every one normalized and
  //    matched afresh); "misses": every request names a path the policy has never seen (matched,
  //    then remembered: the cost of a miss). `evaluate` checks its request and context each time
  //    and returns a Decision; `evaluateResolved` takes a context checked once (as `as()` does);
  //    `allowsResolved` is what a container calls on each operation: the verdict, no Decision.
  const seenPaths = Array.from({ length: 1000 }, (_, i) => `/team${i % 120}/dir${i % 13}/file${i}.txt`)
  const unseen = (/** @type {number} */ r, /** @type {number} */ i) => `/team${i % 120}/r${r}/d${i % 13}/f${i}.txt`
  const context = { principal: 'alice', tags: { team: 'ml' } }
  const resolved = resolveContext(context)
  /** @type {Array<{policy: string, how: string, requests: string, perSec: number[]}>} */
  const rates = []
  for (const [label, make] of /** @type {const} */ ([['3 statements', threeStatements], ['100 statements', hundredStatements]])) {
    const cached = make()
    const uncached = make({ cacheSize: 0 })
    for (const how of ['evaluate', 'evaluateResolved', 'allowsResolved']) {
      for (const requests of ['cached', 'uncached', 'misses']) {
        const policy = requests === 'uncached' ? uncached : cached
        const perSec = []
        for (let r = 0; r < decisionRuns; r++) {
          let allowed = 0
          const s = await suite.time(`decide: ${label}, ${requests}, ${how}`, 'cartridge', { ops: decisions }, () => {
            if (how === 'evaluate') {
              for (let i = 0; i < decisions; i++) {
                const path = requests === 'misses' ? unseen(r, i) : seenPaths[i % 1000]
                if (policy.evaluate({ action: Action.Read, path, context }).allowed) allowed++
              }
            } else if (how === 'evaluateResolved') {
              for (let i = 0; i < decisions; i++) {
                const path = requests === 'misses' ? unseen(r, i) : seenPaths[i % 1000]
                if (policy.evaluateResolved(Action.Read, path, resolved).allowed) allowed++
              }
            } else {
              for (let i = 0; i < decisions; i++) {
                const path = requests === 'misses' ? unseen(r, i) : seenPaths[i % 1000]
                if (policy.allowsResolved(Action.Read, path, resolved)) allowed++
              }
            }
          })
          perSec.push(decisions / (s.ms / 1000))
          if (allowed < 0) throw new Error('unreachable')
        }
        rates.push({ policy: label, how, requests, perSec })
      }
    }
  }
  // The unseen paths are built inside the timed loop; say what building them costs alone.
  {
    const perSec = []
    for (let r = 0; r < decisionRuns; r++) {
      let n = 0
      const s = await suite.time('building the unseen paths alone', 'baseline', { ops: decisions }, () => {
        for (let i = 0; i < decisions; i++) n += unseen(r + 1000, i).length
      })
      perSec.push(decisions / (s.ms / 1000))
      if (n < 0) throw new Error('unreachable')
    }
    rates.push({ policy: '—', how: 'string building only', requests: 'misses', perSec })
  }
  suite.extra.decisions = rates.map((x) => ({ ...x, medianPerSec: Math.round(median(x.perSec)) }))

  // 2. Reads: the same container, read through a view with no policy, then with each policy
  //    (allowing every read: the policy's cost, not a denial's), order rotated per run.
  const t = tempDir('access')
  const file = join(t.dir, 'access.cart')
  const data = makeData(count * size)
  const name = (/** @type {number} */ i) => `/public/d${pad(i % 100, 3)}/f${pad(i, 6)}.bin`
  {
    const cart = await Cartridge.create('bench', 'bench', { path: file, durability: 'none' })
    await cart.transaction(async (/** @type {any} */ tx) => {
      for (let i = 0; i < count; i++) await tx.write(name(i), data.subarray(i * size, (i + 1) * size))
    })
    await cart.close()
  }
  const cart = await Cartridge.open(file)
  const view = cart.as({ principal: 'alice', tags: { team: 'ml' } })
  const admin = cart.as({ principal: 'admin' }) // changing the policy is itself an action under it
  const variants = [
    { impl: 'no policy', policy: null },
    { impl: 'policy: 3 statements', policy: threeStatements() },
    { impl: 'policy: 100 statements', policy: hundredStatements() },
  ]
  for (let r = 0; r < runs + 1; r++) {
    for (const v of rotate(variants, r)) {
      await admin.setPolicy(v.policy)
      const s = await suite.time('read 10,000 × 4 KiB', v.impl === 'no policy' ? 'cartridge' : v.impl, { bytes: count * size, ops: count }, async () => {
        for (let i = 0; i < count; i++) {
          await view.read(name(i))
          if ((i & 1023) === 0) sampleRss()
        }
      })
      if (r === 0) suite.cells.get(`read 10,000 × 4 KiB\u0000${v.impl === 'no policy' ? 'cartridge' : v.impl}`)?.samples.pop() // warm-up run
      void s
    }
  }
  for (const v of variants) {
    await admin.setPolicy(v.policy)
    for (const i of [0, count - 1]) expectBytes(await view.read(name(i)), data.subarray(i * size, (i + 1) * size), `read ${name(i)} (${v.impl})`)
  }
  await admin.setPolicy(null)
  await cart.close()
  t.dispose()

  const rows = suite.rows()
  const readRow = (/** @type {string} */ impl) => rows.find((x) => x.phase === 'read 10,000 × 4 KiB' && x.impl === impl)
  const base = readRow('cartridge')
  const lines = ['', '**Decisions per second** (median of the runs, min–max), `read` of a path under `/team…`; cached: 1,000 paths asked again and again; uncached: the same with `cacheSize: 0`; misses: a new path every time:', '', '| policy | call | requests | decisions/s | min | max |', '|---|---|---|---:|---:|---:|']
  for (const x of rates) {
    const s = [...x.perSec].sort((a, b) => a - b)
    lines.push(`| ${x.policy} | ${x.how} | ${x.requests} | ${Math.round(median(x.perSec)).toLocaleString('en-US')} | ${Math.round(s[0]).toLocaleString('en-US')} | ${Math.round(s[s.length - 1]).toLocaleString('en-US')} |`)
  }
  lines.push('', `**Reads** of ${count.toLocaleString('en-US')} × 4 KiB files through \`cart.as({ principal })\`, median of ${runs} runs after a warm-up; every read allowed:`, '', '| reads | median ms | min | max | ÷ no policy (time) | slower by |', '|---|---:|---:|---:|---:|---:|')
  for (const v of variants) {
    const row = readRow(v.impl === 'no policy' ? 'cartridge' : v.impl)
    if (!row || !base) continue
    const ratio = row.medianMs / base.medianMs
    lines.push(`| ${v.impl} | ${row.medianMs} | ${row.minMs} | ${row.maxMs} | ${ratio.toFixed(3)} | ${round((ratio - 1) * 100, 1)} % |`)
  }
  suite.extra.reads = variants.map((v) => ({ impl: v.impl, medianMs: readRow(v.impl === 'no policy' ? 'cartridge' : v.impl)?.medianMs }))
  const plain = suite.markdown.bind(suite)
  suite.markdown = () => plain() + '\n' + lines.join('\n')
  return suite
}
