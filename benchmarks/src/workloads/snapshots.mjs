// Workload 8: snapshots. Containers of small files at several sizes; per size, the cost of
// createSnapshot (it keeps a catalog root, so it should not grow with the container), of
// deleteSnapshot with nothing to free and after 1 % of the files changed, of listSnapshots with
// 1 and 3 snapshots, of restoreSnapshot and of the first write after a snapshot, and the pages a
// snapshot + one 4 KiB change adds. Peers have no snapshots: a copy is their snapshot (better-sqlite3
// `VACUUM INTO` a new file, and `copyFileSync` of the .cart file). Then a vacuum after deleting half
// the files of the middle-sized container.
import { copyFileSync, rmSync, statSync } from 'node:fs'
import { Cartridge, Database, missing, openSqlite } from '../peers.mjs'
import { Suite, expectBytes, fmt, makeData, median, pad, round, sampleRss, tempDir } from '../harness.mjs'

export const id = 'w8'
export const title = 'snapshots: create / delete / list / restore vs container size; copies as the peers; vacuum'

const SIZE = 1024
const CHANGE = 4096
const PAGE = 4096
const MiB = 2 ** 20
/** Timing of single operations: a 5 ms pause after the harness's gc() (see Suite.time). */
const SETTLE = { settleMs: 5 }

const fileName = (/** @type {number} */ i) => `/d${pad(Math.floor(i / 1000), 4)}/f${pad(i, 7)}.bin`
const N = (/** @type {number} */ n) => n.toLocaleString('en-US')
const mib = (/** @type {number | undefined} */ b) => (b ? `${(b / 2 ** 20).toFixed(1)} MiB` : 'n/a')
const plural = (/** @type {number} */ n, /** @type {string} */ word) => `${N(n)} ${word}${n === 1 ? '' : 's'}`

/** The operations of the per-size summary table: key, label, impl. */
const OPS = [
  ['create', '`createSnapshot`', 'cartridge'],
  ['createNoSync', '`createSnapshot`, `durability: "none"` (no fdatasync)', 'cartridge'],
  ['deleteEmpty', '`deleteSnapshot` right after a create (nothing to free)', 'cartridge'],
  ['deleteSweep', '`deleteSnapshot` after 1 % of the files changed', 'cartridge'],
  ['list1', '`listSnapshots`, 1 snapshot', 'cartridge'],
  ['list3', '`listSnapshots`, 3 snapshots', 'cartridge'],
  ['restore', '`restoreSnapshot`', 'cartridge'],
  ['write', 'write 1 file (4 KiB), no new snapshot', 'cartridge'],
  ['writeAfter', 'write 1 file (4 KiB) right after `createSnapshot`', 'cartridge'],
  ['create', 'sqlite `VACUUM INTO` a new file', 'sqlite'],
  ['create', '`copyFileSync` of the .cart file', 'fs-copy'],
]

/** Phase name of operation `op` at `n` files. @param {string} op @param {number} n */
function phaseOf(op, n) {
  const at = `${N(n)} files`
  return {
    populate: `populate ${at}`,
    create: `snapshot or copy, ${at}`,
    createNoSync: `snapshot, durability "none", ${at}`,
    deleteEmpty: `delete snapshot, nothing to free, ${at}`,
    deleteSweep: `delete snapshot after 1 % changed, ${at}`,
    list1: `list 1 snapshot, ${at}`,
    list3: `list 3 snapshots, ${at}`,
    restore: `restore snapshot, ${at}`,
    write: `write 1 file (4 KiB), ${at}`,
    writeAfter: `write 1 file (4 KiB) after a snapshot, ${at}`,
  }[op] ?? op
}

/** A Suite whose Markdown adds a table of ms per operation at each container size. */
class SnapshotSuite extends Suite {
  /** @param {string[]} head @param {string[]} body */
  markdownSection(head, body) {
    const t = /** @type {{sizes: number[], ms: Record<string, Array<number | null>>, copyRatio: Record<string, Array<number | null>>} | undefined} */ (this.extra.perSize)
    if (!t) return super.markdownSection(head, body)
    const sizes = t.sizes
    const cell = (/** @type {number | null} */ x) => (x === null ? '' : fmt(x))
    const lines = ['', `| operation (median ms per op) | ${sizes.map((n) => `${N(n)} files`).join(' | ')} | largest ÷ smallest container |`, `|---|${sizes.map(() => '---:').join('|')}|---:|`]
    for (const [label, values] of Object.entries(t.ms)) {
      const a = values[0]
      const b = values[values.length - 1]
      lines.push(`| ${label} | ${values.map(cell).join(' | ')} | ${a && b ? `${(b / a).toFixed(2)}×` : ''} |`)
    }
    for (const [label, values] of Object.entries(t.copyRatio)) {
      lines.push(`| ${label} | ${values.map((x) => (x === null ? '' : `${x.toFixed(x < 10 ? 1 : 0)}×`)).join(' | ')} | |`)
    }
    return super.markdownSection(head, [...body, ...lines])
  }
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const sizes = { smoke: [200, 2_000], quick: [1_000, 10_000, 50_000], full: [1_000, 10_000, 100_000] }[ctx.mode]
  const batch = { smoke: 1_000, quick: 5_000, full: 5_000 }[ctx.mode]
  const runs = { smoke: 3, quick: 9, full: 15 }[ctx.mode]
  const copyRuns = { smoke: 1, quick: 3, full: 5 }[ctx.mode]
  const vacuumRuns = { smoke: 1, quick: 3, full: 5 }[ctx.mode]
  const vacuumAt = sizes[1]
  const suite = new SnapshotSuite(id, `snapshots of containers of ${sizes.map(N).join(' / ')} files of 1 KiB: create, delete, list, restore, write after; copies as the peers; vacuum of ${N(vacuumAt)} files with half deleted`, {
    sizes, size: SIZE, batch, runs, copyRuns, vacuumRuns, vacuumAt,
  })
  const wantCart = ctx.want('cartridge')
  const wantSqlite = ctx.want('sqlite') && !!Database
  const wantCopy = ctx.want('fs-copy')

  // Contents: 1 KiB slices of a random pool, a different slice per file and per version.
  const pool = makeData(1 * MiB + CHANGE)
  const dataOf = (/** @type {number} */ i, v = 0) => {
    const off = ((i * 7919 + v * 104_729) % (MiB / 64)) * 64
    return pool.subarray(off, off + SIZE)
  }
  const big = (/** @type {number} */ v) => pool.subarray(v * 64, v * 64 + CHANGE)

  /** @type {Record<string, any>} */
  const perSizeExtra = {}
  /** @type {Record<string, any>} */
  let vacuumExtra = {}

  for (const n of sizes) {
    const t = tempDir('snapshots')
    const cartFile = t.path('bench.cart')
    const info = /** @type {Record<string, any>} */ ((perSizeExtra[n] = {}))
    const began = performance.now()
    /** @type {any} */
    let cart
    try {
      if (wantCart || wantCopy) {
        cart = await Cartridge.create('bench', 'bench', { path: cartFile, durability: 'full' })
        await suite.time(phaseOf('populate', n), 'cartridge', { bytes: n * SIZE, ops: n }, async () => {
          for (let start = 0; start < n; start += batch) {
            await cart.transaction(async (/** @type {any} */ tx) => {
              for (let i = start; i < Math.min(n, start + batch); i++) await tx.write(fileName(i), dataOf(i))
            })
            sampleRss()
          }
        })
        info.cartBytes = statSync(cartFile).size
      }
      // The container's operations first, then the peers' copies (whose writeback would
      // otherwise share the disk with the container's fdatasync calls).
      if (wantCart) {
        await containerOps(suite, cart, n, runs, info, { dataOf, big })
        // createSnapshot without the fdatasync of its commit: the container's own work, apart
        // from the disk's sync latency (which varies by milliseconds from one call to the next).
        await cart.close()
        cart = await Cartridge.open(cartFile, { durability: 'none' })
        await cart.deleteSnapshot((await cart.createSnapshot('warm-up')).id)
        for (let r = 0; r < runs; r++) {
          await suite.time(phaseOf('createNoSync', n), 'cartridge', { ops: 1 }, () => cart.createSnapshot(`n${r}`), SETTLE)
          await cart.deleteSnapshot(`n${r}`)
        }
        await cart.close()
        cart = await Cartridge.open(cartFile)
      }
      if (wantSqlite) await sqliteCopies(suite, t, n, batch, copyRuns, info, dataOf)
      if (wantCopy) await fileCopies(suite, t, cart, cartFile, n, copyRuns, info)

      // Vacuum (middle size only): delete every other file, then vacuum copies of that container.
      if (wantCart && n === vacuumAt) {
        await cart.transaction(async (/** @type {any} */ tx) => {
          for (let i = 0; i < n; i += 2) await tx.delete(fileName(i))
        })
        // Survivors to check after each vacuum: 32 odd-numbered files spread over the container.
        /** @type {Map<string, Uint8Array>} */
        const expected = new Map()
        for (let k = 0; k < 32; k++) {
          const path = fileName(Math.floor((k * n) / 32) | 1)
          expected.set(path, Buffer.from(await cart.read(path)))
        }
        await cart.close()
        cart = undefined
        vacuumExtra = await timeVacuum(suite, t, cartFile, { n, runs: vacuumRuns, deleted: fileName(0), expected })
      }
    } finally {
      await cart?.close()
      t.dispose()
    }
    ctx.log(`[bench] w8 ${N(n)} files done in ${((performance.now() - began) / 1000).toFixed(1)} s`)
  }

  // Per-size summary (ms per operation; peer copy ÷ createSnapshot).
  const rows = suite.rows()
  const med = (/** @type {string} */ phase, /** @type {string} */ impl) => rows.find((x) => x.phase === phase && x.impl === impl)?.medianMs ?? null
  /** @type {Record<string, Array<number | null>>} */
  const ms = {}
  for (const [op, label, impl] of OPS) {
    const values = sizes.map((n) => med(phaseOf(op, n), impl))
    if (values.some((x) => x !== null)) ms[label] = values
  }
  /** @type {Record<string, Array<number | null>>} */
  const copyRatio = {}
  for (const [impl, label] of [['sqlite', 'sqlite `VACUUM INTO` ÷ `createSnapshot`'], ['fs-copy', '`copyFileSync` ÷ `createSnapshot`']]) {
    const values = sizes.map((n) => {
      const c = med(phaseOf('create', n), 'cartridge')
      const p = med(phaseOf('create', n), impl)
      return c && p ? round(p / c, 1) : null
    })
    if (values.some((x) => x !== null)) copyRatio[label] = values
  }
  suite.extra.perSize = { sizes, ms, copyRatio }
  suite.extra.containers = perSizeExtra
  suite.extra.vacuum = vacuumExtra

  const create = sizes.map((n) => med(phaseOf('create', n), 'cartridge'))
  if (create[0] && create[create.length - 1]) {
    const ratio = /** @type {number} */ (create[create.length - 1]) / /** @type {number} */ (create[0])
    suite.extra.createRatio = round(ratio, 2)
    suite.note(`createSnapshot at ${N(sizes[sizes.length - 1])} files ÷ at ${N(sizes[0])} files: ${ratio.toFixed(2)}× (${fmt(/** @type {number} */ (create[create.length - 1]))} ms vs ${fmt(/** @type {number} */ (create[0]))} ms; ${sizes[sizes.length - 1] / sizes[0]}× the files).`)
  }
  if (wantCart) {
    suite.note(`pages added (median; used pages / container size): ${sizes.map((n) => {
      const g = perSizeExtra[n].growthPages
      return `${N(n)} files: one 4 KiB write ${g.writeUsed} / ${g.writeTotal}, a snapshot + one 4 KiB write ${g.snapshotAndWriteUsed} / ${g.snapshotAndWriteTotal}`
    }).join('; ')}.`)
    suite.note(`deleteSnapshot frees (median bytes): ${sizes.map((n) => `${N(n)} files: right after a create ${median(perSizeExtra[n].freedBytesAfterCreate)}, after 1 % changed ${N(median(perSizeExtra[n].freedBytesAfterChange))}`).join('; ')}. listSnapshots exclusiveBytes with 3 snapshots: ${sizes.map((n) => `${N(n)} files: ${perSizeExtra[n].list3ExclusiveBytes.map(N).join(' / ')}`).join('; ')}.`)
  }
  if (vacuumExtra.movedPages !== undefined) {
    const v = vacuumExtra
    const row = rows.find((x) => x.phase.startsWith('vacuum') && x.impl === 'cartridge')
    suite.note(`vacuum of the ${N(vacuumAt)}-file container after deleting every other file (\`cart.vacuum({ onProgress })\` on a fresh copy of it each run, then \`check()\`): ${row ? `${fmt(row.medianMs)} ms, ` : ''}${N(v.bytesBefore)} → ${N(v.bytesAfter)} bytes (${(v.bytesBefore / MiB).toFixed(1)} → ${(v.bytesAfter / MiB).toFixed(1)} MiB), ${N(v.movedPages)} pages moved (${(v.movedPages * PAGE / MiB).toFixed(1)} MiB${row?.mibPerSec ? `, ${row.mibPerSec} MiB/s` : ''}), ${v.sweptPages} pages swept, ${v.commits} commits, ${v.progressCalls} progress reports. MiB/s is moved data ÷ median time.`)
  }
  suite.note(`containers: \`durability: "full"\` (every snapshot operation is one synced commit), files of ${N(SIZE)} B (each in a 4 KiB page of its own) written in transactions of ${N(batch)}, 1,000 per directory. Sizes on disk after populate: ${sizes.map((n) => `${N(n)} files: .cart ${mib(perSizeExtra[n].cartBytes)}, sqlite ${mib(perSizeExtra[n].sqliteBytes)}`).join('; ')}.`)
  suite.note(`\`snapshot or copy\`: cartridge \`createSnapshot(name)\` (${plural(runs, 'run')}, each followed by the timed \`deleteSnapshot\` of the \`nothing to free\` row); peers make a copy (${plural(copyRuns, 'run')}): sqlite = better-sqlite3 (WAL, \`synchronous=NORMAL\`, \`files(path TEXT PRIMARY KEY, data BLOB)\`, same data) \`VACUUM INTO\` a new file; fs-copy = \`copyFileSync\` of the .cart file (copy_file_range). Neither peer fsyncs its copy (SQLite does not sync a \`VACUUM INTO\` file). \`cart ÷ peer\` on those rows = copy time ÷ create time.`)
  suite.note('deleteSnapshot (after removing the entry) and listSnapshots mark every page the live state and each snapshot reach: a walk of the whole catalog, every file record included, so both grow with the file count even when nothing is freed. createSnapshot adds an entry pointing at the committed catalog root; restoreSnapshot frees only blocks born after the newest snapshot (older subtrees are skipped).')
  suite.note(`single operations are timed one per sample, 5 ms after the harness's \`gc()\` (its background threads would otherwise add a few ms to a sub-millisecond operation); one untimed create + delete first. \`snapshot, durability "none"\`: the same container reopened with \`durability: "none"\`, so the commit is not followed by an fdatasync: the container's own work, without the disk's sync latency.`)
  suite.note(`\`1 % changed\`: every 100th file rewritten in one transaction (untimed) between create and delete. \`list 3 snapshots\`: 1 % changed after each snapshot. \`restore\` alternates between the first and the third of them. \`write … after a snapshot\`: \`createSnapshot\` (untimed), then the timed \`write\` of one existing file with 4 KiB; \`write 1 file\` is the same write with no new snapshot.`)
  if (!Database) suite.note(missing.sqlite)
  return suite
}

/**
 * The container's snapshot operations on `cart` (holding files 0..n-1), each timed `runs` times.
 * @param {Suite} suite @param {any} cart @param {number} n @param {number} runs @param {Record<string, any>} info
 * @param {{dataOf: (i: number, v?: number) => Uint8Array, big: (v: number) => Uint8Array}} data
 */
async function containerOps(suite, cart, n, runs, info, { dataOf, big }) {
  // 1. createSnapshot, each followed by a delete (nothing to free), so every create starts from
  //    the same state; one untimed pair first (the first call in the process compiles the code).
  await cart.deleteSnapshot((await cart.createSnapshot('warm-up')).id)
  for (let r = 0; r < runs; r++) {
    /** @type {any} */
    let snap
    await suite.time(phaseOf('create', n), 'cartridge', { ops: 1 }, async () => {
      snap = await cart.createSnapshot(`s${r}`)
    }, SETTLE)
    if (snap.fileCount !== n) throw new Error(`snapshot of ${n} files has fileCount ${snap.fileCount}`)
    let freed = 0
    await suite.time(phaseOf('deleteEmpty', n), 'cartridge', { ops: 1 }, async () => {
      freed = (await cart.deleteSnapshot(`s${r}`)).freedBytes
    }, SETTLE)
    ;(info.freedBytesAfterCreate ??= []).push(freed)
  }

  // 2. Delete after 1 % of the files changed (every 100th file, a different residue each run):
  //    the old versions are the snapshot's alone and the delete sweeps them.
  let version = 1
  const changeSome = async (/** @type {number} */ k) => {
    const v = version++
    await cart.transaction(async (/** @type {any} */ tx) => {
      for (let i = k % 100; i < n; i += 100) await tx.write(fileName(i), dataOf(i, v))
    })
    return v
  }
  for (let r = 0; r < runs; r++) {
    await cart.createSnapshot('d')
    await changeSome(r)
    let freed = 0
    await suite.time(phaseOf('deleteSweep', n), 'cartridge', { ops: 1 }, async () => {
      freed = (await cart.deleteSnapshot('d')).freedBytes
    }, SETTLE)
    ;(info.freedBytesAfterChange ??= []).push(freed)
  }

  // 3. listSnapshots with 1 snapshot, then with 3 (1 % of the files changed after each).
  const first = await cart.createSnapshot('a')
  if (first.fileCount !== n) throw new Error(`snapshot 'a' has fileCount ${first.fileCount}`)
  const probe = 50 // changed (to version vA) after 'a', before 'b' and 'c'
  const vA = await changeSome(probe)
  const listTimed = async (/** @type {'list1' | 'list3'} */ op, /** @type {number} */ count) => {
    for (let r = 0; r < runs; r++) {
      /** @type {any[]} */
      let list = []
      await suite.time(phaseOf(op, n), 'cartridge', { ops: 1 }, async () => {
        list = await cart.listSnapshots()
      }, SETTLE)
      if (list.length !== count) throw new Error(`listSnapshots returned ${list.length} snapshots, want ${count}`)
      if (r === 0) info[`${op}ExclusiveBytes`] = list.map((s) => s.exclusiveBytes)
    }
  }
  await listTimed('list1', 1)
  await cart.createSnapshot('b')
  await changeSome(probe + 1)
  await cart.createSnapshot('c')
  await changeSome(probe + 2)
  await listTimed('list3', 3)

  // 4. restoreSnapshot, alternately 'a' and 'c'; then check the probe file against the last one.
  for (let r = 0; r < runs; r++) {
    await suite.time(phaseOf('restore', n), 'cartridge', { ops: 1 }, () => cart.restoreSnapshot(r % 2 ? 'c' : 'a'), SETTLE)
  }
  expectBytes(await cart.read(fileName(probe)), (runs - 1) % 2 ? dataOf(probe, vA) : dataOf(probe), `restored ${fileName(probe)}`)
  for (const s of ['a', 'b', 'c']) await cart.deleteSnapshot(s)

  // 5. A 4 KiB write with no new snapshot, and the first one after a snapshot, and the pages
  //    each adds (used pages and container size, from info()).
  /** @type {number[][]} */
  const growth = [[], [], [], []]
  for (let r = 0; r < runs; r++) {
    let before = await cart.info()
    await suite.time(phaseOf('write', n), 'cartridge', { bytes: CHANGE, ops: 1 }, () => cart.write(fileName((r * 37 + 11) % n), big(r)), SETTLE)
    let after = await cart.info()
    growth[0].push(after.usedBlocks - before.usedBlocks)
    growth[1].push(after.totalBlocks - before.totalBlocks)
    await cart.createSnapshot('w')
    before = await cart.info()
    const changed = fileName((r * 37 + 23) % n)
    await suite.time(phaseOf('writeAfter', n), 'cartridge', { bytes: CHANGE, ops: 1 }, () => cart.write(changed, big(r + 1)), SETTLE)
    after = await cart.info()
    growth[2].push(after.usedBlocks - before.usedBlocks)
    growth[3].push(after.totalBlocks - before.totalBlocks)
    expectBytes(await cart.read(changed), big(r + 1), `write after snapshot ${changed}`)
    await cart.deleteSnapshot('w')
  }
  info.growthPages = {
    writeUsed: median(growth[0]), writeTotal: median(growth[1]),
    snapshotAndWriteUsed: median(growth[2]), snapshotAndWriteTotal: median(growth[3]),
  }
}

/**
 * The sqlite peer: the same files in better-sqlite3, copied `runs` times with `VACUUM INTO`.
 * @param {Suite} suite @param {{path: (name: string) => string}} t @param {number} n @param {number} batch @param {number} runs
 * @param {Record<string, any>} info @param {(i: number) => Uint8Array} dataOf
 */
async function sqliteCopies(suite, t, n, batch, runs, info, dataOf) {
  const dbFile = t.path('files.db')
  const { db, insert } = openSqlite(dbFile, 'NORMAL')
  await suite.time(phaseOf('populate', n), 'sqlite', { bytes: n * SIZE, ops: n }, () => {
    for (let start = 0; start < n; start += batch) {
      db.transaction(() => {
        for (let i = start; i < Math.min(n, start + batch); i++) insert.run(fileName(i), dataOf(i))
      })()
      sampleRss()
    }
  })
  db.pragma('wal_checkpoint(TRUNCATE)')
  info.sqliteBytes = statSync(dbFile).size
  for (let r = 0; r < runs; r++) {
    const out = t.path(`copy-${r}.db`)
    await suite.time(phaseOf('create', n), 'sqlite', { bytes: info.sqliteBytes, ops: 1 }, () => db.exec(`VACUUM INTO '${out}'`), SETTLE)
    if (r === 0) {
      const copy = openSqlite(out, 'NORMAL')
      expectBytes(copy.select.get(fileName(n - 1)), dataOf(n - 1), `sqlite VACUUM INTO copy ${fileName(n - 1)}`)
      if (copy.db.prepare('SELECT count(*) FROM files').pluck().get() !== n) throw new Error(`sqlite VACUUM INTO copy: not ${n} rows`)
      copy.db.close()
    }
    for (const f of [out, `${out}-wal`, `${out}-shm`]) rmSync(f, { force: true })
  }
  db.close()
}

/**
 * The fs-copy peer: `copyFileSync` of the open container's file, `runs` times.
 * @param {Suite} suite @param {{path: (name: string) => string}} t @param {any} cart @param {string} cartFile
 * @param {number} n @param {number} runs @param {Record<string, any>} info
 */
async function fileCopies(suite, t, cart, cartFile, n, runs, info) {
  info.cartBytesCopied = statSync(cartFile).size
  for (let r = 0; r < runs; r++) {
    const out = t.path(`copy-${r}.cart`)
    await suite.time(phaseOf('create', n), 'fs-copy', { bytes: info.cartBytesCopied, ops: 1 }, () => copyFileSync(cartFile, out), SETTLE)
    if (r === 0) {
      const copy = await Cartridge.open(out, { readOnly: true })
      expectBytes(await copy.read(fileName(n - 1)), await cart.read(fileName(n - 1)), `fs-copy ${fileName(n - 1)}`)
      if ((await copy.info()).fileCount !== n) throw new Error(`fs-copy: not ${n} files`)
      await copy.close()
    }
    rmSync(out, { force: true })
  }
}

/**
 * Times `vacuum()` on fresh copies of the container in `file` (in which every other file was
 * deleted): `runs` copies, each opened, vacuumed, checked (`check()`, the `expected` files' bytes,
 * `deleted` gone, the file's size) and closed.
 * @param {Suite} suite @param {{path: (name: string) => string}} t @param {string} file
 * @param {{n: number, runs: number, deleted: string, expected: Map<string, Uint8Array>}} o
 */
async function timeVacuum(suite, t, file, o) {
  /** @type {any} */
  let last
  let progressCalls = 0
  for (let r = 0; r < o.runs; r++) {
    const copy = t.path(`vacuum-${r}.cart`)
    copyFileSync(file, copy)
    const cart = await Cartridge.open(copy)
    // Moved bytes are known once the vacuum returns; `time` files the sample after `fn` resolves.
    const work = { bytes: 0, ops: 1 }
    /** @type {any} */
    let res
    let calls = 0
    await suite.time(`vacuum, ${N(o.n)} files, every other one deleted`, 'cartridge', work, async () => {
      res = await cart.vacuum({ onProgress: () => calls++ })
      work.bytes = res.movedPages * PAGE
    }, SETTLE)
    if (last && res.movedPages !== last.movedPages) throw new Error(`vacuum moved ${res.movedPages} pages, ${last.movedPages} in the run before`)
    for (const [path, bytes] of o.expected) expectBytes(await cart.read(path), bytes, `after vacuum ${path}`)
    if (await cart.exists(o.deleted)) throw new Error(`deleted ${o.deleted} is back after the vacuum`)
    const check = await cart.check()
    if (!check.ok) throw new Error(`check after vacuum: ${check.problems.slice(0, 5).join('; ')}`)
    await cart.close()
    if (statSync(copy).size !== res.bytesAfter) throw new Error(`file is ${statSync(copy).size} bytes after vacuum, vacuum() says ${res.bytesAfter}`)
    rmSync(copy, { force: true })
    last = res
    progressCalls = calls
  }
  return { ...last, progressCalls }
}
