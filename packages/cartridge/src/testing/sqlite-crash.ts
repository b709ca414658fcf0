import type { CrashMode } from '@cartridge/pager'
import { Cartridge, FaultyPageStore, MemoryPageStore } from '../index.js'
import { bytes, rng } from './helpers.js'

/** Rows of the test table: id → value text (blobs are derived from it). */
export type Rows = Map<number, string>

/** What one power-loss run saw after reopening. */
export interface CrashVerdict {
  /** The power failed during the run (not merely at its end). */
  crashed: boolean
  /** `PRAGMA integrity_check` of the reopened database. */
  integrity: string
  /** The reopened rows equal the last acknowledged commit, or the unacknowledged one in flight. */
  outcome: 'acknowledged' | 'in-flight' | 'lost'
  /** Structural problems the container check found. */
  problems: number
  /** Transactions acknowledged before the crash. */
  acknowledged: number
}

export interface CrashRunOptions {
  mode: 'atomic' | 'wal'
  crash: CrashMode
  /** SQLite's synchronous setting (default FULL: an acknowledged commit is durable). */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL'
}

const blobFor = (v: string) => bytes(v.length * 97, v.length)

function readRows(db: import('better-sqlite3').Database): Rows {
  const rows: Rows = new Map()
  for (const r of db.prepare('SELECT id, v, b FROM t ORDER BY id').all() as Array<{ id: number; v: string; b: Buffer | null }>) {
    rows.set(r.id, r.v)
    if (r.b && !Buffer.from(blobFor(r.v)).equals(r.b)) rows.set(r.id, `${r.v} (blob damaged)`)
  }
  return rows
}

const same = (a: Rows, b: Rows) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v)

/**
 * One run of the SQLite power-loss simulator: a database in a container over a
 * {@link FaultyPageStore} takes random transactions (inserts with multi-page blobs, updates,
 * deletes, checkpoints, container file writes in between) until the power fails at a random
 * write; every write since the last sync is then dropped or torn per `crash`, and the container
 * is reopened from that image.
 */
export async function sqliteCrashRun(trial: number, options: CrashRunOptions): Promise<CrashVerdict> {
  const random = rng(trial * 7793 + (options.mode === 'wal' ? 17 : 3) + options.crash.length)
  const store = new FaultyPageStore(undefined, { random })
  const cart = await Cartridge.fromStore(store, { create: { slug: 'sqcrash' } })
  const db = cart.sqlite('/t.db', { mode: options.mode })
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, b BLOB); CREATE INDEX t_v ON t (v)')
  const insert = db.prepare('INSERT OR REPLACE INTO t (id, v, b) VALUES (?, ?, ?)')
  const remove = db.prepare('DELETE FROM t WHERE id = ?')
  let acked: Rows = new Map()
  let serial = 0
  const step = (rows: Rows): Rows => {
    const next = new Map(rows)
    const kind = random()
    const count = 1 + Math.floor(random() * (kind < 0.1 ? 200 : 12))
    for (let i = 0; i < count; i++) {
      const id = 1 + Math.floor(random() * 400)
      if (random() < 0.2 && next.has(id)) {
        remove.run(id)
        next.delete(id)
      } else {
        const v = `v${trial}-${serial++}-${'x'.repeat(Math.floor(random() * 40))}`
        insert.run(id, v, random() < 0.15 ? blobFor(v) : null)
        next.set(id, v)
      }
    }
    return next
  }
  for (let i = 0; i < 5; i++) {
    let next: Rows = acked
    db.transaction(() => (next = step(acked)))()
    acked = next
  }
  await cart.flush()
  store.failAfter(1 + Math.floor(random() * 60))
  let inflight: Rows | undefined
  let acknowledged = 0
  for (let i = 0; i < 40 && !store.crashed; i++) {
    let next: Rows | undefined
    try {
      const r = random()
      if (r < 0.08 && options.mode === 'wal') db.pragma('wal_checkpoint(PASSIVE)')
      else if (r < 0.14) await cart.write(`/side/${i % 3}`, bytes(Math.floor(random() * 9000), i))
      else {
        db.transaction(() => (next = step(acked)))()
        acked = next!
        acknowledged++
      }
    } catch (err) {
      if (!store.crashed) throw err
      inflight = next
    }
  }
  const crashed = store.crashed
  try {
    await cart.close()
  } catch {
    /* the store is dead */
  }
  store.cut()
  const reopened = await Cartridge.fromStore(new MemoryPageStore(store.crashImage(options.crash)))
  try {
    const db2 = reopened.sqlite('/t.db', { mode: options.mode })
    const integrity = String(db2.pragma('integrity_check', { simple: true }))
    const rows = readRows(db2)
    const outcome = same(rows, acked) ? 'acknowledged' : inflight && same(rows, inflight) ? 'in-flight' : 'lost'
    db2.close()
    const problems = (await reopened.check({ data: true })).problems.length
    return { crashed, integrity, outcome, problems, acknowledged }
  } finally {
    await reopened.close()
  }
}
