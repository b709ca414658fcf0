// Child process for the SQLite hazard tests. Usage: node [--expose-gc] sqlite-hazard-child.mjs <scenario> <dir>
// Prints one JSON line with what it observed; a crash shows as a signal or a non-zero exit.
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Cartridge } from '../../dist/index.js'

const [scenario, dir] = process.argv.slice(2)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

if (scenario === 'gc') {
  // Connections and containers dropped without close(): collecting them must not call into JS.
  for (let i = 0; i < 5; i++) {
    const cart = await Cartridge.create(`gc${i}`, 'gc', { path: join(dir, `gc${i}.cart`) })
    const db = cart.sqlite('/app.db', { mode: i % 2 ? 'wal' : 'atomic' })
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
    db.prepare('SELECT * FROM t').all()
  }
  for (let i = 0; i < 10; i++) {
    globalThis.gc()
    const junk = Array.from({ length: 20000 }, (_, j) => ({ j, s: 'x'.repeat(j % 100) }))
    await new Promise((r) => setImmediate(r, junk))
  }
  const plain = new Database(join(dir, 'plain.db'))
  plain.exec('CREATE TABLE t (x); INSERT INTO t VALUES (2)')
  out({ ok: true, plain: plain.prepare('SELECT x FROM t').pluck().get() })
} else if (scenario === 'worker') {
  const main = await Cartridge.create('main', 'main', { path: join(dir, 'main.cart') })
  const db = main.sqlite('/app.db')
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
  const name = db.name
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads')
    ;(async () => {
      const { Cartridge } = await import(workerData.dist)
      const Database = require(workerData.bs3)
      const res = {}
      const cart = await Cartridge.create('w', 'w', { path: workerData.dir + '/worker.cart' })
      try { cart.sqlite('/w.db'); res.containerDb = 'opened' } catch (e) { res.containerDb = e.code }
      await cart.write('/still-works.txt', 'yes')
      res.file = await cart.readText('/still-works.txt')
      await cart.close()
      try { new Database(workerData.name); res.direct = 'opened' } catch (e) { res.direct = e.code }
      const plain = new Database(workerData.dir + '/worker-plain.db')
      plain.exec('CREATE TABLE t (x); INSERT INTO t VALUES (3)')
      res.plain = plain.prepare('SELECT x FROM t').pluck().get()
      plain.close()
      parentPort.postMessage(res)
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }))
    `,
    {
      eval: true,
      workerData: { dist: new URL('../../dist/index.js', import.meta.url).href, bs3: (await import('node:module')).createRequire(import.meta.url).resolve('better-sqlite3'), dir, name },
    },
  )
  const res = await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  await new Promise((r) => worker.once('exit', r))
  db.prepare('INSERT INTO t VALUES (2)').run()
  res.mainRows = db.prepare('SELECT x FROM t').pluck().all()
  await main.close()
  out(res)
} else if (scenario === 'unsynced-exit') {
  // Commits without fsync (durability 'none') are written to the OS before they are acknowledged.
  const cart = await Cartridge.create('nosync', 'nosync', { path: join(dir, 'nosync.cart'), durability: 'none' })
  for (let i = 0; i < 5; i++) await cart.write(`/f${i}`, `file ${i}`)
  const db = cart.sqlite('/n.db', { mode: 'wal' })
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)')
  out({ ok: true })
  process.exit(0)
} else if (scenario === 'exit') {
  // Exit with databases open, one of them mid-transaction: no crash, committed data stays.
  const cart = await Cartridge.create('exit', 'exit', { path: join(dir, 'exit.cart') })
  for (const mode of ['atomic', 'wal']) {
    const db = cart.sqlite(`/${mode}.db`, { mode })
    db.exec('CREATE TABLE t (x)')
    const ins = db.prepare('INSERT INTO t VALUES (?)')
    for (let i = 0; i < 100; i++) ins.run(i)
    db.exec('BEGIN')
    for (let i = 100; i < 5000; i++) ins.run(i)
  }
  out({ ok: true })
  process.exit(0)
}
