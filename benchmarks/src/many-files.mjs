// Shared body of the "N files of S bytes, written in one transaction, then read back" workloads.
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Cartridge, Database, lmdbOpen, missing, openLmdb, openSqlite } from './peers.mjs'
import { Suite, expectBytes, makeData, pad, readAt, rotate, sampleRss, tempDir } from './harness.mjs'

/**
 * @typedef {object} Impl
 * @property {string} name
 * @property {() => Promise<any> | any} setup
 * @property {(env: any) => Promise<void> | void} write
 * @property {(env: any) => Promise<void> | void} read
 * @property {(env: any, i: number) => Promise<Uint8Array> | Uint8Array} readOne for the data check
 * @property {(env: any) => Promise<void> | void} teardown
 */

/**
 * @param {object} o
 * @param {string} o.id
 * @param {string} o.title
 * @param {number} o.count files
 * @param {number} o.size bytes per file
 * @param {number} o.runs
 * @param {string[]} o.peers which peers to run (besides cartridge)
 * @param {(name: string) => boolean} o.want impl filter from the command line
 */
export async function manyFiles(o) {
  const { count, size } = o
  const suite = new Suite(o.id, o.title, { count, size, runs: o.runs })
  const total = count * size
  // Distinct-looking, incompressible content without holding `total` bytes: slices of a pool.
  const poolLen = Math.min(total, 64 * 1024 * 1024 + size)
  const pool = makeData(poolLen)
  const span = poolLen - size + 1
  const dataOf = (/** @type {number} */ i) => {
    const off = total === poolLen ? i * size : ((i * 7919) % Math.ceil(span / 4096)) * 4096
    return pool.subarray(off, off + size)
  }
  const name = (/** @type {number} */ i) => `/${o.id}/f${pad(i, 6)}.bin`
  const work = { bytes: total, ops: count }

  /** @type {Impl[]} */
  const impls = []
  impls.push({
    name: 'cartridge',
    async setup() {
      const t = tempDir('cart')
      return { t, cart: await Cartridge.create('bench', 'bench', { path: t.path('bench.cart'), durability: 'full' }) }
    },
    async write({ cart }) {
      await cart.transaction(async (/** @type {any} */ tx) => {
        for (let i = 0; i < count; i++) {
          await tx.write(name(i), dataOf(i))
          if ((i & 255) === 0) sampleRss()
        }
      })
    },
    async read({ cart }) {
      for (let i = 0; i < count; i++) {
        await cart.read(name(i))
        if ((i & 255) === 0) sampleRss()
      }
    },
    readOne: ({ cart }, i) => cart.read(name(i)),
    async teardown({ t, cart }) {
      await cart.close()
      t.dispose()
    },
  })
  if (o.peers.includes('fs-onefile')) {
    impls.push({
      name: 'fs-onefile',
      setup() {
        const t = tempDir('fs')
        return { t, fd: openSync(t.path('one.bin'), 'w+') }
      },
      write({ fd }) {
        for (let i = 0; i < count; i++) {
          const d = dataOf(i)
          for (let done = 0; done < size; ) done += writeSync(fd, d, done, size - done, i * size + done)
          if ((i & 255) === 0) sampleRss()
        }
        fdatasyncSync(fd)
      },
      read({ fd }) {
        for (let i = 0; i < count; i++) {
          readAt(fd, new Uint8Array(size), i * size)
          if ((i & 255) === 0) sampleRss()
        }
      },
      readOne: ({ fd }, i) => readAt(fd, new Uint8Array(size), i * size),
      teardown({ t, fd }) {
        closeSync(fd)
        t.dispose()
      },
    })
  }
  if (o.peers.includes('dir')) {
    impls.push({
      name: 'dir',
      setup() {
        const t = tempDir('dir')
        mkdirSync(join(t.dir, o.id), { recursive: true })
        return { t }
      },
      write({ t }) {
        for (let i = 0; i < count; i++) {
          writeFileSync(join(t.dir, name(i)), dataOf(i))
          if ((i & 255) === 0) sampleRss()
        }
      },
      read({ t }) {
        for (let i = 0; i < count; i++) {
          readFileSync(join(t.dir, name(i)))
          if ((i & 255) === 0) sampleRss()
        }
      },
      readOne: ({ t }, i) => readFileSync(join(t.dir, name(i))),
      teardown: ({ t }) => t.dispose(),
    })
  }
  if (o.peers.includes('sqlite')) {
    if (!Database) suite.note(missing.sqlite)
    else {
      impls.push({
        name: 'sqlite',
        setup() {
          const t = tempDir('sqlite')
          return { t, ...openSqlite(t.path('files.db'), 'NORMAL') }
        },
        write({ db, insert }) {
          db.transaction(() => {
            for (let i = 0; i < count; i++) {
              insert.run(name(i), dataOf(i))
              if ((i & 255) === 0) sampleRss()
            }
          })()
        },
        read({ select }) {
          for (let i = 0; i < count; i++) {
            select.get(name(i))
            if ((i & 255) === 0) sampleRss()
          }
        },
        readOne: ({ select }, i) => select.get(name(i)),
        teardown({ t, db }) {
          db.close()
          t.dispose()
        },
      })
    }
  }
  if (o.peers.includes('lmdb')) {
    if (!lmdbOpen) suite.note(missing.lmdb)
    else {
      impls.push({
        name: 'lmdb',
        setup() {
          const t = tempDir('lmdb')
          return { t, db: openLmdb(t.path('files.mdb')) }
        },
        write({ db }) {
          db.transactionSync(() => {
            for (let i = 0; i < count; i++) {
              db.putSync(name(i), dataOf(i))
              if ((i & 255) === 0) sampleRss()
            }
          })
        },
        read({ db }) {
          for (let i = 0; i < count; i++) {
            db.getBinary(name(i))
            if ((i & 255) === 0) sampleRss()
          }
        },
        readOne: ({ db }, i) => db.getBinary(name(i)),
        async teardown({ t, db }) {
          await db.close()
          t.dispose()
        },
      })
    }
  }

  const chosen = impls.filter((x) => o.want(x.name))
  for (let r = 0; r < o.runs; r++) {
    for (const impl of rotate(chosen, r)) {
      const env = await impl.setup()
      try {
        await suite.time('write (1 txn)', impl.name, work, () => impl.write(env))
        await suite.time('read all', impl.name, work, () => impl.read(env))
        for (const i of [0, count >> 1, count - 1]) expectBytes(await impl.readOne(env, i), dataOf(i), `${impl.name} ${name(i)}`)
      } finally {
        await impl.teardown(env)
      }
    }
  }

  suite.note('cartridge: `durability: "full"`, one `transaction()` (one commit, one fdatasync); reads are `await cart.read(path)` one after another on the same open container.')
  if (o.peers.includes('fs-onefile')) suite.note('fs-onefile (ceiling): `writeSync` at offset i×size into one file + one `fdatasync`; reads `readSync` into a fresh buffer.')
  if (o.peers.includes('dir')) suite.note('dir: `writeFileSync` per file into one directory, **no fsync** (not durable); reads `readFileSync`. On this VM, file creation is sometimes slow in the kernel (`openat` of a new file averaging ~350 µs in bad phases), so dir write times are bimodal: compare with its min.')
  if (o.peers.includes('sqlite') && Database) suite.note('sqlite: better-sqlite3, WAL, `synchronous=NORMAL` (its common default: no fsync at commit, fsync at checkpoint), one `db.transaction` of `INSERT` into `files(path TEXT PRIMARY KEY, data BLOB)`; reads `SELECT data … WHERE path = ?`.')
  if (o.peers.includes('lmdb') && lmdbOpen) suite.note('lmdb: lmdb-js, `encoding: "binary"`, no compression, `overlappingSync: false` (commit flushed before it returns), one `transactionSync` of `putSync`; reads `getBinary` (a copy). Its RSS includes the pages of its memory map that were touched.')
  suite.note('All reads hit a warm page cache (files were just written; caches are not dropped).')
  return suite
}
