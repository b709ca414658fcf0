#!/usr/bin/env node
// Runs the benchmark suite against the BUILT library (packages/cartridge/dist) and its peers.
//
//   node benchmarks/run.mjs --quick            # < 2 min; writes results/<date>-quick.json and results/latest-quick.md
//   node benchmarks/run.mjs --full             # the sizes of DESIGN.md §6 (1 GiB file, 1,000,000 files)
//   node benchmarks/run.mjs --smoke            # tiny sizes, checks the suite still runs (CI); writes nothing
//   options: --only w1,w3   --impl cartridge,sqlite   --no-write   --quiet
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const flag = (/** @type {string} */ f) => argv.includes(f)
const option = (/** @type {string} */ f) => {
  const i = argv.indexOf(f)
  return i >= 0 ? argv[i + 1] : undefined
}
const mode = flag('--full') ? 'full' : flag('--smoke') ? 'smoke' : 'quick'
const only = option('--only')?.split(',')
const implFilter = option('--impl')?.split(',')
const quiet = flag('--quiet')
const writeResults = mode !== 'smoke' && !flag('--no-write') && !only && !implFilter
const log = (/** @type {string} */ s) => process.stderr.write(`${s}\n`)

checkBuild()

const { versions } = await import('./src/peers.mjs')
const workloads = [
  await import('./src/workloads/small-files.mjs'),
  await import('./src/workloads/large-files.mjs'),
  await import('./src/workloads/big-file.mjs'),
  await import('./src/workloads/durable-commits.mjs'),
  await import('./src/workloads/listing.mjs'),
  await import('./src/workloads/sqlite.mjs'),
  await import('./src/workloads/cache-policy.mjs'),
  await import('./src/workloads/snapshots.mjs'),
  await import('./src/workloads/codecs.mjs'),
  await import('./src/workloads/engram.mjs'),
  await import('./src/workloads/access.mjs'),
]

const started = new Date()
const t0 = performance.now()
const env = {
  date: started.toISOString(),
  mode,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  versions: versions(),
}
const header = [
  `## Cartridge benchmarks (${mode})`,
  '',
  `${env.date} · Node ${env.node} · ${env.platform} · ${env.cpu} · ${env.memoryGiB} GiB RAM`,
  `versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ')}`,
  '',
  '`cart ÷ peer` = Cartridge throughput ÷ the peer\'s throughput on the same phase (> 1: Cartridge is faster). Times are medians of the runs; MiB/s and ops/s come from the median.',
  '`peak RSS` is the highest `process.memoryUsage().rss` sampled during the phase (whole process); `ΔRSS` its rise over the phase\'s start; `CPU` from `process.resourceUsage()`;',
  '`dirtied MiB` is the change in `resourceUsage().fsWrite` (ru_oublock, 512-byte units: bytes the process dirtied in the page cache), an indicator of write amplification.',
]
if (!quiet) console.log(header.join('\n') + '\n')

/** @type {any[]} */
const suites = []
const sections = []
for (const w of workloads) {
  if (only && !only.includes(w.id)) continue
  log(`[bench] ${w.id} ${w.title} (${mode}) …`)
  const t = performance.now()
  const suite = await w.run({ mode, want: (/** @type {string} */ impl) => !implFilter || implFilter.includes(impl), log })
  const secs = (performance.now() - t) / 1000
  suite.extra.seconds = Math.round(secs * 10) / 10
  log(`[bench] ${w.id} done in ${secs.toFixed(1)} s`)
  const md = suite.markdown()
  sections.push(md)
  suites.push(suite.toJSON())
  if (!quiet) console.log(md + '\n')
}
const totalSecs = (performance.now() - t0) / 1000
const ru = process.resourceUsage()
const footer = `Total ${totalSecs.toFixed(1)} s; process maxRSS ${(ru.maxRSS / 1024).toFixed(0)} MiB, CPU user ${(ru.userCPUTime / 1e6).toFixed(1)} s, system ${(ru.systemCPUTime / 1e6).toFixed(1)} s.`
if (!quiet) console.log(footer)
log(`[bench] ${mode}: ${suites.length} workloads ok in ${totalSecs.toFixed(1)} s`)

if (writeResults) {
  const dir = join(here, 'results')
  mkdirSync(dir, { recursive: true })
  const day = env.date.slice(0, 10)
  const json = { env, seconds: Math.round(totalSecs * 10) / 10, process: { resourceUsage: ru }, workloads: suites }
  writeFileSync(join(dir, `${day}-${mode}.json`), JSON.stringify(json, null, 2) + '\n')
  writeFileSync(join(dir, `latest-${mode}.md`), [header.join('\n'), ...sections, footer].join('\n\n') + '\n')
  log(`[bench] wrote results/${day}-${mode}.json and results/latest-${mode}.md`)
}

/** Fails when the library is not built; warns when its sources are newer than its build. */
function checkBuild() {
  const packages = join(here, '..', 'packages')
  const dist = join(packages, 'cartridge', 'dist', 'index.js')
  if (!existsSync(dist)) {
    log('benchmarks run against the built library: run `pnpm exec turbo run build` first')
    process.exit(1)
  }
  const stale = []
  for (const pkg of readdirSync(packages)) {
    const built = join(packages, pkg, 'dist', 'index.js')
    if (!existsSync(built)) continue
    const builtAt = statSync(built).mtimeMs
    if (newest(join(packages, pkg, 'src')) > builtAt) stale.push(pkg)
  }
  if (stale.length) log(`[bench] warning: sources newer than dist in ${stale.join(', ')}: rebuild (pnpm exec turbo run build) to measure current code`)
}

/** @param {string} dir @returns {number} */
function newest(dir) {
  let t = 0
  if (!existsSync(dir)) return t
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newest(p))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) t = Math.max(t, statSync(p).mtimeMs)
  }
  return t
}
