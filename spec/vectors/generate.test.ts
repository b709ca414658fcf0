/**
 * Generates the golden containers of spec/vectors through the public API.
 *
 *   CARTRIDGE_WRITE_VECTORS=1 pnpm exec vitest run spec/vectors
 *   CARTRIDGE_WRITE_VECTORS=1 pnpm exec vitest run spec/vectors -t '^generate spec vectors snapshots:'   (one vector only)
 *
 * Skipped otherwise: the committed .cart files are the vectors (container ids and timestamps
 * differ on every run, so regenerating always changes the bytes). Every vector is built from a
 * model (path → bytes) kept here, and the model, not the library, writes `<name>.expected.json`.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Cartridge, Engram, formatPublicKey, keyId, type CreateOptions } from 'cartridge'
import { publicKeyOf, writeEngram, type EngramSourceFile } from '@cartridge/engram'
import {
  ENGRAM_VECTOR_NAMES, VECTOR_NAMES, auditSummary, bytes, keysOf, prose, sha256, summary, text,
  type AuditEntrySummary, type AuditSummary, type EngramExpected, type Expected, type KeyMaterial,
} from './content.js'

const DIR = fileURLToPath(new URL('.', import.meta.url))
const WRITE = process.env.CARTRIDGE_WRITE_VECTORS === '1'
/** Growth steps of 256 KiB keep the vectors small (growth policy is not part of the format). */
const OPTIONS = { maxGrowthPages: 64 }

/** Expected files, by normalized path. */
type Model = Map<string, Uint8Array>
/** Expected snapshot table: the next id and the snapshots (id order), each with its files. */
interface SnapshotModel { nextId: number; snapshots: Array<{ id: number; name: string; files: Model }> }

const inKeyOrder = (model: Model) => summary([...model].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))))

function writeExpected(name: string, model: Model, table?: SnapshotModel, keys?: KeyMaterial, audit?: AuditSummary): void {
  const snapshots = table && { nextId: table.nextId,
    snapshots: table.snapshots.map((s) => ({ id: s.id, name: s.name, fileCount: s.files.size, files: inKeyOrder(s.files) })) }
  const expected: Expected = table || keys || audit ? { files: inKeyOrder(model), ...snapshots, ...keys, ...(audit && { audit }) } : inKeyOrder(model)
  writeFileSync(`${DIR}${name}.expected.json`, JSON.stringify(expected, null, 2) + '\n')
}

async function fresh(name: string, title: string, durability: 'full' | 'none' = 'full', options: CreateOptions = {}): Promise<Cartridge> {
  const path = `${DIR}${name}.cart`
  rmSync(path, { force: true })
  rmSync(`${path}.lock`, { force: true })
  return Cartridge.create(name, title, { path, durability, ...OPTIONS, ...options })
}

/** Reopens read-only (with the key material of an encrypted vector) and checks the library agrees with the model (files, snapshots, audit log) before anything is written. */
async function confirm(name: string, model: Model, table?: SnapshotModel, keys?: KeyMaterial, audit?: AuditSummary): Promise<void> {
  const cart = await Cartridge.open(`${DIR}${name}.cart`, { readOnly: true, ...keysOf(keys ?? {}) })
  const same = async (files: Pick<Cartridge, 'list' | 'read'>, want: Model) => {
    const paths = await files.list('/')
    expect(new Set(paths)).toEqual(new Set(want.keys()))
    for (const p of paths) expect(Buffer.from(await files.read(p)).equals(Buffer.from(want.get(p)!))).toBe(true)
  }
  try {
    expect((await cart.check({ data: true })).problems).toEqual([])
    await same(cart, model)
    const snaps = await cart.listSnapshots()
    expect(snaps.map((s) => [s.id, s.name, s.fileCount])).toEqual((table?.snapshots ?? []).map((s) => [s.id, s.name, s.files.size]))
    for (const s of table?.snapshots ?? []) await same(cart.snapshot(s.id), s.files)
    const head = await cart.auditHead()
    expect(head.enabled).toBe(audit !== undefined)
    if (audit) {
      expect([head.size, head.base]).toEqual([audit.size, audit.base])
      const entries: AuditEntrySummary[] = []
      for await (const e of cart.auditLog()) entries.push(auditSummary(e))
      expect(entries).toEqual(audit.entries)
      const report = await cart.verifyAudit()
      expect([report.valid, report.problems]).toEqual([true, []])
    }
  } finally {
    await cart.close()
  }
  writeExpected(name, model, table, keys, audit)
}

/**
 * Vectors written by earlier versions are kept as they are, so every later version is checked
 * against containers written before it (1.4's page checksums came after all of these): with
 * `CARTRIDGE_WRITE_VECTORS=1` a vector that exists is only rewritten when
 * `CARTRIDGE_REWRITE_KEPT_VECTORS=1` says so.
 */
const REWRITE_KEPT = process.env.CARTRIDGE_REWRITE_KEPT_VECTORS === '1'
const itKept = (name: string) => it.skipIf(!REWRITE_KEPT && existsSync(`${DIR}${name}.cart`))

describe.skipIf(!WRITE)('generate spec vectors', () => {
  itKept('empty')('empty: a container with no files', async () => {
    const cart = await fresh('empty', 'Empty')
    await cart.close()
    await confirm('empty', new Map())
  })

  itKept('small')('small: inline files, an empty file, non-BMP and non-ASCII names', async () => {
    const model: Model = new Map([
      ['/hello.txt', text('Hello, Cartridge!\n')],
      ['/empty', new Uint8Array(0)],
      ['/docs/readme.md', text('# Read me\n\nInline files live inside their catalog record.\n')],
      ['/docs/exactly-512.bin', bytes(512, 1)],
      // '\uFF21' (EF BC A1) sorts before '😀' (F0 9F 98 80) in UTF-8 order, after it in UTF-16 order.
      ['/sort/\uFF21.txt', text('fullwidth A')],
      ['/sort/😀.txt', text('grinning face, U+1F600')],
      ['/unicode/caf\u00e9.txt', text('stored under its NFC name')],
    ])
    const cart = await fresh('small', 'Small inline files')
    for (const [p, data] of model) await cart.write(p, data)
    // Written under an NFD name: the container stores the NFC form, which the model holds already.
    await cart.write('/unicode/cafe\u0301.txt', text('stored under its NFC name'))
    await cart.close()
    await confirm('small', model)
  })

  itKept('chunked')('chunked: direct chunks, a chunk map, nested directories', async () => {
    const model: Model = new Map([
      ['/data/100k.bin', bytes(100_000, 2)],
      ['/data/nested/deeper/1m.bin', bytes(1_048_576, 3)],
      ['/data/nested/65537.bin', bytes(65_537, 4)],
      ['/data/nested/note.txt', text('a small file beside the big ones')],
      ['/top.txt', text('top level')],
    ])
    const cart = await fresh('chunked', 'Chunked content')
    for (const [p, data] of model) await cart.write(p, data)
    await cart.close()
    await confirm('chunked', model)
  })

  itKept('churned')('churned: overwrites, deletes, renames, free pages, a multi-level catalog', async () => {
    const model: Model = new Map()
    const name = (i: number) =>
      `/project-${i % 3}/module-${String(i % 17).padStart(2, '0')}/a-rather-long-file-name-to-fill-catalog-pages-${String(i).padStart(4, '0')}.txt`
    const content = (i: number, round: number) => (i % 50 === 0 ? bytes(3000 + i * 7, i + round * 1000) : text(`file ${i}, round ${round}\n`))

    // Phase 1, durable commits: 600 files in batches (one commit per batch).
    let cart = await fresh('churned', 'Churned container')
    for (let start = 0; start < 600; start += 100) {
      const batch: Promise<void>[] = []
      for (let i = start; i < start + 100; i++) {
        model.set(name(i), content(i, 0))
        batch.push(cart.write(name(i), content(i, 0)))
      }
      await Promise.all(batch)
    }
    // Overwrites (inline → chunked and back), deletes.
    for (let i = 0; i < 600; i += 7) {
      const data = i % 2 === 0 ? bytes(1500 + i, i + 5000) : text(`overwritten ${i}\n`)
      model.set(name(i), data)
      await cart.write(name(i), data)
    }
    for (let i = 3; i < 600; i += 11) {
      model.delete(name(i))
      await cart.delete(name(i))
    }
    await cart.close()

    // Phase 2, unsynced commits ('none'), then the synced closing commit: recovery must verify
    // everything born after the phase-1 state.
    cart = await Cartridge.open(`${DIR}churned.cart`, { durability: 'none', ...OPTIONS })
    const moved: Array<[string, string]> = []
    for (const [p] of model) if (p.startsWith('/project-2/module-05/')) moved.push([p, p.replace('/project-2/module-05/', '/archive/module-05/')])
    await cart.rename('/project-2/module-05', '/archive/module-05')
    for (const [from, to] of moved) {
      model.set(to, model.get(from)!)
      model.delete(from)
    }
    const renames: Promise<void>[] = [] // one batch: one commit
    for (let i = 1; i < 600; i += 13) {
      const from = name(i)
      if (!model.has(from)) continue
      const to = `/renamed/${String(i).padStart(4, '0')}-${from.split('/').pop()}`
      renames.push(cart.rename(from, to))
      model.set(to, model.get(from)!)
      model.delete(from)
    }
    await Promise.all(renames)
    await cart.delete('/project-1/module-16/')
    for (const p of [...model.keys()]) if (p.startsWith('/project-1/module-16/')) model.delete(p)
    for (let i = 2; i < 600; i += 199) {
      if (!model.has(name(i))) continue
      const data = bytes(70_000 + i, i + 9000)
      model.set(name(i), data)
      await cart.write(name(i), data)
    }
    await cart.close()
    await confirm('churned', model)
  })

  itKept('database')('database: a SQLite database stored as pages, rewritten copy-on-write, beside a file', async () => {
    const cart = await fresh('database', 'A SQLite database')
    const db = cart.sqlite('/app/app.db')
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, attachment BLOB)')
    const insert = db.prepare('INSERT INTO notes (body, attachment) VALUES (?, ?)')
    db.transaction(() => {
      for (let i = 0; i < 400; i++) insert.run(`note ${i}: ${'lorem ipsum '.repeat(i % 9)}`, i % 40 === 0 ? bytes(6000, i) : null)
    })()
    db.prepare('UPDATE notes SET body = body || ? WHERE id % 7 = 0').run(' (edited)')
    db.prepare('DELETE FROM notes WHERE id % 11 = 0').run()
    // The model's database bytes come from SQLite itself, not from the container's read path.
    const model: Model = new Map([
      ['/app/app.db', new Uint8Array(db.serialize())],
      ['/app/readme.txt', text('the database above is a SQLite file stored page by page\n')],
    ])
    await cart.write('/app/readme.txt', model.get('/app/readme.txt')!)
    await cart.close()
    await confirm('database', model)
  })

  itKept('snapshots')('snapshots: a snapshot table with a gap in its ids, snapshots sharing pages with each other and the live state', async () => {
    const model: Model = new Map([
      ['/a.txt', text('a, first version\n')],
      ['/b.txt', text('b, deleted after v1\n')],
      ['/docs/c.md', text('# c\n\nkept in every snapshot, deleted from the live state at the end\n')],
      ['/data/d.bin', bytes(5000, 21)], // DIRECT: one chunk, two content pages
    ])
    const table: SnapshotModel = { nextId: 1, snapshots: [] }
    const cart = await fresh('snapshots', 'Snapshots')
    const write = (p: string, data: Uint8Array) => (model.set(p, data), cart.write(p, data))
    const remove = (p: string) => (model.delete(p), cart.delete(p))
    const snapshot = async (name: string) => {
      const s = await cart.createSnapshot(name)
      expect(s.id).toBe(table.nextId)
      table.snapshots.push({ id: table.nextId++, name, files: new Map(model) })
    }
    for (const [p, data] of model) await cart.write(p, data)
    await snapshot('v1')
    await write('/a.txt', text('a, second version\n'))
    await remove('/b.txt')
    await write('/e.txt', text('e, added after v1\n'))
    await snapshot('v2')
    await write('/data/d.bin', bytes(7000, 22))
    await snapshot('v3')
    await cart.deleteSnapshot('v2') // nextId stays 4: ids 1 and 3 remain
    table.snapshots = table.snapshots.filter((s) => s.name !== 'v2')
    await write('/a.txt', text('a, third version, live only\n'))
    await remove('/docs/c.md')
    await write('/f.txt', text('f, live only\n'))
    await cart.close()
    await confirm('snapshots', model, table)
  })

  itKept('compressed')('compressed: Zstd and LZ4 chunks packed into shared runs, raw chunks beside them, packed chunks in a chunk map (1.2)', async () => {
    const model: Model = new Map([
      ['/ones-1m.bin', new Uint8Array(1 << 20).fill(0x61)], // 16 Zstd chunks in one page: a MAP record, one head and 15 continuations
      ['/text/zstd-250k.txt', prose(250_000, 41)], // 4 Zstd chunks, DIRECT, one packed run
      ['/noise-150k.bin', bytes(150_000, 42)], // incompressible: stored raw (codec 0) in a Zstd container
      ['/text/lz4-200k.txt', prose(200_000, 43)], // written with { compression: 'lz4' }: 4 LZ4 chunks, DIRECT
      ['/text/none-70k.txt', prose(70_000, 44)], // written with { compression: 'none' }: 2 raw chunks
      // Chunks 0–1 packed in one run, 2 raw (it does not shrink) and so its own head, 3 the head of a run of its own.
      ['/mixed-256k.bin', Buffer.concat([prose(131_072, 45), bytes(65_536, 46), prose(65_536, 47)])],
      ['/text/zstd-600k.txt', prose(600_000, 48)], // 10 Zstd chunks in a CHUNK_MAP_LEAF (MAP), packed
      ['/inline.txt', text('inline files are never compressed\n')],
    ])
    const per: Record<string, 'lz4' | 'none'> = { '/text/lz4-200k.txt': 'lz4', '/text/none-70k.txt': 'none' }
    const cart = await fresh('compressed', 'Compressed content', 'full', { compression: { codec: 'zstd', level: 19 } })
    for (const [p, data] of model) await cart.write(p, data, per[p] ? { compression: per[p] } : {})
    const stats = await cart.contentStats()
    expect(stats.compressedChunks).toBeGreaterThan(30)
    expect(stats.chunks - stats.compressedChunks).toBe(3 + 2 + 1) // noise, none, the mixed file's noise chunk
    // A write of known size makes room for its uncompressed size first (growth policy), so the
    // 1 MiB file grew the container by 1 MiB: give the free pages back.
    await cart.vacuum()
    await cart.close()
    await confirm('compressed', model)
  })

  itKept('encrypted-passphrase')('encrypted-passphrase: sealed with a published passphrase (scrypt 2^10), Zstd, packed MAP records, a sealed snapshot table (§25)', async () => {
    const keys = { passphrase: 'Cartridge spec vector, caf\u00e9 \u2014 not a secret' } // NFC; openers normalize what they are given
    const model: Model = new Map([
      // 69 Zstd chunks of one byte, packed into one page: a MAP record whose chunk map is a POINTER_NODE
      // over two CHUNK_MAP_LEAF pages of sealed records (63 + 6, §25).
      ['/archive/repeated-4.5m.bin', new Uint8Array(4_500_000).fill(0x62)],
      ['/archive/ones-1m.bin', new Uint8Array(1 << 20).fill(0x61)], // 16 packed chunks, one CHUNK_MAP_LEAF
      ['/docs/handbook.txt', prose(100_000, 61)], // DIRECT: 2 Zstd chunks packed into one run
      ['/media/noise-20k.bin', bytes(20_000, 62)], // incompressible: one raw sealed chunk, deleted before the last snapshot
      // A Zstd chunk heading a run, then a raw (incompressible) sealed chunk packed after it as a continuation.
      ['/media/mixed-68k.bin', Buffer.concat([prose(65_536, 65), bytes(3000, 66)])],
      ['/notes/inline-note.txt', text('an inline file, sealed inside its catalog page\n')],
    ])
    const table: SnapshotModel = { nextId: 1, snapshots: [] }
    const cart = await fresh('encrypted-passphrase', 'Sealed with a passphrase', 'full', {
      encryption: { ...keys, scrypt: { logN: 10, r: 8, p: 1 } }, compression: { codec: 'zstd' },
    })
    const write = (p: string, data: Uint8Array) => (model.set(p, data), cart.write(p, data))
    const remove = (p: string) => (model.delete(p), cart.delete(p))
    const snapshot = async (name: string) => {
      const s = await cart.createSnapshot(name)
      expect(s.id).toBe(table.nextId)
      table.snapshots.push({ id: table.nextId++, name, files: new Map(model) })
    }
    for (const [p, data] of model) await cart.write(p, data)
    await snapshot('first-state')
    await write('/docs/handbook.txt', prose(110_000, 63))
    await write('/docs/appendix.txt', prose(20_000, 64))
    await snapshot('second-state')
    await remove('/media/noise-20k.bin')
    await snapshot('third-state')
    await cart.deleteSnapshot('second-state') // ids 1 and 3 remain, nextId 4
    table.snapshots = table.snapshots.filter((s) => s.name !== 'second-state')
    await write('/notes/inline-note.txt', text('the inline file, second version, live only\n'))
    // The 4.5 MB write made room for its uncompressed size (growth policy): give it back.
    await cart.vacuum()
    await cart.close()
    await confirm('encrypted-passphrase', model, table, keys)
  })

  itKept('encrypted-key')('encrypted-key: sealed with a published raw key, LZ4, a SQLite database written by several transactions (§21, §25)', async () => {
    const key = bytes(32, 71)
    const cart = await fresh('encrypted-key', 'Sealed with a key', 'full', { encryption: { key }, compression: { codec: 'lz4' } })
    const db = cart.sqlite('/app/app.db')
    db.exec('CREATE TABLE ledger (id INTEGER PRIMARY KEY, memo TEXT NOT NULL, amount INTEGER, receipt BLOB)')
    const insert = db.prepare('INSERT INTO ledger (memo, amount, receipt) VALUES (?, ?, ?)')
    db.transaction(() => {
      for (let i = 0; i < 300; i++) insert.run(`entry ${i}: ${'sealed ledger line '.repeat(i % 7)}`, i * 37, i % 100 === 0 ? bytes(5000, 700 + i) : null)
    })()
    db.prepare('UPDATE ledger SET memo = memo || ? WHERE id % 5 = 0').run(' (audited)')
    db.prepare('DELETE FROM ledger WHERE id % 13 = 0').run()
    // The model's database bytes come from SQLite itself, not from the container's read path.
    const model: Model = new Map([
      ['/app/app.db', new Uint8Array(db.serialize())],
      ['/app/handbook.txt', prose(100_000, 72)], // DIRECT: 2 LZ4 chunks packed into one run
    ])
    await cart.write('/app/handbook.txt', model.get('/app/handbook.txt')!)
    db.close() // a vacuum waits for the databases to close
    await cart.vacuum()
    await cart.close()
    await confirm('encrypted-key', model, undefined, { keyHex: Buffer.from(key).toString('hex') })
  })

  itKept('audited')('audited: an audit log (1.3) of writes, a rename, a delete, a snapshot created and restored, in entry pages under a POINTER_NODE', async () => {
    const model: Model = new Map()
    const table: SnapshotModel = { nextId: 1, snapshots: [] }
    // The log the model expects: creating with { auditLog: true } switches it on as the first entry.
    const log: AuditEntrySummary[] = [{ action: 'audit.enable', path: '', target: '' }]
    const cart = await fresh('audited', 'Audited operations', 'full', { auditLog: true })
    const write = async (p: string, data: Uint8Array) => {
      model.set(p, data)
      log.push({ action: 'write', path: p, target: '', size: data.length, sha256: sha256(data) })
      await cart.write(p, data)
    }
    await write('/readme.txt', text('a container that keeps an audit log (§26)\n'))
    await write('/docs/draft.md', text('# Draft\n\nrenamed to final.md\n'))
    await write('/data/blob.bin', bytes(6000, 91)) // DIRECT: one chunk
    await write('/tmp/scratch.txt', text('deleted again\n'))
    await cart.rename('/docs/draft.md', '/docs/final.md')
    model.set('/docs/final.md', model.get('/docs/draft.md')!)
    model.delete('/docs/draft.md')
    log.push({ action: 'rename', path: '/docs/draft.md', target: '/docs/final.md' })
    log.push({ action: 'delete', path: '/tmp/scratch.txt', target: '', size: model.get('/tmp/scratch.txt')!.length })
    model.delete('/tmp/scratch.txt')
    await cart.delete('/tmp/scratch.txt')
    const s = await cart.createSnapshot('before-churn')
    expect(s.id).toBe(table.nextId)
    table.snapshots.push({ id: table.nextId++, name: 'before-churn', files: new Map(model) })
    log.push({ action: 'snapshot.create', path: '', target: 'before-churn' })
    // Enough entries (of about 130 bytes, some 30 to an entry page) for several AUDIT_ENTRIES pages.
    for (let i = 0; i < 110; i++) await write(`/churn/file-${i % 5}.txt`, text(`round ${i}\n`))
    // The restore brings the catalog of the snapshot back, not the log: the log only grows.
    await cart.restoreSnapshot('before-churn')
    model.clear()
    for (const [p, data] of table.snapshots[0].files) model.set(p, data)
    log.push({ action: 'snapshot.restore', path: '', target: 'before-churn' })
    await write('/after-restore.txt', text('written after the restore\n'))
    // Gives back the pages the churn grew the file by (a vacuum may move log pages too, §26); it is logged.
    await cart.vacuum()
    log.push({ action: 'vacuum', path: '', target: '' })
    await cart.close()
    expect(log.length).toBeGreaterThan(100)
    await confirm('audited', model, table, undefined, { size: log.length, base: 0, entries: log })
  })

  itKept('summed')('summed: 1.4 chunk records with page checksums in DIRECT and MAP records, beside INLINE and compressed ones', async () => {
    const model: Model = new Map([
      ['/direct-100k.bin', bytes(100_000, 91)], // DIRECT: 2 chunks, the second of 9 pages (34,464 bytes)
      ['/map-300k.bin', bytes(300_000, 92)], // MAP: 5 chunks in one CHUNK_MAP_LEAF of 112-byte records
      ['/one-page-and-a-byte.bin', bytes(4097, 93)], // DIRECT: 1 chunk of 2 pages
      ['/text/prose-70k.txt', prose(70_000, 94)], // written with zstd: 48-byte records, no page checksums
      ['/note.txt', text('inline, no chunks')],
    ])
    const cart = await fresh('summed', 'Page checksums (1.4)')
    for (const [p, data] of model) await cart.write(p, data, p.endsWith('.txt') && data.length > 512 ? { compression: 'zstd' } : {})
    await cart.close()
    await confirm('summed', model)
  })

  it('keeps the vectors small', () => {
    const total = VECTOR_NAMES.reduce((n, v) => n + statSync(`${DIR}${v}.cart`).size, 0)
    expect(total).toBeLessThan(5 * 1024 * 1024) // 4 MiB until audited (68 KiB) and summed (~0.5 MiB) came
  })
})

/**
 * The engram vectors (spec/ENGRAM.md), written by the reference `writeEngram` from a model and
 * signed with the fixed seed below; only the public key is published (in `<name>.expected.json`).
 * Everything is deterministic except the manifest's `frozen` time, so a vector is written once:
 * its test is skipped while `<name>.eng` exists (delete the file to regenerate it on purpose).
 */
const ENGRAM_SEED = new Uint8Array(Buffer.from('3dba7ada40f2c994f97330cdf7fb5c707e4c79301b6d0b10c1fe99c308789075', 'hex'))
const engramPath = (name: string) => `${DIR}${name}.eng`

async function writeEngramVector(name: string, model: Model, compression: 'zstd' | 'lz4', manifest: {
  title: string; created: string; source: { uuid: string; txn: number; snapshot?: string }
}): Promise<void> {
  const sorted = [...model].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const files = (async function* (): AsyncGenerator<EngramSourceFile> {
    for (const [i, [path, data]] of sorted.entries()) {
      yield {
        path, size: data.length, created: 1_700_000_000_000 + i * 1000, modified: 1_700_000_500_000 + i * 1000,
        chunks: async function* () {
          for (let off = 0; off < data.length; off += 40_000) yield data.subarray(off, off + 40_000) // pieces that straddle blocks
        },
      }
    }
  })()
  const out = engramPath(name)
  const written = await writeEngram(out, files, { secretKey: ENGRAM_SEED, compression, manifest: { slug: name, ...manifest } })
  const publicKey = publicKeyOf(ENGRAM_SEED)
  // The reference agrees with the model before anything is published.
  const report = await Engram.verify(out, publicKey)
  expect(report.problems).toEqual([])
  const eng = await Engram.open(out, { publicKey })
  try {
    expect(await eng.list('/')).toEqual(sorted.map(([p]) => p))
    for (const [p, data] of sorted) expect(Buffer.from(await eng.read(p)).equals(Buffer.from(data)), p).toBe(true)
  } finally {
    await eng.close()
  }
  const { frozen: _frozen, ...fixed } = written.manifest
  const expected: EngramExpected = {
    publicKey: formatPublicKey(publicKey), keyId: keyId(publicKey), manifest: fixed as EngramExpected['manifest'], files: summary(sorted),
  }
  writeFileSync(`${DIR}${name}.expected.json`, JSON.stringify(expected, null, 2) + '\n')
}

describe.skipIf(!WRITE)('generate engram vectors', () => {
  it.skipIf(existsSync(engramPath('engram')))('engram: Zstd blocks, raw blocks, an empty file, non-ASCII paths in UTF-8 order', async () => {
    const model: Model = new Map([
      ['/empty', new Uint8Array(0)],
      ['/hello.txt', text('Hello, engram!\n')],
      ['/docs/prose-200k.txt', prose(200_000, 81)], // 4 Zstd blocks: 3 of 65,536 bytes and one of 3,392
      ['/noise-70k.bin', bytes(70_000, 82)], // incompressible: 2 raw blocks (65,536 + 4,464)
      // '\uFF21' (EF BC A1) sorts before '😀' (F0 9F 98 80) in UTF-8 order, after it in UTF-16 order.
      ['/sort/\uFF21.txt', text('fullwidth A')],
      ['/sort/😀.txt', text('grinning face, U+1F600')],
      ['/unicode/caf\u00e9.txt', text('café, NFC')],
    ])
    await writeEngramVector('engram', model, 'zstd', {
      title: 'Engram vector (Zstd)', created: new Date(1_690_000_000_000).toISOString(), source: { uuid: '518a8926a12df4aac5984e5aa7867353', txn: 12 },
    })
  })

  it.skipIf(existsSync(engramPath('engram-lz4')))('engram-lz4: LZ4 blocks, a raw block, a non-ASCII path, a frozen snapshot', async () => {
    const model: Model = new Map([
      ['/readme.txt', text('An engram whose blocks are LZ4.\n')],
      ['/docs/prose-100k.txt', prose(100_000, 83)], // 2 LZ4 blocks: 65,536 and 34,464 bytes
      ['/noise-1k.bin', bytes(1000, 84)], // incompressible: 1 raw block
      ['/\u00fcn\u00ef/c\u00f8d\u00e9.txt', text('ünï/cødé')],
    ])
    await writeEngramVector('engram-lz4', model, 'lz4', {
      title: 'Engram vector (LZ4)', created: new Date(1_690_000_000_000).toISOString(),
      source: { uuid: '518a8926a12df4aac5984e5aa7867353', txn: 5, snapshot: 'v1' },
    })
  })

  it('keeps the engram vectors small', () => {
    const total = ENGRAM_VECTOR_NAMES.reduce((n, v) => n + (existsSync(engramPath(v)) ? statSync(engramPath(v)).size : 0), 0)
    expect(total).toBeLessThan(512 * 1024)
  })
})
