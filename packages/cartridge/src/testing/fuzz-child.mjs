// Child process of the fuzzer (fuzz.test.ts): reads one job per stdin line
// ({ i, file, family, seed }), exercises the container in `file` through the public API and
// prints one result line per job ({ i, outcome, detail }). The parent watches it: a job without
// a result in time is a hang, a child that dies in a job is a crash.
import { createInterface } from 'node:readline'
import { readFileSync } from 'node:fs'
import { Cartridge, isCartridgeError } from '../../dist/index.js'
import { mixedBytes, seededBytes } from '@cartridge/core'

const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'))

const sameBytes = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0

/** Whether `bytes` is a version ever written to `path` in the seed. */
function known(versions, path, bytes) {
  // A version is [size, seed] of seededBytes, or [size, seed, 'mixed'] of mixedBytes (compressible).
  for (const [size, seed, kind] of versions[path] ?? []) {
    if (size === bytes.length && sameBytes((kind === 'mixed' ? mixedBytes : seededBytes)(size, seed), bytes)) return true
  }
  return false
}

const rank = { ok: 0, coded: 1, wrong: 2, uncoded: 3 }

async function exercise(job) {
  const versions = manifest[job.seed]
  let outcome = 'ok'
  let detail = ''
  const note = (o, d) => {
    if (rank[o] > rank[outcome]) {
      outcome = o
      detail = d
    }
  }
  /** Runs one call: a CartridgeError is a coded outcome, anything else is not. */
  const attempt = async (what, fn) => {
    try {
      return await fn()
    } catch (err) {
      if (isCartridgeError(err) && /^CARTRIDGE_[A-Z_]+$/.test(err.code)) note('coded', `${what}: ${err.code}`)
      else note('uncoded', `${what}: ${err?.stack ?? String(err)}`)
      return undefined
    }
  }
  const readFiles = async (where, view) => {
    const files = await attempt(`${where} list`, () => view.list('/'))
    for (const f of files ?? []) {
      const got = await attempt(`${where} read ${f}`, () => view.read(f))
      if (got !== undefined && !known(versions, f, got)) note('wrong', `${where} read ${f}: ${got.length} bytes that were never written there`)
      await attempt(`${where} metadata ${f}`, () => view.metadata(f))
    }
    await attempt(`${where} readdir`, () => view.readdir('/'))
  }
  const cart = await attempt('open', () => Cartridge.open(job.file))
  if (!cart) return { outcome, detail }
  await readFiles('live', cart)
  const snaps = await attempt('listSnapshots', () => cart.listSnapshots())
  for (const s of snaps ?? []) await readFiles(`snapshot ${s.id}`, cart.snapshot(s.id))
  const report = await attempt('check', () => cart.check({ data: true }))
  if (report && !report.ok) note('coded', `check: ${report.problems.length + report.omittedProblems} problems`)
  if (report && report.problems.length > 1000) note('uncoded', `check listed ${report.problems.length} problems`)
  await attempt('write', () => cart.write('/fuzz/new', seededBytes(70_000, 1)))
  await attempt('delete', () => cart.delete('/fuzz/new'))
  await attempt('createSnapshot', () => cart.createSnapshot('fuzz'))
  const victim = (await attempt('list', () => cart.list('/')))?.[0]
  if (victim) await attempt(`delete ${victim}`, () => cart.delete(victim))
  if (snaps?.length) await attempt('deleteSnapshot', () => cart.deleteSnapshot(snaps[0].id))
  await attempt('vacuum', () => cart.vacuum())
  await readFiles('after changes', cart)
  await attempt('close', () => cart.close())
  return { outcome, detail }
}

const rl = createInterface({ input: process.stdin })
for await (const line of rl) {
  if (!line) continue
  const job = JSON.parse(line)
  let result
  try {
    result = await exercise(job)
  } catch (err) {
    result = { outcome: 'uncoded', detail: `harness: ${err?.stack ?? String(err)}` }
  }
  process.stdout.write(`${JSON.stringify({ i: job.i, ...result })}\n`)
}
