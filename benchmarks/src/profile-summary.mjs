#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof benchmarks/run.mjs --quick --only w3 --impl cartridge --no-write
//   node benchmarks/src/profile-summary.mjs /tmp/prof/*.cpuprofile [--top 25] [--lib]
//
// --lib lists only frames from the library (packages/*/dist or src); percentages stay relative
// to all non-idle samples, so they say how much of the run the library's own code costs.
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const top = Number(args[args.indexOf('--top') + 1]) || 25
const libOnly = args.includes('--lib')
const files = args.filter((a, i) => a.endsWith('.cpuprofile') && args[i - 1] !== '--top')
if (files.length === 0) {
  console.error('usage: profile-summary.mjs <file.cpuprofile>… [--top N] [--lib]')
  process.exit(2)
}

/** @type {Map<string, number>} */
const selfUs = new Map()
/** @type {Map<string, number>} */
const byFile = new Map()
let totalUs = 0
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8'))
  /** @type {Map<number, any>} */
  const nodes = new Map(prof.nodes.map((/** @type {any} */ n) => [n.id, n]))
  const deltas = prof.timeDeltas
  for (let i = 0; i < prof.samples.length; i++) {
    const n = nodes.get(prof.samples[i])
    const dt = deltas[i + 1] ?? 0
    const cf = n.callFrame
    if (cf.functionName === '(idle)') continue
    totalUs += dt
    const url = shorten(cf.url)
    const key = `${url || '(native)'}:${cf.functionName || '(anonymous)'}${cf.url ? `:${cf.lineNumber + 1}` : ''}`
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt)
    const f = url || cf.functionName
    byFile.set(f, (byFile.get(f) ?? 0) + dt)
  }
}

/** @param {string} url */
function shorten(url) {
  if (!url) return ''
  const u = url.replace(/^file:\/\//, '')
  const m = u.match(/packages\/([^/]+)\/(?:dist|src)\/(.+)$/)
  if (m) return `${m[1]}/${m[2]}`
  const nm = u.lastIndexOf('node_modules/')
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length)
  return u.replace(/^.*\/benchmarks\//, 'benchmarks/')
}

const isLib = (/** @type {string} */ k) => /^(cartridge|core|pager|catalog|allocator|arc-cache)\//.test(k)
const pct = (/** @type {number} */ us) => ((100 * us) / totalUs).toFixed(1).padStart(5)
console.log(`total non-idle ${(totalUs / 1000).toFixed(0)} ms in ${files.length} profile(s)\n`)
console.log('self %  self ms  function')
for (const [k, us] of [...selfUs].filter(([k]) => !libOnly || isLib(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${(us / 1000).toFixed(1).padStart(7)}  ${k}`)
}
console.log('\nby file (self %)')
for (const [k, us] of [...byFile].filter(([k]) => !libOnly || isLib(k)).sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`${pct(us)}  ${k}`)
}
