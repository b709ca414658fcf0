// Timing, statistics, RSS sampling, temp space and Markdown output for the benchmark suite.
// Plain ESM with JSDoc so it runs on Node >= 20.19 without a TypeScript runner.
import { mkdtempSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomFillSync } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const MiB = 1024 * 1024

// ---- garbage collection ------------------------------------------------------------------

/** @type {() => void} */
let gcFn = () => {}
try {
  setFlagsFromString('--expose-gc')
  gcFn = runInNewContext('gc')
} catch {
  /* no gc available: measurements are a little noisier */
}

/** Collects garbage (twice, to catch weak references) so one run's leftovers do not bill the next. */
function gc() {
  gcFn()
  gcFn()
}

// ---- deterministic numbers and data ------------------------------------------------------

/** A small seeded PRNG (mulberry32, `@cartridge/core`'s) so every peer gets the same random offsets: (seed) => () => [0, 1). */
export { seededRandom as prng } from '@cartridge/core'

/**
 * Incompressible bytes: a random block of at most 16 MiB, tiled up to `size`
 * (no peer compresses or deduplicates, so tiling does not flatter anyone).
 * @param {number} size
 * @returns {Buffer}
 */
export function makeData(size) {
  const out = Buffer.allocUnsafe(size)
  const block = Math.min(size, 16 * MiB)
  randomFillSync(out, 0, block)
  for (let off = block; off < size; off += block) out.copy(out, off, 0, Math.min(block, size - off))
  return out
}

/**
 * Throws if two byte ranges differ (data checks run outside the timed region).
 * @param {Uint8Array | undefined} got
 * @param {Uint8Array} want
 * @param {string} what
 */
export function expectBytes(got, want, what) {
  if (!got || got.length !== want.length || !Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))) {
    throw new Error(`data check failed: ${what} (got ${got ? got.length : 'nothing'} bytes, want ${want.length})`)
  }
}

/**
 * Reads `buf.length` bytes at `pos` (fewer at end of file) with positional `readSync` calls.
 * @param {number} fd @param {Uint8Array} buf @param {number} pos
 * @returns {Uint8Array} the filled part of `buf` (`buf` itself when full)
 */
export function readAt(fd, buf, pos) {
  let done = 0
  while (done < buf.length) {
    const k = readSync(fd, buf, done, buf.length - done, pos + done)
    if (k === 0) break
    done += k
  }
  return done === buf.length ? buf : buf.subarray(0, done)
}

/** @param {number} i @param {number} width */
export const pad = (i, width) => String(i).padStart(width, '0')

// ---- temporary space ---------------------------------------------------------------------

/** @type {Set<string>} */
const liveDirs = new Set()

/**
 * A fresh directory under os.tmpdir(); removed by `dispose()` or, at the latest, at exit.
 * @param {string} label
 */
export function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `cartridge-bench-${label}-`))
  liveDirs.add(dir)
  return {
    dir,
    /** @param {string} name */
    path: (name) => join(dir, name),
    dispose: () => {
      rmSync(dir, { recursive: true, force: true })
      liveDirs.delete(dir)
    },
  }
}

function removeAll() {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
  liveDirs.clear()
}
process.on('exit', removeAll)
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(sig, () => {
    removeAll()
    process.exit(130)
  })
}

// ---- RSS sampling ------------------------------------------------------------------------

let rssPeak = 0
/** Records the current RSS; call it from hot loops every few hundred operations (sync loops starve timers). */
export function sampleRss() {
  const r = process.memoryUsage.rss()
  if (r > rssPeak) rssPeak = r
}

// ---- measuring ---------------------------------------------------------------------------

/**
 * @typedef {object} Sample
 * @property {number} ms wall time
 * @property {number} rssBase RSS (bytes) when the phase began
 * @property {number} rssPeak highest RSS sampled during the phase
 * @property {number} cpuUserMs
 * @property {number} cpuSystemMs
 * @property {number} fsWriteBlocks ru_oublock delta (512-byte units on Linux: bytes dirtied)
 * @property {number} fsReadBlocks ru_inblock delta
 * @property {number} ctxVoluntary
 * @property {number} ctxInvoluntary
 * @property {number} maxRssKiB process-wide maxRSS (kernel, KiB) after the phase
 */

/**
 * Runs `fn` once and measures it.
 * @param {() => unknown | Promise<unknown>} fn
 * @returns {Promise<Sample>}
 */
export async function measure(fn) {
  const ru0 = process.resourceUsage()
  rssPeak = 0
  sampleRss()
  const rssBase = rssPeak
  const timer = setInterval(sampleRss, 5)
  timer.unref()
  const t0 = process.hrtime.bigint()
  try {
    await fn()
  } finally {
    clearInterval(timer)
  }
  const t1 = process.hrtime.bigint()
  sampleRss()
  const ru1 = process.resourceUsage()
  return {
    ms: Number(t1 - t0) / 1e6,
    rssBase,
    rssPeak,
    cpuUserMs: (ru1.userCPUTime - ru0.userCPUTime) / 1000,
    cpuSystemMs: (ru1.systemCPUTime - ru0.systemCPUTime) / 1000,
    fsWriteBlocks: ru1.fsWrite - ru0.fsWrite,
    fsReadBlocks: ru1.fsRead - ru0.fsRead,
    ctxVoluntary: ru1.voluntaryContextSwitches - ru0.voluntaryContextSwitches,
    ctxInvoluntary: ru1.involuntaryContextSwitches - ru0.involuntaryContextSwitches,
    maxRssKiB: ru1.maxRSS,
  }
}

/** @param {number[]} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** @param {number[]} xs @param {number} q in [0, 1] */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}

/**
 * Collects the samples of one workload: per (phase, impl), one sample per run.
 * The row whose impl is `cartridge` is the reference for each phase's ratio column.
 */
export class Suite {
  /**
   * @param {string} id
   * @param {string} title
   * @param {Record<string, unknown>} params
   */
  constructor(id, title, params) {
    this.id = id
    this.title = title
    this.params = params
    /** @type {string[]} */
    this.notes = []
    /** @type {Record<string, unknown>} */
    this.extra = {}
    /** @type {Map<string, {phase: string, impl: string, bytes: number, ops: number, samples: Sample[]}>} */
    this.cells = new Map()
  }

  /**
   * Times one phase of one implementation and files the sample.
   * @param {string} phase
   * @param {string} impl
   * @param {{bytes?: number, ops?: number}} work what the phase moves (for throughput)
   * @param {() => unknown | Promise<unknown>} fn
   * @param {{settleMs?: number}} [options] `settleMs`: wait this long after collecting garbage, before
   *   timing (the collector's background threads go on for a few ms after `gc()` returns and would
   *   bill a sub-millisecond phase for it; default 0)
   */
  async time(phase, impl, work, fn, options = {}) {
    gc()
    if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs))
    const s = await measure(fn)
    this.add(phase, impl, work, s)
    return s
  }

  /**
   * Files a sample measured elsewhere (e.g. in a child process).
   * @param {string} phase @param {string} impl @param {{bytes?: number, ops?: number}} work @param {Sample} s
   */
  add(phase, impl, work, s) {
    const key = `${phase}\u0000${impl}`
    let cell = this.cells.get(key)
    if (!cell) this.cells.set(key, (cell = { phase, impl, bytes: work.bytes ?? 0, ops: work.ops ?? 0, samples: [] }))
    cell.samples.push(s)
  }

  /** @param {string} text */
  note(text) {
    if (!this.notes.includes(text)) this.notes.push(text)
  }

  /** Statistics per row, with ratios against the Cartridge row of the same phase. */
  rows() {
    const rows = [...this.cells.values()].map((c) => {
      const ms = c.samples.map((s) => s.ms)
      const med = median(ms)
      return {
        phase: c.phase,
        impl: c.impl,
        runs: ms.length,
        bytes: c.bytes,
        ops: c.ops,
        samplesMs: ms.map((x) => round(x, 3)),
        medianMs: round(med, 3),
        minMs: round(Math.min(...ms), 3),
        maxMs: round(Math.max(...ms), 3),
        mibPerSec: c.bytes ? round(c.bytes / MiB / (med / 1000), 1) : null,
        opsPerSec: c.ops ? Math.round(c.ops / (med / 1000)) : null,
        /** @type {number | null} Cartridge throughput ÷ this row's throughput */
        ratio: /** @type {number | null} */ (null),
        rssPeakMiB: round(Math.max(...c.samples.map((s) => s.rssPeak)) / MiB, 1),
        rssDeltaMiB: round(median(c.samples.map((s) => s.rssPeak - s.rssBase)) / MiB, 1),
        cpuUserMs: round(median(c.samples.map((s) => s.cpuUserMs)), 1),
        cpuSystemMs: round(median(c.samples.map((s) => s.cpuSystemMs)), 1),
        writtenMiB: round(median(c.samples.map((s) => s.fsWriteBlocks)) * 512 / MiB, 1),
        readMiB: round(median(c.samples.map((s) => s.fsReadBlocks)) * 512 / MiB, 1),
        ctxVoluntary: median(c.samples.map((s) => s.ctxVoluntary)),
        ctxInvoluntary: median(c.samples.map((s) => s.ctxInvoluntary)),
        maxRssKiB: Math.max(...c.samples.map((s) => s.maxRssKiB)),
      }
    })
    for (const r of rows) {
      const cart = rows.find((x) => x.phase === r.phase && x.impl === 'cartridge')
      if (cart && r.impl !== 'cartridge') r.ratio = round(r.medianMs / cart.medianMs, 3) // same work: time ratio = throughput ratio
    }
    return rows
  }

  toJSON() {
    return { id: this.id, title: this.title, params: this.params, notes: this.notes, extra: this.extra, rows: this.rows() }
  }

  /** The workload as a Markdown section. */
  markdown() {
    const head = ['phase', 'impl', 'runs', 'median ms', 'min ms', 'max ms', 'MiB/s', 'ops/s', 'cart ÷ peer', 'peak RSS MiB', 'ΔRSS MiB', 'CPU user+sys ms', 'dirtied MiB']
    const body = this.rows().map((r) =>
      `| ${[
        r.phase, r.impl, r.runs, fmt(r.medianMs), fmt(r.minMs), fmt(r.maxMs), r.mibPerSec ?? '', r.opsPerSec?.toLocaleString('en-US') ?? '',
        r.ratio === null ? (r.impl === 'cartridge' ? '—' : '') : `${r.ratio.toFixed(2)}×`,
        r.rssPeakMiB, r.rssDeltaMiB, fmt(r.cpuUserMs + r.cpuSystemMs), r.writtenMiB,
      ].join(' | ')} |`,
    )
    return this.markdownSection(head, body)
  }

  /**
   * The workload's Markdown section around a table: heading, the table's header row
   * (the first two columns left-aligned, the others right-aligned), `body`, then the notes.
   * @param {string[]} head column titles
   * @param {string[]} body the table's rows and anything that follows them, one line each
   */
  markdownSection(head, body) {
    const lines = [`### ${this.id}: ${this.title}`, '', `| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...body]
    if (this.notes.length) lines.push('', ...this.notes.map((n) => `- ${n}`))
    return lines.join('\n')
  }
}

/** @param {number} x @param {number} digits */
export function round(x, digits) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** @param {number} ms */
export function fmt(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)
}

/**
 * Whether the command line's `--impl` filter selects `name`; `--impl cartridge` also selects
 * every `cartridge-*` variant (container modes, layouts, cache policies).
 * @param {{want: (impl: string) => boolean}} ctx @param {string} name
 */
export function wantVariant(ctx, name) {
  return ctx.want(name) || (name.startsWith('cartridge-') && ctx.want('cartridge'))
}

/**
 * Order of the implementations in run `r`: rotated, so no peer always runs first (cold) or last.
 * @template T @param {T[]} items @param {number} r
 */
export function rotate(items, r) {
  const k = r % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}
