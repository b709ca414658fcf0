// Workload 6: SQLite inside a container (`cart.sqlite()`, 'atomic' and 'wal' modes) vs
// better-sqlite3 on a plain file, on the same rows: bulk insert in 1 transaction, inserts in
// transactions of 100, primary-key point selects with the default cache and with an 8-page cache.
// Optional: replays SQLite's speedtest1 SQL (SPEEDTEST1_SQL=file, made by speedtest1-sql.sh) on each.
// Also runnable as a child process (`--child <impl> <txns> <dir>`) so that strace can count the
// fsync-family calls per commit.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cartridge, Database, missing } from '../peers.mjs'
import { syncCallsPerCommit } from '../strace.mjs'
import { Suite, fmt, pad, prng, rotate, round, sampleRss, tempDir, wantVariant } from '../harness.mjs'

export const id = 'w6'
export const title = 'SQLite in a container (atomic, wal) vs better-sqlite3 on a plain file'

const PER_TXN = 100
const NAME_BYTES = 30
const SMALL_CACHE = 8
const PLAIN = 'sqlite'
const TIME_TARGET = 1.15

/**
 * @typedef {object} Impl
 * @property {string} name
 * @property {(dir: string) => Promise<any> | any} setup creates the empty storage in `dir`
 * @property {(env: any) => any} connect a new connection (better-sqlite3 Database) with the impl's pragmas
 * @property {(env: any) => Promise<void> | void} teardown closes what setup opened
 */

/** @returns {Impl[]} */
function makeImpls() {
  /** @type {Impl[]} */
  const impls = []
  if (Database) {
    impls.push({
      name: PLAIN,
      setup: (dir) => ({ file: join(dir, 'plain.db') }),
      connect({ file }) {
        const db = new Database(file)
        db.pragma('journal_mode = WAL')
        db.pragma('synchronous = FULL')
        return db
      },
      teardown: () => {},
    })
  }
  for (const mode of /** @type {const} */ (['atomic', 'wal'])) {
    impls.push({
      name: `cartridge-${mode}`,
      setup: async (dir) => ({ cart: await Cartridge.create('bench', 'bench', { path: join(dir, 'bench.cart'), durability: 'full' }) }),
      connect({ cart }) {
        // The container keeps the connection referenced (cart.databases) until it is closed.
        const db = cart.sqlite('/app.db', { mode })
        if (mode === 'wal') db.pragma('synchronous = FULL')
        return db
      },
      teardown: ({ cart }) => cart.close(),
    })
  }
  return impls
}

/** @typedef {{names: string[], values: number[]}} Rows */

/**
 * Runs `fn` on the storage of a fresh, empty database of `impl` (in its own temporary
 * directory), then tears it down.
 * @template T
 * @param {Impl} impl @param {(env: any) => Promise<T> | T} fn @param {string} [label] temp directory prefix
 * @returns {Promise<T>}
 */
async function withFreshDb(impl, fn, label = 'sqlite') {
  const t = tempDir(`${label}-${impl.name}`)
  const env = await impl.setup(t.dir)
  try {
    return await fn(env)
  } finally {
    await impl.teardown(env)
    t.dispose()
  }
}

/** ~30-byte names, deterministic, distinct per row. @param {number} n */
function makeRows(n) {
  const rnd = prng(7)
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  /** @type {string[]} */
  const names = new Array(n)
  /** @type {number[]} */
  const values = new Array(n)
  for (let i = 0; i < n; i++) {
    let s = `n${pad(i, 8)}-`
    while (s.length < NAME_BYTES) s += letters[Math.floor(rnd() * 26)]
    names[i] = s
    values[i] = Math.round(rnd() * 1e6) / 100
  }
  return { names, values }
}

/** @param {any} db */
function createTable(db) {
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL)')
}

/**
 * Inserts rows [0, n) in transactions of `perTxn` (ids 1..n).
 * @param {any} db @param {Rows} rows @param {number} n @param {number} perTxn
 */
function insertRows(db, rows, n, perTxn) {
  const insert = db.prepare('INSERT INTO t(id, name, value) VALUES (?, ?, ?)')
  const txn = db.transaction((/** @type {number} */ start, /** @type {number} */ end) => {
    for (let i = start; i < end; i++) insert.run(i + 1, rows.names[i], rows.values[i])
  })
  return () => {
    for (let start = 0; start < n; start += perTxn) {
      txn(start, Math.min(n, start + perTxn))
      sampleRss()
    }
  }
}

/** @param {any} db @param {Rows} rows @param {number} n @param {string} what */
function checkTable(db, rows, n, what) {
  const got = db.prepare('SELECT count(*) AS c, max(id) AS m, sum(length(name)) AS l FROM t').get()
  if (got.c !== n || got.m !== n || got.l !== n * NAME_BYTES) throw new Error(`data check failed: ${what}: ${JSON.stringify(got)}, want ${n} rows`)
  for (const i of [0, n >> 1, n - 1]) checkRow(db.prepare('SELECT name, value FROM t WHERE id = ?').get(i + 1), rows, i, what)
}

/** @param {any} row @param {Rows} rows @param {number} i @param {string} what */
function checkRow(row, rows, i, what) {
  if (!row || row.name !== rows.names[i] || row.value !== rows.values[i]) throw new Error(`data check failed: ${what}: row ${i + 1} is ${JSON.stringify(row)}`)
}

/**
 * Times `SELECT name, value FROM t WHERE id = ?` over `ids` on a new connection to `env`
 * (with `PRAGMA cache_size = cacheSize` when given, after one untimed pass when `warmUp`), then
 * checks that every id was found and the row of `checkId`.
 * @param {SqliteSuite} suite @param {Impl} impl @param {any} env
 * @param {{phase: string, ids: number[], rows: Rows, checkId: number, cacheSize?: number, warmUp?: boolean}} o
 */
async function timeSelects(suite, impl, env, o) {
  const { ids } = o
  const db = impl.connect(env)
  if (o.cacheSize !== undefined) db.pragma(`cache_size = ${o.cacheSize}`)
  const select = db.prepare('SELECT name, value FROM t WHERE id = ?')
  if (o.warmUp) selectAll(select, ids)
  let lost = 0
  await suite.time(o.phase, impl.name, { ops: ids.length }, () => {
    lost = selectAll(select, ids)
  })
  if (lost) throw new Error(`data check failed: ${impl.name} ${o.phase}: ${lost} ids not found`)
  checkRow(select.get(o.checkId), o.rows, o.checkId - 1, `${impl.name} ${o.phase}`)
  db.close()
}

/** @param {any} select @param {number[]} ids @returns {number} rows not found */
function selectAll(select, ids) {
  let missingRows = 0
  for (let i = 0; i < ids.length; i++) {
    if (select.get(ids[i]) === undefined) missingRows++
    if ((i & 1023) === 0) sampleRss()
  }
  return missingRows
}

/** A Suite whose ratios compare each container row with the plain-file row of the same phase. */
class SqliteSuite extends Suite {
  rows() {
    const rows = super.rows().map((r) => ({ ...r, timeRatio: /** @type {number | null} */ (null) }))
    for (const r of rows) {
      const plain = rows.find((x) => x.phase === r.phase && x.impl === PLAIN)
      if (!plain || r.impl === PLAIN) continue
      r.ratio = round(plain.medianMs / r.medianMs, 3) // container throughput ÷ plain throughput
      r.timeRatio = round(r.medianMs / plain.medianMs, 3) // container time ÷ plain time
    }
    return rows
  }

  markdown() {
    const rows = this.rows()
    const head = ['phase', 'impl', 'runs', 'median ms', 'min ms', 'max ms', 'ops/s', 'cart ÷ plain', 'time ÷ plain', 'peak RSS MiB', 'ΔRSS MiB', 'CPU user+sys ms', 'dirtied MiB']
    /** @type {string[]} */
    const lines = []
    const ratio = (/** @type {number | null} */ x) => (x === null ? '' : `${x.toFixed(2)}×`)
    for (const r of rows) {
      lines.push(`| ${[
        r.phase, r.impl, r.runs, fmt(r.medianMs), fmt(r.minMs), fmt(r.maxMs), r.opsPerSec?.toLocaleString('en-US') ?? '',
        r.impl === PLAIN ? '—' : ratio(r.ratio), r.impl === PLAIN ? '—' : ratio(r.timeRatio),
        r.rssPeakMiB, r.rssDeltaMiB, fmt(r.cpuUserMs + r.cpuSystemMs), r.writtenMiB,
      ].join(' | ')} |`)
    }
    // Side by side: one line per operation.
    const phases = [...new Set(rows.map((r) => r.phase))]
    const impls = [...new Set(rows.map((r) => r.impl))]
    const containers = impls.filter((x) => x !== PLAIN)
    const sHead = ['operation', ...impls.map((x) => (x === PLAIN ? `${x} (plain file) ops/s` : `${x} ops/s`)), ...containers.map((x) => `${x.replace('cartridge-', '')} ÷ plain: throughput / time`)]
    lines.push('', `| ${sHead.join(' | ')} |`, `|---|${sHead.slice(1).map(() => '---:').join('|')}|`)
    for (const p of phases) {
      const of = (/** @type {string} */ impl) => rows.find((r) => r.phase === p && r.impl === impl)
      lines.push(`| ${[
        p,
        ...impls.map((x) => of(x)?.opsPerSec?.toLocaleString('en-US') ?? ''),
        ...containers.map((x) => {
          const r = of(x)
          return r && r.ratio !== null ? `${ratio(r.ratio)} / ${ratio(r.timeRatio)}` : ''
        }),
      ].join(' | ')} |`)
    }
    return this.markdownSection(head, lines)
  }
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const n = { smoke: 1_000, quick: 20_000, full: 100_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 5, full: 5 }[ctx.mode]
  const txns = n / PER_TXN
  const N = n.toLocaleString('en-US')
  const suite = new SqliteSuite(id, `SQLite: ${N} rows of t(id INTEGER PRIMARY KEY, name TEXT, value REAL), plain file vs in a container (atomic, wal)`, { rows: n, perTxn: PER_TXN, txns, runs, nameBytes: NAME_BYTES, smallCache: SMALL_CACHE })
  const rows = makeRows(n)
  const rnd = prng(42)
  const ids = Array.from({ length: n }, () => 1 + Math.floor(rnd() * n))
  // `--impl cartridge` selects both container modes.
  const impls = makeImpls().filter((x) => wantVariant(ctx, x.name))
  const phase = {
    bulk: `insert ${N}, 1 txn`,
    txns: `insert ${N}, ${txns.toLocaleString('en-US')} txns × ${PER_TXN}`,
    warm: `select ${N} by id, default cache (warm)`,
    small: `select ${N} by id, cache_size = ${SMALL_CACHE}`,
  }

  for (let r = 0; r < runs; r++) {
    for (const impl of rotate(impls, r)) {
      // 1. all rows in one transaction, fresh database.
      await withFreshDb(impl, async (env) => {
        const db = impl.connect(env)
        createTable(db)
        await suite.time(phase.bulk, impl.name, { ops: n }, insertRows(db, rows, n, n))
        checkTable(db, rows, n, `${impl.name} ${phase.bulk}`)
        db.close()
      })

      // 2. transactions of 100 rows, fresh database; 3. and 4. select from it.
      await withFreshDb(impl, async (env) => {
        const db = impl.connect(env)
        createTable(db)
        await suite.time(phase.txns, impl.name, { ops: n }, insertRows(db, rows, n, PER_TXN))
        checkTable(db, rows, n, `${impl.name} ${phase.txns}`)
        db.close()
        // A new connection with the default cache, warmed by one untimed pass over the same ids.
        await timeSelects(suite, impl, env, { phase: phase.warm, ids, rows, checkId: ids[n - 1], warmUp: true })
        // A new connection with an 8-page cache.
        await timeSelects(suite, impl, env, { phase: phase.small, ids, rows, checkId: ids[0], cacheSize: SMALL_CACHE })
      })
    }
  }

  const script = process.env.SPEEDTEST1_SQL
  if (script && ctx.mode !== 'smoke') {
    if (!existsSync(script)) throw new Error(`SPEEDTEST1_SQL=${script}: no such file (make it with benchmarks/speedtest1-sql.sh)`)
    await replaySpeedtest1(suite, impls, script, { quick: 1, full: 3 }[ctx.mode], ctx.log)
  }

  const rowsOut = suite.rows()
  const over = rowsOut.filter((x) => x.timeRatio !== null && x.timeRatio > TIME_TARGET)
  suite.note(`target: container time ≤ ${TIME_TARGET}× the plain file's. ${over.length ? `Over it: ${over.map((x) => `${x.impl} "${x.phase}" ${x.timeRatio?.toFixed(2)}×`).join('; ')}.` : 'Every container row meets it.'}`)

  // fsync-family calls per commit, counted by strace in a child process.
  syncCallsPerCommit(suite, fileURLToPath(import.meta.url), impls.map((x) => x.name), txns, { commit: `commit of ${PER_TXN} inserts`, detail: ', WAL checkpoints included' })

  suite.note(`${PLAIN}: better-sqlite3 on a plain file, \`journal_mode = WAL\`, \`synchronous = FULL\`. cartridge-atomic: \`cart.sqlite('/app.db', { mode: 'atomic' })\` (journal in memory, each SQLite commit = one container commit; \`synchronous\` default FULL). cartridge-wal: \`{ mode: 'wal' }\` (the -wal file is a file in the container), \`synchronous = FULL\`. Containers: \`durability: "full"\`.`)
  suite.note(`Rows: ids 1..${N}, ${NAME_BYTES}-byte names, REAL values; inserts through one prepared \`INSERT\` inside \`db.transaction\`, each insert phase on a fresh database (the insert time includes WAL checkpoints SQLite runs at commit).`)
  suite.note(`Selects: \`SELECT name, value FROM t WHERE id = ?\` (autocommit: one read transaction each), ${N} seeded-random ids (same list for all), on the database of the transactions phase. "default cache": a new connection, default \`cache_size\` (-2000: 2 MB), one untimed pass over the same ids first. "cache_size = ${SMALL_CACHE}": another new connection, \`PRAGMA cache_size = ${SMALL_CACHE}\` (pages), no warm-up. Page cache of the OS warm throughout.`)
  suite.note('`cart ÷ plain` = container throughput ÷ plain-file throughput (> 1: the container is faster); `time ÷ plain` = container median time ÷ plain median time (its inverse). `--impl cartridge` selects both container modes.')
  if (!Database) suite.note(missing.sqlite ?? 'better-sqlite3 unavailable')
  return suite
}

/**
 * Replays the SQL that `speedtest1 --script` wrote, one test (`-- begin test …` block) per
 * `db.exec`, on a fresh database per impl and run; checks that every impl ends with the same
 * tables and row counts and a clean integrity_check.
 * @param {SqliteSuite} suite @param {Impl[]} impls @param {string} file @param {number} runs @param {(s: string) => void} log
 */
async function replaySpeedtest1(suite, impls, file, runs, log) {
  const sql = readFileSync(file, 'utf8')
  const tests = sql.split(/^(?=-- begin test )/m).map((text) => ({ name: /^-- begin test (.*)$/m.exec(text)?.[1] ?? '(setup)', text }))
  const phase = `speedtest1 replay (${tests.length - 1} tests)`
  /** @type {Record<string, Record<string, number>>} per impl, per test: ms summed over runs */
  const perTest = {}
  /** @type {string | undefined} */
  let fingerprint
  log(`[bench] w6 speedtest1: replaying ${file} (${(sql.length / 2 ** 20).toFixed(1)} MiB of SQL), ${runs} run(s)`)
  for (let r = 0; r < runs; r++) {
    for (const impl of rotate(impls, r)) {
      await withFreshDb(impl, async (env) => {
        const db = impl.connect(env)
        const times = (perTest[impl.name] ??= {})
        await suite.time(phase, impl.name, { ops: tests.length - 1 }, () => {
          for (const test of tests) {
            const a = performance.now()
            db.exec(test.text)
            times[test.name] = (times[test.name] ?? 0) + performance.now() - a
            sampleRss()
          }
        })
        const check = db.pragma('integrity_check', { simple: true })
        if (check !== 'ok') throw new Error(`speedtest1 replay: ${impl.name}: integrity_check ${check}`)
        const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all()
        const fp = tables.map((/** @type {string} */ n) => `${n}:${db.prepare(`SELECT count(*) FROM "${n}"`).pluck().get()}`).join(',')
        if (fingerprint === undefined) fingerprint = fp
        else if (fp !== fingerprint) throw new Error(`speedtest1 replay: ${impl.name} ends with ${fp}, another impl with ${fingerprint}`)
        db.close()
      }, 'speedtest1')
    }
  }
  suite.extra.speedtest1 = { file, bytes: sql.length, tests: tests.length - 1, runs, msPerTest: perTest }
  const plain = perTest[PLAIN]
  if (plain) {
    for (const [name, times] of Object.entries(perTest)) {
      if (name === PLAIN) continue
      const worst = Object.keys(times)
        .filter((k) => plain[k] > 5 * runs)
        .map((k) => ({ k, ratio: times[k] / plain[k] }))
        .sort((a, b) => b.ratio - a.ratio)
        .slice(0, 3)
      suite.note(`speedtest1, ${name}: slowest tests relative to the plain file (time ÷ plain): ${worst.map((w) => `"${w.k}" ${w.ratio.toFixed(2)}×`).join('; ')}`)
    }
  }
  suite.note(`speedtest1 replay: the SQL script of SQLite's \`speedtest1 --verify --script\` (${file}, ${(sql.length / 2 ** 20).toFixed(1)} MiB; see benchmarks/speedtest1-sql.sh), one \`db.exec\` per test on a fresh database per impl, same pragmas as above; ops/s counts tests. End state checked: same tables and row counts everywhere, \`integrity_check\` ok.`)
}

// ---- child mode: node sqlite.mjs --child <impl> <txns> <dir> -------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  const [, , , implName, txnsArg, dir] = process.argv
  const txns = Number(txnsArg)
  const impl = makeImpls().find((x) => x.name === implName)
  if (!impl) throw new Error(`unknown impl ${implName}`)
  const env = await impl.setup(dir)
  const db = impl.connect(env)
  createTable(db)
  insertRows(db, makeRows(txns * PER_TXN), txns * PER_TXN, PER_TXN)()
  db.close()
  await impl.teardown(env)
}
