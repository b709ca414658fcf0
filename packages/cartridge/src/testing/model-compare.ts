import { compareKeys } from '@cartridge/core'
import type { Cartridge } from '../cartridge.js'
import type { FileOps } from '../file-ops.js'
import { bytes, sameBytes } from './helpers.js'
import { type Content, type Files, type ModelState, isDir, sortedPaths } from './model-state.js'

/**
 * Compares a container with the model: every file (list, then every byte), the directory
 * listing, the file count, every snapshot (listed, listed through its view, every byte), the
 * diff of each snapshot against the live state, and a full `check({ data: true })`.
 */

/** A mismatch between the container and the model (as opposed to a crash of the test itself). */
export class ModelMismatch extends Error {
  override name = 'ModelMismatch'
  /** Index of the step of a sequence that failed (the sequence's length: after the last step). */
  step?: number
}

export function mismatch(message: string): never {
  throw new ModelMismatch(message)
}

/** Bytes by seed: `bytes(n, seed)` is a prefix of `bytes(m, seed)` for m > n, so one buffer per seed serves every size. */
const cache = new Map<number, Uint8Array>()
let cachedBytes = 0
const CACHE_LIMIT = 128 * 1024 * 1024
const EMPTY = new Uint8Array(0)

/** The bytes a model file holds (a view of a cached buffer: do not change them). */
export function expectedBytes(c: Content): Uint8Array {
  if (c.size === 0) return EMPTY
  const hit = cache.get(c.seed)
  if (hit && hit.length >= c.size) {
    cache.delete(c.seed)
    cache.set(c.seed, hit)
    return hit.subarray(0, c.size)
  }
  // Round up, so that slightly larger sizes of the same seed need no new buffer.
  const b = bytes(Math.max(c.size, Math.min(2 * (hit?.length ?? 0), 8 * 1024 * 1024), 4096), c.seed)
  if (hit) cachedBytes -= hit.length
  cache.delete(c.seed)
  cache.set(c.seed, b)
  cachedBytes += b.length
  for (const [k, v] of cache) {
    if (cachedBytes <= CACHE_LIMIT || k === c.seed) break
    cache.delete(k)
    cachedBytes -= v.length
  }
  return b.subarray(0, c.size)
}

/** Where two byte arrays first differ, for messages. */
function firstDifference(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `first difference at byte ${i} (chunk ${Math.floor(i / 65_536)})`
  return `lengths ${a.length} and ${b.length}`
}

/** Checks one file's bytes against the model. */
export function expectContent(where: string, got: Uint8Array, want: Content): void {
  const w = expectedBytes(want)
  if (!sameBytes(got, w)) mismatch(`${where}: expected ${want.size} bytes of seed ${want.seed}, got ${got.length} bytes that differ (${firstDifference(got, w)})`)
}

/** The files `view` (the container, a transaction or a snapshot view) shows, against `files`; with `sizes`, `metadata` too. */
export async function compareFiles(where: string, view: FileOps, files: Files, sizes = false): Promise<void> {
  const listed = await view.list('/')
  const want = sortedPaths(files)
  if (listed.length !== want.length || listed.some((p, i) => p !== want[i])) {
    mismatch(`${where}: list('/') is [${listed.join(', ')}], the model has [${want.join(', ')}]`)
  }
  for (const p of want) {
    expectContent(`${where} ${p}`, await view.read(p), files.get(p)!)
    if (!sizes) continue
    const meta = await view.metadata(p)
    if (meta.size !== files.get(p)!.size) mismatch(`${where}: metadata(${p}).size is ${meta.size}, the model has ${files.get(p)!.size}`)
  }
}

/** The children of the root as `readdir('/')` reports them (`name:kind`, in byte order). */
function rootEntries(files: Files): string[] {
  const out = new Map<string, 'file' | 'dir'>()
  for (const p of files.keys()) {
    const rest = p.slice(1)
    const slash = rest.indexOf('/')
    out.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? 'file' : 'dir')
  }
  return [...out.keys()].sort(compareKeys).map((name) => `${name}:${out.get(name)}`)
}

/** Everything the container shows against the model; with `check`, also a full data check. */
export async function compareState(cart: Cartridge, s: ModelState, options: { check?: boolean; where?: string } = {}): Promise<void> {
  const where = options.where ?? 'live'
  await compareFiles(where, cart, s.files, true)
  const scanned: string[] = []
  for await (const p of cart.scan('/', { batchSize: 7 })) scanned.push(p)
  if (scanned.join('\n') !== sortedPaths(s.files).join('\n')) mismatch(`${where}: scan('/') yields [${scanned.join(', ')}]`)
  const entries = (await cart.readdir('/')).map((e) => `${e.name}:${e.kind}`)
  const want = rootEntries(s.files)
  if (entries.join() !== want.join()) mismatch(`${where}: readdir('/') is [${entries.join(', ')}], the model has [${want.join(', ')}]`)
  for (const dir of ['/d', '/😀']) {
    if ((await cart.exists(dir)) !== (s.files.has(dir) || isDir(s.files, dir))) mismatch(`${where}: exists(${dir}) disagrees with the model`)
  }
  const info = await cart.info()
  if (info.fileCount !== s.files.size) mismatch(`${where}: info().fileCount is ${info.fileCount}, the model has ${s.files.size} files`)
  if (info.snapshots !== s.snapshots.length) mismatch(`${where}: info().snapshots is ${info.snapshots}, the model has ${s.snapshots.length}`)

  const listed = s.snapshots.length > 0 ? await cart.listSnapshots() : []
  const got = listed.map((x) => `${x.id}:${x.name}:${x.fileCount}`).join(', ')
  const wantSnaps = s.snapshots.map((x) => `${x.id}:${x.name}:${x.files.size}`).join(', ')
  if (got !== wantSnaps) mismatch(`${where}: listSnapshots() is [${got}], the model has [${wantSnaps}]`)
  // Snapshots the model says hold the same files: the first is read in full, the others must
  // have the very same records (an empty diff), so they reach the same chunks.
  const firstWith = new Map<Files, number>()
  for (const snap of s.snapshots) {
    const same = firstWith.get(snap.files)
    if (same === undefined) {
      firstWith.set(snap.files, snap.id)
      await compareFiles(`${where} snapshot ${snap.id}`, cart.snapshot(snap.id), snap.files)
    } else {
      const diff = await cart.diffSnapshots(same, snap.id)
      if (diff.length > 0) mismatch(`${where}: snapshots ${same} and ${snap.id} should hold the same records, diffSnapshots says ${JSON.stringify(diff.slice(0, 3))}`)
    }
    await compareDiff(where, cart, snap.id, snap.files, s.files)
  }

  if (options.check !== false) {
    const report = await cart.check({ data: true })
    if (!report.ok) mismatch(`${where}: check({ data: true }) found: ${report.problems.slice(0, 5).join('; ')}`)
  }
}

/**
 * `diffSnapshots(id)` against the model: added and removed exactly; changed must include every
 * path whose bytes differ and nothing that is not in both (a rewrite of equal bytes may count).
 */
async function compareDiff(where: string, cart: Cartridge, id: number, before: Files, after: Files): Promise<void> {
  const diff = await cart.diffSnapshots(id)
  const seen = new Set<string>()
  for (const d of diff) {
    seen.add(d.path)
    const inBefore = before.has(d.path)
    const inAfter = after.has(d.path)
    const right = d.change === 'added' ? !inBefore && inAfter : d.change === 'removed' ? inBefore && !inAfter : inBefore && inAfter
    if (!right) mismatch(`${where}: diffSnapshots(${id}) says ${d.path} was ${d.change}`)
  }
  for (const p of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(p)
    const b = after.get(p)
    const differs = !a || !b || a.size !== b.size || (a.seed !== b.seed && a.size > 0)
    if (differs && !seen.has(p)) mismatch(`${where}: diffSnapshots(${id}) leaves out ${p}`)
  }
}
