// Workload 5: a container of many small files (written in transactions of 10,000); then, in a
// fresh process each time, open it and list one directory of 100 entries.
// Runnable as a child (`--child <impl> <file> <dir>`): prints the open/readdir samples as JSON.
import { execFileSync } from 'node:child_process'
import { statSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cartridge, Database, connectSqlite, lmdbOpen, missing, openLmdb, openSqlite } from '../peers.mjs'
import { Suite, makeData, measure, pad, sampleRss, tempDir } from '../harness.mjs'

export const id = 'w5'
export const title = 'listing: open a container of many small files and read one 100-entry directory'

const PER_DIR = 100
const SIZE = 100

const dirName = (/** @type {number} */ d) => `/d${pad(d, 5)}`
const fileName = (/** @type {number} */ i) => `${dirName(Math.floor(i / PER_DIR))}/f${pad(i % PER_DIR, 3)}.txt`
/** Keys strictly between `prefix` and this bound are exactly those under directory `prefix` ('0' follows '/'). */
const upperBound = (/** @type {string} */ prefix) => prefix.slice(0, -1) + '0'

/** @type {Record<string, {populate: (file: string, count: number, batch: number, data: Uint8Array) => Promise<void> | void, open: (file: string) => Promise<any> | any, readdir: (h: any, dir: string) => Promise<string[]> | string[], close: (h: any) => any}>} */
const impls = {
  cartridge: {
    async populate(file, count, batch, data) {
      const cart = await Cartridge.create('bench', 'bench', { path: file, durability: 'full' })
      for (let start = 0; start < count; start += batch) {
        await cart.transaction(async (/** @type {any} */ tx) => {
          for (let i = start; i < Math.min(count, start + batch); i++) await tx.write(fileName(i), data)
        })
        sampleRss()
      }
      await cart.close()
    },
    open: (file) => Cartridge.open(file),
    readdir: async (cart, dir) => (await cart.readdir(dir)).map((/** @type {any} */ e) => e.name),
    close: (cart) => cart.close(),
  },
  sqlite: {
    populate(file, count, batch, data) {
      const { db, insert } = openSqlite(file, 'NORMAL')
      for (let start = 0; start < count; start += batch) {
        db.transaction(() => {
          for (let i = start; i < Math.min(count, start + batch); i++) insert.run(fileName(i), data)
        })()
        sampleRss()
      }
      db.close()
    },
    open(file) {
      const db = connectSqlite(file, 'NORMAL')
      return { db, list: db.prepare('SELECT path FROM files WHERE path > ? AND path < ? ORDER BY path').pluck() }
    },
    readdir: ({ list }, dir) => list.all(`${dir}/`, upperBound(`${dir}/`)).map((/** @type {string} */ p) => p.slice(dir.length + 1)),
    close: ({ db }) => db.close(),
  },
  lmdb: {
    populate(file, count, batch, data) {
      const db = openLmdb(file)
      for (let start = 0; start < count; start += batch) {
        db.transactionSync(() => {
          for (let i = start; i < Math.min(count, start + batch); i++) db.putSync(fileName(i), data)
        })
        sampleRss()
      }
      return db.close()
    },
    open: (file) => openLmdb(file),
    readdir: (db, dir) => [...db.getKeys({ start: `${dir}/`, end: upperBound(`${dir}/`) })].map((/** @type {string} */ k) => k.slice(dir.length + 1)),
    close: (db) => db.close(),
  },
}
const FILES = { cartridge: 'bench.cart', sqlite: 'files.db', lmdb: 'files.mdb' }

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const count = { smoke: 2_000, quick: 100_000, full: 1_000_000 }[ctx.mode]
  const batch = { smoke: 1_000, quick: 10_000, full: 10_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 5, full: 7 }[ctx.mode]
  const suite = new Suite(id, `${count.toLocaleString('en-US')} files of ${SIZE} B (${count / PER_DIR} directories of ${PER_DIR}); open + readdir of one directory, in a fresh process`, { count, batch, runs, perDir: PER_DIR, size: SIZE })
  const data = makeData(SIZE)
  const target = dirName(Math.floor(count / PER_DIR / 2))
  const names = Object.keys(impls).filter((k) => ctx.want(k) && (k !== 'sqlite' || Database) && (k !== 'lmdb' || lmdbOpen))
  const t = tempDir('listing')
  try {
    /** @type {Record<string, number>} */
    const sizes = {}
    for (const name of names) {
      const file = t.path(/** @type {Record<string, string>} */ (FILES)[name])
      await suite.time(`populate (${count / batch} txns)`, name, { bytes: count * SIZE, ops: count }, () => impls[name].populate(file, count, batch, data))
      sizes[name] = diskBytes(t.dir, /** @type {Record<string, string>} */ (FILES)[name])
    }
    for (let r = 0; r < runs; r++) {
      for (const name of names) {
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, t.path(/** @type {Record<string, string>} */ (FILES)[name]), target], { encoding: 'utf8' })
        const { open, readdir, again, entries, againEntries } = JSON.parse(out)
        if (entries !== PER_DIR || againEntries !== PER_DIR) throw new Error(`${name}: readdir returned ${entries} and ${againEntries} entries, want ${PER_DIR}`)
        suite.add('open', name, {}, open)
        suite.add(`readdir (${PER_DIR} entries)`, name, { ops: PER_DIR }, readdir)
        suite.add(`readdir, second directory`, name, { ops: PER_DIR }, again)
        suite.add('open + readdir', name, {}, {
          ms: open.ms + readdir.ms, rssBase: open.rssBase, rssPeak: Math.max(open.rssPeak, readdir.rssPeak),
          cpuUserMs: open.cpuUserMs + readdir.cpuUserMs, cpuSystemMs: open.cpuSystemMs + readdir.cpuSystemMs,
          fsWriteBlocks: open.fsWriteBlocks + readdir.fsWriteBlocks, fsReadBlocks: open.fsReadBlocks + readdir.fsReadBlocks,
          ctxVoluntary: open.ctxVoluntary + readdir.ctxVoluntary, ctxInvoluntary: open.ctxInvoluntary + readdir.ctxInvoluntary,
          maxRssKiB: readdir.maxRssKiB,
        })
      }
    }
    suite.extra.diskBytes = sizes
    suite.note(`bytes on disk after populate: ${Object.entries(sizes).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(1)} MiB`).join(', ')} (${((count * SIZE) / 2 ** 20).toFixed(1)} MiB of content).`)
  } finally {
    t.dispose()
  }
  suite.note(`populate: cartridge \`durability: "full"\`, \`transaction()\` per ${batch.toLocaleString('en-US')} files; sqlite WAL \`synchronous=NORMAL\`, one \`db.transaction\` per batch; lmdb \`transactionSync\` per batch, \`overlappingSync: false\`.`)
  suite.note(`open / readdir run in a fresh \`node\` process per run (page cache warm; peak RSS and ΔRSS are that child's, ΔRSS over the RSS after imports). Directory: \`${target}\`; \`readdir, second directory\` then lists a neighbouring directory in the same process (the first call also pays for compiling the code it runs). cartridge: \`Cartridge.open(file)\` + \`readdir(dir)\`; sqlite: open + WAL pragmas + \`SELECT path … WHERE path > 'dir/' AND path < 'dir0'\`; lmdb: \`open\` + \`getKeys({ start, end })\`.`)
  suite.note('A directory of plain files is left out here: creating and deleting 1,000,000 inodes measures the file system rather than the listing.')
  if (!Database) suite.note(missing.sqlite)
  if (!lmdbOpen) suite.note(missing.lmdb)
  return suite
}

/** Bytes of `name` plus its side files (-wal, -shm, -lock) in `dir`. @param {string} dir @param {string} name */
function diskBytes(dir, name) {
  let total = 0
  for (const f of readdirSync(dir)) if (f.startsWith(name)) total += statSync(join(dir, f)).size
  return total
}

// ---- child mode: node listing.mjs --child <impl> <file> <dir> ------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--child') {
  const [, , , name, file, dir] = process.argv
  const impl = impls[name]
  /** @type {any} */
  let h
  /** @type {string[]} */
  let list = []
  const open = await measure(async () => {
    h = await impl.open(file)
  })
  const readdir = await measure(async () => {
    list = await impl.readdir(h, dir)
  })
  // A second directory in the same process: the listing itself once its code has run once.
  const other = `${dir.slice(0, -1)}${dir.endsWith('1') ? '2' : '1'}`
  let listed = 0
  const again = await measure(async () => {
    listed = (await impl.readdir(h, other)).length
  })
  await impl.close(h)
  process.stdout.write(JSON.stringify({ open, readdir, again, entries: list.length, againEntries: listed }))
}
