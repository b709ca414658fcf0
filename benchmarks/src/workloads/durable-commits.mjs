// Workload 4: N durable single-file commits one after another (each awaited before the next).
// Also runnable as a child process (`--child <impl> <n> <dir>`) so that strace can count the
// fsync-family calls per commit.
import { createHash } from 'node:crypto'
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cartridge, Database, lmdbOpen, missing, openLmdb, openSqlite } from '../peers.mjs'
import { syncCallsPerCommit } from '../strace.mjs'
import { Suite, expectBytes, makeData, pad, quantile, readAt, rotate, round, sampleRss, tempDir } from '../harness.mjs'

export const id = 'w4'
export const title = 'durable single-file commits, one after another'

const SIZE = 4096

/**
 * @param {Uint8Array} data
 * @returns {Array<{name: string, setup: (dir: string) => any, commit: (e: any, i: number) => any, readOne: (e: any, i: number) => any, teardown: (e: any) => any}>}
 */
function makeImpls(data) {
  const name = (/** @type {number} */ i) => `/c/f${pad(i, 6)}.bin`
  const impls = [
    {
      name: 'cartridge',
      setup: async (/** @type {string} */ dir) => ({ cart: await Cartridge.create('bench', 'bench', { path: join(dir, 'bench.cart'), durability: 'full' }) }),
      commit: (/** @type {any} */ { cart }, /** @type {number} */ i) => cart.write(name(i), data),
      readOne: (/** @type {any} */ { cart }, /** @type {number} */ i) => cart.read(name(i)),
      teardown: (/** @type {any} */ { cart }) => cart.close(),
    },
    {
      // The same commits with the audit log on: each also appends its entry (with the content's SHA-256) in the same commit.
      name: 'cartridge-audited',
      setup: async (/** @type {string} */ dir) => ({ cart: await Cartridge.create('bench', 'bench', { path: join(dir, 'bench.cart'), durability: 'full', auditLog: true }) }),
      commit: (/** @type {any} */ { cart }, /** @type {number} */ i) => cart.write(name(i), data),
      readOne: (/** @type {any} */ { cart }, /** @type {number} */ i) => cart.read(name(i)),
      teardown: (/** @type {any} */ { cart }) => cart.close(),
    },
    {
      name: 'fs-onefile',
      setup: (/** @type {string} */ dir) => ({ fd: openSync(join(dir, 'one.bin'), 'w+') }),
      commit({ fd }, i) {
        writeSync(fd, data, 0, SIZE, i * SIZE)
        fdatasyncSync(fd)
      },
      readOne: ({ fd }, i) => readAt(fd, Buffer.alloc(SIZE), i * SIZE),
      teardown: ({ fd }) => closeSync(fd),
    },
  ]
  if (Database) {
    impls.push({
      name: 'sqlite',
      setup: (dir) => openSqlite(join(dir, 'files.db'), 'FULL'),
      commit: ({ insert }, i) => insert.run(name(i), data),
      readOne: ({ select }, i) => select.get(name(i)),
      teardown: ({ db }) => db.close(),
    })
    // The usual way to audit with SQLite: an append-only audit table written in the same transaction
    // (action, path, size, SHA-256 of the content, time), without a hash chain.
    impls.push({
      name: 'sqlite-audited',
      setup: (dir) => {
        const s = openSqlite(join(dir, 'files.db'), 'FULL')
        s.db.exec('CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY, time INTEGER, action TEXT, path TEXT, size INTEGER, sha256 BLOB)')
        const log = s.db.prepare('INSERT INTO audit(time, action, path, size, sha256) VALUES (?, ?, ?, ?, ?)')
        const write = s.db.transaction((/** @type {string} */ p, /** @type {Uint8Array} */ d) => {
          s.insert.run(p, d)
          log.run(Date.now(), 'write', p, d.length, createHash('sha256').update(d).digest())
        })
        return { ...s, write }
      },
      commit: ({ write }, i) => write(name(i), data),
      readOne: ({ select }, i) => select.get(name(i)),
      teardown: ({ db }) => db.close(),
    })
  }
  if (lmdbOpen) {
    impls.push({
      name: 'lmdb',
      setup: (dir) => ({ db: openLmdb(join(dir, 'files.mdb')) }),
      commit: ({ db }, i) => db.putSync(name(i), data),
      readOne: ({ db }, i) => db.getBinary(name(i)),
      teardown: ({ db }) => db.close(),
    })
  }
  return impls
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const n = { smoke: 20, quick: 1000, full: 1000 }[ctx.mode]
  const runs = { smoke: 1, quick: 3, full: 5 }[ctx.mode]
  const suite = new Suite(id, `${n.toLocaleString('en-US')} durable single-file commits (4 KiB each), one after another`, { n, size: SIZE, runs })
  const data = makeData(SIZE)
  const impls = makeImpls(data).filter((x) => ctx.want(x.name))
  /** @type {Record<string, number[]>} */
  const latencies = {}
  for (let r = 0; r < runs; r++) {
    for (const impl of rotate(impls, r)) {
      const t = tempDir(impl.name)
      const env = await impl.setup(t.dir)
      const lat = (latencies[impl.name] ??= [])
      try {
        await suite.time(`${n} commits`, impl.name, { bytes: n * SIZE, ops: n }, async () => {
          for (let i = 0; i < n; i++) {
            const a = performance.now()
            await impl.commit(env, i)
            lat.push(performance.now() - a)
            if ((i & 63) === 0) sampleRss()
          }
        })
        for (const i of [0, n - 1]) expectBytes(await impl.readOne(env, i), data, `${impl.name} commit ${i}`)
      } finally {
        await impl.teardown(env)
        t.dispose()
      }
    }
  }
  suite.extra.latencyUs = Object.fromEntries(
    Object.entries(latencies).map(([k, v]) => [k, { p50: round(quantile(v, 0.5) * 1000, 1), p90: round(quantile(v, 0.9) * 1000, 1), p99: round(quantile(v, 0.99) * 1000, 1), max: round(Math.max(...v) * 1000, 1) }]),
  )
  suite.note(`per-commit latency µs (p50 / p90 / p99 / max over all runs): ${Object.entries(/** @type {Record<string, any>} */ (suite.extra.latencyUs)).map(([k, v]) => `${k} ${v.p50} / ${v.p90} / ${v.p99} / ${v.max}`).join('; ')}`)

  // fsync-family calls per commit, counted by strace in a child process.
  syncCallsPerCommit(suite, fileURLToPath(import.meta.url), impls.map((x) => x.name), n)
  suite.note('cartridge: `durability: "full"`, `await cart.write(path, 4 KiB)` per commit. sqlite: better-sqlite3, WAL, `synchronous=FULL`, one autocommit `INSERT` per commit. lmdb: `putSync` per commit, `overlappingSync: false` (flushed before it returns). fs-onefile (floor): `writeSync` 4 KiB + `fdatasync` per commit.')
  if (!Database) suite.note(missing.sqlite)
  if (!lmdbOpen) suite.note(missing.lmdb)
  return suite
}

// ---- child mode: node durable-commits.mjs --child <impl> <n> <dir> -------------------------
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  const [, , , implName, nArg, dir] = process.argv
  const n = Number(nArg)
  const impl = makeImpls(makeData(SIZE)).find((x) => x.name === implName)
  if (!impl) throw new Error(`unknown impl ${implName}`)
  const env = await impl.setup(dir)
  for (let i = 0; i < n; i++) await impl.commit(env, i)
  await impl.teardown(env)
}
