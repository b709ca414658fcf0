// Workload 7: ARC vs LRU. First the hit rate on a synthetic scan-polluted 80/20 trace at several
// cache sizes, then the same contest inside a container: point reads of small files, 80 % of them
// to a hot fifth, interleaved with listings of cold directories (scans), with the engine's page
// and catalog-node caches built by ARC (the default) or by LRU.
import { join } from 'node:path'
import { ArcCache, LruCache, replayTrace, scanPollutedTrace } from '@cartridge/arc-cache'
import { Cartridge } from '../peers.mjs'
import { Suite, expectBytes, median, pad, prng, rotate, round, tempDir, wantVariant } from '../harness.mjs'

export const id = 'w7'
export const title = 'cache policy: ARC vs LRU hit rate on a scan-polluted 80/20 workload'

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean}} ctx */
export async function run(ctx) {
  const traceLength = { smoke: 6_000, quick: 60_000, full: 200_000 }[ctx.mode]
  const dirs = { smoke: 60, quick: 600, full: 2_000 }[ctx.mode]
  const hotDirs = ctx.mode === 'smoke' ? 10 : 20
  const scanDirs = ctx.mode === 'smoke' ? 20 : 80
  const perDir = 50
  const reads = { smoke: 2_000, quick: 20_000, full: 100_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 3, full: 5 }[ctx.mode]
  const poolPages = 256
  const suite = new Suite(id, `ARC vs LRU: ${traceLength.toLocaleString('en-US')}-access scan-polluted 80/20 trace; container of ${(dirs * perDir).toLocaleString('en-US')} files, ${reads.toLocaleString('en-US')} reads with scans, ${poolPages}-page buffer pool`, {
    traceLength, dirs, perDir, reads, runs, poolPages,
  })

  // 1. The synthetic trace (universe 500 keys, hot 20 %, bursts of 400 random accesses between
  //    scans of 200 fresh keys), replayed as a read-through cache.
  const trace = scanPollutedTrace(42, traceLength)
  /** @type {Array<{capacity: number, arc: number, lru: number, points: number}>} */
  const traceRows = []
  for (const capacity of [50, 100, 150, 200]) {
    const arc = replayTrace(new ArcCache(capacity), trace)
    const lru = replayTrace(new LruCache(capacity), trace)
    traceRows.push({ capacity, arc: round(arc * 100, 1), lru: round(lru * 100, 1), points: round((arc - lru) * 100, 1) })
  }
  suite.extra.trace = traceRows

  // 2. Inside a container. Files are 200 bytes (stored in the catalog leaves), 50 per directory,
  //    so every point read walks the catalog B-tree from its root; hot files are those of the first
  //    `hotDirs` directories (they fit in the cache). A scan lists the next `scanDirs` cold
  //    directories, more catalog leaves than the cache holds.
  const name = (/** @type {number} */ d, /** @type {number} */ f) => `/d${pad(d, 5)}/f${pad(f, 3)}.txt`
  const content = (/** @type {number} */ d, /** @type {number} */ f) => new TextEncoder().encode(`${d}:${f}:`.padEnd(200, '.'))
  const t = tempDir('cache')
  const file = join(t.dir, 'cache.cart')
  {
    const cart = await Cartridge.create('bench', 'bench', { path: file, durability: 'none' })
    for (let d = 0; d < dirs; d++) {
      await cart.transaction(async (/** @type {any} */ tx) => {
        for (let f = 0; f < perDir; f++) await tx.write(name(d, f), content(d, f))
      })
    }
    await cart.close()
  }
  // The access list: bursts of 400 reads (80 % hot) alternate with scans of cold directories.
  /** @type {Array<[number, number] | number>} */
  const ops = []
  const rand = prng(7)
  let nextScan = hotDirs
  for (let i = 0; i < reads; i++) {
    const hot = rand() < 0.8
    const d = hot ? Math.floor(rand() * hotDirs) : hotDirs + Math.floor(rand() * (dirs - hotDirs))
    ops.push([d, Math.floor(rand() * perDir)])
    if (i % 400 === 399) {
      for (let k = 0; k < scanDirs; k++) {
        ops.push(nextScan)
        nextScan = nextScan + 1 < dirs ? nextScan + 1 : hotDirs
      }
    }
  }
  const policies = [
    { name: 'cartridge', label: 'ARC', make: (/** @type {number} */ n) => new ArcCache(n) },
    { name: 'cartridge-lru', label: 'LRU', make: (/** @type {number} */ n) => new LruCache(n) },
  ].filter((p) => wantVariant(ctx, p.name))
  /** @type {Record<string, number[]>} */
  const hitRates = {}
  for (let r = 0; r < runs; r++) {
    for (const p of rotate(policies, r)) {
      /** @type {any[]} */
      const caches = []
      const cart = await Cartridge.open(file, {
        readOnly: true, bufferPoolSize: poolPages,
        cache: (/** @type {number} */ n) => {
          const c = p.make(n)
          caches.push(c)
          return c
        },
      })
      const base = caches.map((c) => ({ ...c.stats }))
      await suite.time('reads + scans', p.name, { ops: reads }, async () => {
        for (const op of ops) {
          if (typeof op === 'number') await cart.readdir(`/d${pad(op, 5)}`)
          else await cart.read(name(op[0], op[1]))
        }
      })
      let hits = 0
      let lookups = 0
      caches.forEach((c, i) => {
        hits += c.stats.hits - base[i].hits
        lookups += c.stats.hits - base[i].hits + c.stats.misses - base[i].misses
      })
      ;(hitRates[p.label] ??= []).push(lookups ? (hits / lookups) * 100 : 0)
      expectBytes(await cart.read(name(0, 1)), content(0, 1), `${p.name} read`)
      await cart.close()
    }
  }
  t.dispose()
  suite.extra.containerHitRate = Object.fromEntries(Object.entries(hitRates).map(([k, v]) => [k, round(median(v), 1)]))

  suite.note(`hit rate on the synthetic trace (500 keys, 80 % of accesses to 100 hot ones, a scan of 200 fresh keys after every 400 accesses): ${traceRows.map((x) => `capacity ${x.capacity}: ARC ${x.arc} %, LRU ${x.lru} % (${x.points >= 0 ? '+' : ''}${x.points} points)`).join('; ')}`)
  const c = /** @type {Record<string, number>} */ (suite.extra.containerHitRate)
  if (c.ARC !== undefined && c.LRU !== undefined) {
    suite.note(`hit rate of the container's page + catalog-node caches during \`reads + scans\` (median of runs): ARC ${c.ARC} %, LRU ${c.LRU} % (${c.ARC - c.LRU >= 0 ? '+' : ''}${round(c.ARC - c.LRU, 1)} points)`)
  }
  suite.note(`container: ${dirs} directories × ${perDir} files of 200 bytes, opened read-only with \`bufferPoolSize: ${poolPages}\` and \`cache: (n) => new ArcCache(n)\` (the default) or \`new LruCache(n)\`; ${reads.toLocaleString('en-US')} \`cart.read\` calls, 80 % to the files of the first ${hotDirs} directories, the rest spread over all others, and after every 400 a scan: \`readdir\` of the next ${scanDirs} cold directories (${Math.floor(reads / 400)} scans). \`cart ÷ peer\` compares the two policies' throughput.`)
  return suite
}
