// Workload 9: compression and encryption. (1) Ceilings: what the codecs (`@cartridge/codec`) and
// the chunk cipher (`@cartridge/crypto`) alone do per 64 KiB chunk (and per 4 KiB), compress + seal
// and open + decompress, for {none, lz4, zstd-3} × {no cipher, AES-256-GCM}, on a text corpus made
// of this repository's text files and on random bytes. (2) The container doing the same through
// its API: one big file (createWriteStream / createReadStream / 64 KiB range reads) and 4 KiB files
// in one transaction, as a fraction of the ceiling, with contentStats() and the file size.
// (3) Sizes against the lz4 and zstd command-line tools on the corpus. (4) Encrypted peers on 4 KiB
// files: lmdb-js with `encryptionKey`, better-sqlite3-multiple-ciphers (ChaCha20-Poly1305, SQLCipher).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { Lz4Codec, ZstdCodec } from '@cartridge/codec'
import { ContainerCipher } from '@cartridge/crypto'
import { Cartridge, DatabaseMC, lmdbOpen, missing, openLmdb, openSqliteMC } from '../peers.mjs'
import { Suite, expectBytes, fmt, makeData, median, pad, round, sampleRss, tempDir, wantVariant, rotate } from '../harness.mjs'

export const id = 'w9'
export const title = 'compression and encryption: codec × cipher ceilings, the container against them, sizes vs lz4/zstd, encrypted peers'

const MiB = 2 ** 20
const CHUNK = 64 * 1024
const SMALL = 4096
const WRITE_PIECE = 8 * MiB
/** Ceilings need a few MiB to be steady; more only costs time and memory. */
const CEILING_MAX = 32 * MiB
const CEILING_SMALL_MAX = 16 * MiB
/** Durability of the container in parts 2 and 3 (its own work; w3 measures the synced write). */
const DURABILITY = 'none'
const PASSPHRASE = 'w9 bench passphrase'
const LMDB_KEY = 'w9-bench-key-32-characters-long!' // lmdb-js: 32 characters (a Buffer key aborts the process in lmdb 3.5.6)

const N = (/** @type {number} */ n) => n.toLocaleString('en-US')
const sizeLabel = (/** @type {number} */ b) => (b >= 2 ** 30 ? `${+(b / 2 ** 30).toFixed(2)} GiB` : b >= MiB ? `${+(b / MiB).toFixed(2)} MiB` : `${+(b / 1024).toFixed(1)} KiB`)
const x2 = (/** @type {number | null | undefined} */ v) => (v === null || v === undefined ? '' : `${v.toFixed(2)}×`)

/**
 * @typedef {object} Combo
 * @property {string} key e.g. `zstd-3 + AES-GCM`
 * @property {'none' | 'lz4' | 'zstd'} codec
 * @property {boolean} cipher
 */
/** @type {Combo[]} */
const COMBOS = []
for (const codec of /** @type {const} */ (['none', 'lz4', 'zstd'])) {
  for (const cipher of [false, true]) {
    const c = codec === 'zstd' ? 'zstd-3' : codec
    COMBOS.push({ key: `${c}${cipher ? ' + AES-GCM' : ''}`, codec, cipher })
  }
}

/** Phase names, shared by the tables. */
const P = {
  ceilWrite: (/** @type {string} */ corpus, /** @type {number} */ chunk, /** @type {string} */ combo) => `ceiling compress+seal, ${corpus}, ${chunk / 1024} KiB chunks: ${combo}`,
  ceilRead: (/** @type {string} */ corpus, /** @type {number} */ chunk, /** @type {string} */ combo) => `ceiling open+decompress, ${corpus}, ${chunk / 1024} KiB chunks: ${combo}`,
  bigWrite: (/** @type {string} */ corpus, /** @type {string} */ combo) => `big file, ${corpus}: createWriteStream: ${combo}`,
  bigStream: (/** @type {string} */ corpus, /** @type {string} */ combo) => `big file, ${corpus}: createReadStream: ${combo}`,
  bigRange: (/** @type {string} */ corpus, /** @type {string} */ combo) => `big file, ${corpus}: 64 KiB range reads: ${combo}`,
  smallWrite: (/** @type {string} */ combo) => `4 KiB files, text: write (1 txn): ${combo}`,
  smallRead: (/** @type {string} */ combo) => `4 KiB files, text: read each: ${combo}`,
  encWrite: 'encrypted 4 KiB files: write (1 txn)',
  encRead: 'encrypted 4 KiB files: read each',
}

// ---- the corpus ---------------------------------------------------------------------------

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const TEXT_EXT = /\.(ts|mts|cts|js|mjs|cjs|md|json|ya?ml|sh|c|h|gyp|txt)$/
const SKIP_DIR = new Set(['node_modules', 'dist', 'results', '.git', '.turbo', 'coverage'])

/**
 * This repository's text files in path order: root *.md, packages/* /src and package.json,
 * apps/* /src, spec/, benchmarks/src, tests/, scripts/ (files holding a NUL byte skipped).
 * Also the file set of w10.
 * @returns {{path: string, bytes: Buffer}[]} `path` relative to the repository root
 */
export function repositoryFiles() {
  /** @type {string[]} */
  const paths = []
  const walk = (/** @type {string} */ dir) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) {
        if (!SKIP_DIR.has(e.name)) walk(p)
      } else if (e.isFile() && TEXT_EXT.test(e.name)) paths.push(p)
    }
  }
  for (const e of readdirSync(ROOT, { withFileTypes: true })) if (e.isFile() && /\.md$/.test(e.name)) paths.push(join(ROOT, e.name))
  for (const group of ['packages', 'apps']) {
    let pkgs = []
    try {
      pkgs = readdirSync(join(ROOT, group))
    } catch { /* none */ }
    for (const pkg of pkgs) {
      walk(join(ROOT, group, pkg, 'src'))
      paths.push(join(ROOT, group, pkg, 'package.json'))
    }
  }
  for (const dir of ['spec', 'benchmarks/src', 'tests', 'scripts']) walk(join(ROOT, dir))
  const out = []
  for (const p of [...new Set(paths)].sort()) {
    let b
    try {
      b = readFileSync(p)
    } catch {
      continue
    }
    if (!b.includes(0)) out.push({ path: relative(ROOT, p), bytes: b })
  }
  return out
}

/**
 * {@link repositoryFiles}, concatenated in path order, each after a line naming it.
 * @returns {{bytes: Buffer, files: number}}
 */
function repositoryCorpus() {
  const files = repositoryFiles()
  return { bytes: Buffer.concat(files.flatMap((f) => [Buffer.from(`\n// ---- ${f.path}\n`), f.bytes])), files: files.length }
}

/** `base` repeated up to `size` bytes. @param {Buffer} base @param {number} size */
function tile(base, size) {
  const out = Buffer.allocUnsafe(size)
  for (let off = 0; off < size; off += base.length) base.copy(out, off, 0, Math.min(base.length, size - off))
  return out
}

/**
 * Views of `buf` in `chunk`-byte pieces, as plain Uint8Arrays (a Buffer's `slice()` is a view, not
 * the copy the ceilings make of a raw chunk).
 * @param {Uint8Array} buf @param {number} chunk
 */
const split = (buf, chunk) => Array.from({ length: Math.ceil(buf.length / chunk) }, (_, i) => new Uint8Array(buf.buffer, buf.byteOffset + i * chunk, Math.min(chunk, buf.length - i * chunk)))

// ---- part 1: ceilings ---------------------------------------------------------------------

/**
 * @typedef {{stored: Uint8Array, nonce?: Uint8Array, tag?: Uint8Array, codec: number, logical: number}} Stored
 * @typedef {{lz4: Lz4Codec, zstd: ZstdCodec, byId: Map<number, any>, cipher: ContainerCipher}} Tools
 */

/**
 * Compress + seal every chunk as the container's chunk writer does: compress, keep the result if
 * it shrank (else the raw bytes), seal with the chunk's binding; unsealed raw bytes are copied
 * (the container copies them into its file).
 * @param {Uint8Array[]} chunks @param {Combo} combo @param {Tools} tools @returns {Stored[]}
 */
function sealAll(chunks, combo, tools) {
  const codec = combo.codec === 'none' ? undefined : tools[combo.codec]
  const cipher = combo.cipher ? tools.cipher : undefined
  /** @type {Stored[]} */
  const out = new Array(chunks.length)
  for (let i = 0; i < chunks.length; i++) {
    const bytes = chunks[i]
    const packed = codec?.compress(bytes)
    const id = packed ? codec.id : 0
    if (cipher) {
      const s = cipher.sealChunk(packed ?? bytes, { chunkIndex: i, logicalLength: bytes.length, codec: id })
      out[i] = { stored: s.ciphertext, nonce: s.nonce, tag: s.tag, codec: id, logical: bytes.length }
    } else {
      out[i] = { stored: packed ?? bytes.slice(), codec: id, logical: bytes.length }
    }
    if ((i & 1023) === 0) sampleRss()
  }
  return out
}

/**
 * Open + decompress every chunk into a fresh array (what a read returns); a raw unsealed chunk is copied.
 * @param {Stored[]} stored @param {Combo} combo @param {Tools} tools @param {Uint8Array[]} [check] compare with these (untimed runs)
 */
function openAll(stored, combo, tools, check) {
  const cipher = combo.cipher ? tools.cipher : undefined
  for (let i = 0; i < stored.length; i++) {
    const c = stored[i]
    const plain = cipher ? cipher.openChunk(c.stored, /** @type {Uint8Array} */ (c.nonce), /** @type {Uint8Array} */ (c.tag), { chunkIndex: i, logicalLength: c.logical, codec: c.codec }) : c.stored
    if (!plain) throw new Error(`ceiling: chunk ${i} does not authenticate`)
    const out = c.codec ? tools.byId.get(c.codec).decompress(plain, c.logical) : cipher ? plain : plain.slice()
    if (check) expectBytes(out, check[i], `ceiling ${combo.key} chunk ${i}`)
    if ((i & 1023) === 0) sampleRss()
  }
}

/**
 * Times the ceiling of one combination on `chunks` (one run); on the first run also checks the
 * round trip and files the stored fraction (stored bytes ÷ logical bytes) in `fractions`.
 * @param {Suite} suite @param {Tools} tools @param {string} corpus @param {Uint8Array[]} chunks @param {number} chunk
 * @param {Combo} combo @param {number} r @param {Record<string, number>} fractions
 */
async function ceiling(suite, tools, corpus, chunks, chunk, combo, r, fractions) {
  const bytes = chunks.reduce((n, c) => n + c.length, 0)
  const work = { bytes, ops: chunks.length }
  /** @type {Stored[]} */
  let stored = []
  await suite.time(P.ceilWrite(corpus, chunk, combo.key), 'ceiling', work, () => {
    stored = sealAll(chunks, combo, tools)
  })
  if (r === 0) {
    openAll(stored, combo, tools, chunks)
    fractions[combo.key] = stored.reduce((n, c) => n + c.stored.length, 0) / bytes
  }
  await suite.time(P.ceilRead(corpus, chunk, combo.key), 'ceiling', work, () => openAll(stored, combo, tools))
}

// ---- part 2: the container ----------------------------------------------------------------

/**
 * Create options of a container for `combo`.
 * @param {Combo} combo @param {string} path @param {'full' | 'none'} durability
 * @returns {any} Cartridge.create's options
 */
function createOptions(combo, path, durability) {
  return {
    path, durability,
    ...(combo.codec === 'lz4' ? { compression: { codec: 'lz4' } } : combo.codec === 'zstd' ? { compression: { codec: 'zstd', level: 3 } } : {}),
    // A passphrase with a cheap scrypt (created once per container, untimed).
    ...(combo.cipher ? { encryption: { passphrase: PASSPHRASE, scrypt: { logN: 10, r: 8, p: 1 } } } : {}),
  }
}

/**
 * One big file (one combination, one run): written through `createWriteStream` in 8 MiB pieces,
 * read back with `createReadStream` and with awaited 64 KiB `read(path, { offset, length })`.
 * @param {Suite} suite @param {string} corpus @param {Buffer} data @param {Combo} combo @param {number} r @param {Record<string, any>} facts
 */
async function bigFile(suite, corpus, data, combo, r, facts) {
  const size = data.length
  const work = { bytes: size, ops: size / CHUNK }
  const t = tempDir('codecs')
  const file = t.path('bench.cart')
  const cart = await Cartridge.create('bench', 'bench', createOptions(combo, file, DURABILITY))
  try {
    await suite.time(P.bigWrite(corpus, combo.key), 'cartridge', work, async () => {
      const pieces = (function* () {
        for (let off = 0; off < size; off += WRITE_PIECE) yield data.subarray(off, Math.min(off + WRITE_PIECE, size))
      })()
      await pipeline(Readable.from(pieces), cart.createWriteStream('/big.bin'))
    })
    let got = 0
    await suite.time(P.bigStream(corpus, combo.key), 'cartridge', work, async () => {
      let n = 0
      for await (const b of cart.createReadStream('/big.bin')) {
        got += b.length
        if ((++n & 1023) === 0) sampleRss()
      }
    })
    if (got !== size) throw new Error(`createReadStream gave ${got} bytes of ${size}`)
    await suite.time(P.bigRange(corpus, combo.key), 'cartridge', work, async () => {
      for (let off = 0, n = 0; off < size; off += CHUNK, n++) {
        await cart.read('/big.bin', { offset: off, length: CHUNK })
        if ((n & 1023) === 0) sampleRss()
      }
    })
    if (r === 0) {
      // Data checks (untimed): the whole stream, and ranges across chunk boundaries.
      let pos = 0
      for await (const b of cart.createReadStream('/big.bin')) {
        expectBytes(b, data.subarray(pos, pos + b.length), `${combo.key} stream @${pos}`)
        pos += b.length
      }
      for (const off of [0, CHUNK - 100, size >> 1, size - CHUNK]) {
        expectBytes(await cart.read('/big.bin', { offset: off, length: CHUNK }), data.subarray(off, off + CHUNK), `${combo.key} range @${off}`)
      }
      facts[combo.key] = { stats: await cart.contentStats(), usedBytes: (await cart.info()).usedBlocks * 4096 }
    }
  } finally {
    await cart.close()
    if (r === 0 && facts[combo.key]) facts[combo.key].fileBytes = statSync(file).size
    t.dispose()
  }
}

/**
 * `count` 4 KiB files of text (one combination, one run), written in one transaction, then each read back.
 * @param {Suite} suite @param {(i: number) => Uint8Array} dataOf @param {number} count @param {Combo} combo @param {number} r @param {Record<string, any>} facts
 */
async function smallFiles(suite, dataOf, count, combo, r, facts) {
  const work = { bytes: count * SMALL, ops: count }
  const name = (/** @type {number} */ i) => `/w9/f${pad(i, 6)}.txt`
  const t = tempDir('codecs')
  const file = t.path('bench.cart')
  const cart = await Cartridge.create('bench', 'bench', createOptions(combo, file, DURABILITY))
  try {
    await suite.time(P.smallWrite(combo.key), 'cartridge', work, () =>
      cart.transaction(async (/** @type {any} */ tx) => {
        for (let i = 0; i < count; i++) {
          await tx.write(name(i), dataOf(i))
          if ((i & 255) === 0) sampleRss()
        }
      }))
    await suite.time(P.smallRead(combo.key), 'cartridge', work, async () => {
      for (let i = 0; i < count; i++) {
        await cart.read(name(i))
        if ((i & 255) === 0) sampleRss()
      }
    })
    if (r === 0) {
      for (const i of [0, count >> 1, count - 1]) expectBytes(await cart.read(name(i)), dataOf(i), `${combo.key} ${name(i)}`)
      facts[combo.key] = { stats: await cart.contentStats(), usedBytes: (await cart.info()).usedBlocks * 4096 }
    }
  } finally {
    await cart.close()
    if (r === 0 && facts[combo.key]) facts[combo.key].fileBytes = statSync(file).size
    t.dispose()
  }
}

// ---- part 3: sizes vs the command-line tools ----------------------------------------------

/**
 * The corpus (one copy, as one file) through `lz4` and `zstd -3`, through the codecs on 64 KiB
 * chunks, and stored in containers.
 * @param {Buffer} corpus @param {Tools} tools
 */
async function toolSizes(corpus, tools) {
  const t = tempDir('codecs-cli')
  try {
    const src = t.path('corpus.txt')
    writeFileSync(src, corpus)
    const chunks = split(corpus, CHUNK)
    /** @type {any[]} */
    const rows = []
    for (const [codec, label, cmd, args] of /** @type {const} */ ([
      ['lz4', 'lz4', 'lz4', ['-q', '-f', src, `${src}.lz4`]],
      ['zstd', 'zstd-3', 'zstd', ['-q', '-f', '-3', src, '-o', `${src}.zst`]],
    ])) {
      /** @type {Record<string, any>} */
      const row = { codec: label, tool: `${cmd} ${args.filter((a) => a.startsWith('-')).join(' ')}` }
      const t0 = performance.now()
      const res = spawnSync(cmd, [...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      const ms = performance.now() - t0
      if (res.error || res.status !== 0) {
        row.missing = res.error ? `\`${cmd}\` not found on PATH` : `\`${cmd}\` failed: ${res.stderr.toString().trim().split('\n')[0]}`
      } else {
        row.cliBytes = statSync(cmd === 'lz4' ? `${src}.lz4` : `${src}.zst`).size
        row.cliMs = round(ms, 1)
        const v = spawnSync(cmd, ['--version'], { encoding: 'utf8' })
        row.version = (v.stdout || v.stderr || '').match(/v\d+\.\d+\.\d+/)?.[0]
      }
      const codecObj = tools[codec]
      row.chunkBytes = chunks.reduce((n, c) => n + (codecObj.compress(c)?.length ?? c.length), 0)
      for (const cipher of [false, true]) {
        const combo = COMBOS.find((c) => c.codec === codec && c.cipher === cipher)
        const file = t.path(`${codec}-${cipher}.cart`)
        const cart = await Cartridge.create('bench', 'bench', createOptions(/** @type {Combo} */ (combo), file, DURABILITY))
        await cart.write('/corpus.txt', corpus)
        expectBytes(await cart.read('/corpus.txt'), corpus, `${combo?.key} /corpus.txt`)
        const stats = await cart.contentStats()
        const usedBytes = (await cart.info()).usedBlocks * 4096
        await cart.close()
        row[cipher ? 'sealed' : 'plain'] = { storedBytes: stats.storedBytes, ratio: stats.ratio, usedBytes, fileBytes: statSync(file).size }
      }
      rows.push(row)
    }
    return rows
  } finally {
    t.dispose()
  }
}

/**
 * Native references for the ceilings (not run in smoke): the command-line tools' in-memory
 * benchmarks on the corpus in independent 64 KiB blocks (`zstd -b3 -B64K`, `lz4 -b1 -B4`), and
 * `openssl speed` of AES-256-GCM on 64 KiB and 4 KiB buffers. MB/s (10^6) converted to MiB/s.
 * @param {Buffer} corpus @returns {{what: string, chunk: number, corpus: string, compress?: number, decompress?: number, ratio?: number, missing?: string}[]}
 */
function nativeReferences(corpus) {
  const t = tempDir('codecs-native')
  try {
    const src = t.path('corpus.txt')
    writeFileSync(src, corpus)
    const toMiB = (/** @type {string} */ mb) => round((Number(mb) * 1e6) / MiB, 1)
    const out = []
    for (const [what, cmd, args] of /** @type {const} */ ([
      ['lz4, native `lz4 -b1 -B4 -i1` (64 KiB blocks)', 'lz4', ['-b1', '-B4', '-i1', src]],
      ['zstd-3, native `zstd -b3 -B64K -i1`', 'zstd', ['-b3', '-B64K', '-i1', src]],
    ])) {
      const res = spawnSync(cmd, [...args], { encoding: 'utf8' })
      const text = `${res.stdout ?? ''}${res.stderr ?? ''}`
      const m = [...text.matchAll(/->\s+(\d+)\s+\(x?([\d.]+)\),\s*([\d.]+) MB\/s\s*,\s*([\d.]+) MB\/s/g)].pop()
      if (res.error || !m) out.push({ what, chunk: CHUNK, corpus: 'text', missing: res.error ? `\`${cmd}\` not found` : `no result from \`${cmd}\`` })
      else out.push({ what, chunk: CHUNK, corpus: 'text', compress: toMiB(m[3]), decompress: toMiB(m[4]), ratio: Number(m[1]) / corpus.length })
    }
    for (const chunk of [CHUNK, SMALL]) {
      const what = `AES-256-GCM, native \`openssl speed -evp aes-256-gcm -bytes ${chunk}\``
      const res = spawnSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', String(chunk), '-seconds', '1'], { encoding: 'utf8' })
      const m = /AES-256-GCM\s+([\d.]+)k/.exec(res.stdout ?? '')
      if (res.error || !m) out.push({ what, chunk, corpus: 'any', missing: res.error ? '`openssl` not found' : 'no result from `openssl speed`' })
      else out.push({ what, chunk, corpus: 'any', compress: round((Number(m[1]) * 1000) / MiB, 1) })
    }
    return out
  } finally {
    t.dispose()
  }
}

// ---- part 4: encrypted peers --------------------------------------------------------------

/**
 * @typedef {object} Impl
 * @property {string} name
 * @property {string} what how it encrypts (for the summary table)
 * @property {() => Promise<any> | any} setup
 * @property {(env: any) => Promise<void> | void} write
 * @property {(env: any) => Promise<void> | void} read
 * @property {(env: any, i: number) => Promise<Uint8Array> | Uint8Array} readOne
 * @property {(env: any) => number} diskBytes after the write (file and its WAL)
 * @property {(env: any) => Promise<void> | void} teardown
 */

/**
 * @param {Suite} suite @param {{mode: string, want: (impl: string) => boolean}} ctx @param {(i: number) => Uint8Array} dataOf
 * @param {number} count @param {number} runs @param {Record<string, any>} facts
 */
async function encryptedPeers(suite, ctx, dataOf, count, runs, facts) {
  const name = (/** @type {number} */ i) => `/w9/f${pad(i, 6)}.txt`
  const work = { bytes: count * SMALL, ops: count }
  const size = (/** @type {string[]} */ ...files) => files.reduce((n, f) => {
    try {
      return n + statSync(f).size
    } catch {
      return n
    }
  }, 0)
  /** @type {Impl[]} */
  const impls = []
  for (const [implName, combo] of /** @type {const} */ ([['cartridge', 'zstd-3 + AES-GCM'], ['cartridge-aes', 'none + AES-GCM']])) {
    const c = /** @type {Combo} */ (COMBOS.find((x) => x.key === combo))
    impls.push({
      name: implName,
      what: `AES-256-GCM per chunk${c.codec === 'none' ? '' : ', zstd-3'} (\`durability: "full"\`)`,
      async setup() {
        const t = tempDir('codecs-enc')
        return { t, file: t.path('bench.cart'), cart: await Cartridge.create('bench', 'bench', createOptions(c, t.path('bench.cart'), 'full')) }
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
      diskBytes: ({ file }) => size(file),
      async teardown({ t, cart }) {
        await cart.close()
        t.dispose()
      },
    })
  }
  if (lmdbOpen) {
    impls.push({
      name: 'lmdb',
      what: 'lmdb-js `encryptionKey` (ChaCha8 per page, no authentication tag; `overlappingSync: false`)',
      setup() {
        const t = tempDir('codecs-lmdb')
        return { t, file: t.path('files.mdb'), db: openLmdb(t.path('files.mdb'), { encryptionKey: LMDB_KEY }) }
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
      diskBytes: ({ file }) => size(file),
      async teardown({ t, db }) {
        await db.close()
        t.dispose()
      },
    })
  }
  if (DatabaseMC) {
    for (const [implName, cipher, what] of [
      ['sqlite-mc', undefined, 'SQLite3 Multiple Ciphers default cipher (ChaCha20-Poly1305 per page, sqleet)'],
      ['sqlite-mc-sqlcipher', 'sqlcipher', "SQLite3 Multiple Ciphers `cipher = 'sqlcipher'` (AES-256-CBC + HMAC-SHA512 per page)"],
    ]) {
      impls.push({
        name: /** @type {string} */ (implName),
        what: `${what}; WAL, \`synchronous = NORMAL\``,
        setup() {
          const t = tempDir('codecs-sqlite-mc')
          const file = t.path('files.db')
          return { t, file, ...openSqliteMC(file, 'NORMAL', { cipher, key: PASSPHRASE }) }
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
        diskBytes: ({ file }) => size(file, `${file}-wal`),
        teardown({ t, db }) {
          db.close()
          t.dispose()
        },
      })
    }
  }
  const chosen = impls.filter((x) => wantVariant(ctx, x.name) || (x.name.startsWith('sqlite-mc') && ctx.want('sqlite-mc')))
  for (let r = 0; r < runs; r++) {
    for (const impl of rotate(chosen, r)) {
      const env = await impl.setup()
      try {
        await suite.time(P.encWrite, impl.name, work, () => impl.write(env))
        await suite.time(P.encRead, impl.name, work, () => impl.read(env))
        for (const i of [0, count >> 1, count - 1]) expectBytes(await impl.readOne(env, i), dataOf(i), `${impl.name} ${name(i)}`)
        if (r === 0) facts[impl.name] = { what: impl.what, diskBytes: impl.diskBytes(env) }
      } finally {
        await impl.teardown(env)
      }
    }
  }
}

// ---- the report ---------------------------------------------------------------------------

/** A Suite whose Markdown adds the summary tables of the four parts. */
class CodecSuite extends Suite {
  /** @param {string[]} head @param {string[]} body */
  markdownSection(head, body) {
    const x = /** @type {any} */ (this.extra)
    if (!x.tables) return super.markdownSection(head, body)
    const rows = this.rows()
    const mibs = (/** @type {string} */ phase, impl = 'cartridge') => rows.find((r) => r.phase === phase && r.impl === impl)?.mibPerSec ?? null
    const cell = (/** @type {number | null} */ v) => (v === null ? '' : String(v))
    const lines = ['']

    if (!x.tables.ceilings.length) return super.markdownSection(head, [...body, ...this.peerTable(rows)])
    // 1. ceilings
    lines.push(`**Ceilings** (codec + cipher alone, in memory, one thread; zstd on \`${x.zstdEngine}\`, AES-GCM on \`${x.aead}\`): MiB/s of logical bytes, median of ${x.runs} runs.`, '')
    lines.push('| corpus | chunk | codec + cipher | compress+seal MiB/s | open+decompress MiB/s | stored ÷ logical |', '|---|---|---:|---:|---:|---:|')
    for (const [corpus, chunk, fraction] of x.tables.ceilings) {
      for (const c of COMBOS) {
        lines.push(`| ${corpus} | ${chunk / 1024} KiB | ${c.key} | ${cell(mibs(P.ceilWrite(corpus, chunk, c.key), 'ceiling'))} | ${cell(mibs(P.ceilRead(corpus, chunk, c.key), 'ceiling'))} | ${fraction[c.key] === undefined ? '' : `${(fraction[c.key] * 100).toFixed(1)} %`} |`)
      }
    }
    for (const n of x.tables.native) {
      lines.push(n.missing
        ? `| ${n.corpus} | ${n.chunk / 1024} KiB | ${n.what}: skipped, ${n.missing} | | | |`
        : `| ${n.corpus} | ${n.chunk / 1024} KiB | ${n.what} | ${n.compress ?? ''}${n.corpus === 'any' ? ' (seal)' : ''} | ${n.decompress ?? ''} | ${n.ratio === undefined ? '' : `${(n.ratio * 100).toFixed(1)} %`} |`)
    }

    // 2. container ÷ ceiling
    lines.push('', `**Container ÷ ceiling** (\`durability: "${DURABILITY}"\`; the ceiling of the same corpus and chunk size; goal ≥ 0.80 for 64 KiB chunks). \`stored\` = \`contentStats().storedBytes\`, \`ratio\` = \`contentStats().ratio\`, \`used\` = \`info().usedBlocks\` × 4 KiB (pages in use: content, catalog, maps), \`.cart\` = file size after close (with its growth headroom).`, '')
    lines.push('| data | codec + cipher | write MiB/s | ÷ ceiling | stream read MiB/s | ÷ ceiling | 64 KiB range reads MiB/s | ÷ ceiling | ratio | stored MiB | used MiB | .cart MiB |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    const div = (/** @type {number | null} */ a, /** @type {number | null} */ b) => (a !== null && b !== null && b > 0 ? a / b : null)
    for (const [corpus, label] of x.tables.bigFiles) {
      for (const c of COMBOS) {
        const f = x.facts.big[corpus]?.[c.key]
        const cw = mibs(P.ceilWrite(corpus, CHUNK, c.key), 'ceiling')
        const cr = mibs(P.ceilRead(corpus, CHUNK, c.key), 'ceiling')
        const w = mibs(P.bigWrite(corpus, c.key))
        const s = mibs(P.bigStream(corpus, c.key))
        const g = mibs(P.bigRange(corpus, c.key))
        lines.push(`| ${label} | ${c.key} | ${cell(w)} | ${x2(div(w, cw))} | ${cell(s)} | ${x2(div(s, cr))} | ${cell(g)} | ${x2(div(g, cr))} | ${f ? f.stats.ratio.toFixed(2) : ''} | ${f ? (f.stats.storedBytes / MiB).toFixed(1) : ''} | ${f ? (f.usedBytes / MiB).toFixed(1) : ''} | ${f ? (f.fileBytes / MiB).toFixed(1) : ''} |`)
      }
    }
    for (const c of COMBOS) {
      const f = x.facts.small[c.key]
      const w = mibs(P.smallWrite(c.key))
      const rd = mibs(P.smallRead(c.key))
      lines.push(`| ${x.tables.smallLabel} | ${c.key} | ${cell(w)} | ${x2(div(w, mibs(P.ceilWrite('text', SMALL, c.key), 'ceiling')))} | ${cell(rd)} (read each) | ${x2(div(rd, mibs(P.ceilRead('text', SMALL, c.key), 'ceiling')))} | | | ${f ? f.stats.ratio.toFixed(2) : ''} | ${f ? (f.stats.storedBytes / MiB).toFixed(1) : ''} | ${f ? (f.usedBytes / MiB).toFixed(1) : ''} | ${f ? (f.fileBytes / MiB).toFixed(1) : ''} |`)
    }

    // 3. sizes vs the tools
    lines.push('', `**Compressed size vs the command-line tools** on the corpus as one file (${N(x.corpusBytes)} bytes, ${N(x.corpusFiles)} files of this repository). \`chunks\` = the codec alone on independent 64 KiB chunks (a chunk that does not shrink counted raw); container = \`contentStats().storedBytes\`, \`info().usedBlocks\` × 4 KiB and the .cart file size after close (plain and AES-GCM).`, '')
    lines.push('| codec | tool | tool bytes | tool ratio | 64 KiB chunks bytes | container stored bytes | container ratio | stored ÷ tool | used bytes (plain / AES-GCM) | .cart bytes (plain / AES-GCM) |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const t of x.tables.tools) {
      const tool = t.missing ? `${t.tool}: skipped, ${t.missing}` : `${t.tool}${t.version ? ` (${t.version})` : ''}`
      lines.push(`| ${t.codec} | ${tool} | ${t.cliBytes ? N(t.cliBytes) : 'n/a'} | ${t.cliBytes ? (x.corpusBytes / t.cliBytes).toFixed(2) : ''} | ${N(t.chunkBytes)} | ${N(t.plain.storedBytes)} | ${t.plain.ratio.toFixed(2)} | ${t.cliBytes ? x2(t.plain.storedBytes / t.cliBytes) : ''} | ${N(t.plain.usedBytes)} / ${N(t.sealed.usedBytes)} | ${N(t.plain.fileBytes)} / ${N(t.sealed.fileBytes)} |`)
    }

    lines.push(...this.peerTable(rows))
    return super.markdownSection(head, [...body, ...lines])
  }

  /** Part 4's summary table (and the peers that did not run). @param {any[]} rows */
  peerTable(rows) {
    const x = /** @type {any} */ (this.extra)
    const lines = []
    if (x.facts.peers && Object.keys(x.facts.peers).length) {
      lines.push('', `**Encrypted stores**, ${N(x.smallCount)} × 4 KiB text files, one transaction, then each read (goal: cartridge ≥ 1.5× each peer). \`cart ÷ peer\` = cartridge (zstd-3 + AES-GCM) throughput ÷ the row's.`, '')
      lines.push('| impl | encryption | write MiB/s | cart ÷ peer | read MiB/s | cart ÷ peer | on disk MiB |', '|---|---|---:|---:|---:|---:|---:|')
      for (const [impl, f] of Object.entries(/** @type {Record<string, any>} */ (x.facts.peers))) {
        const rw = rows.find((r) => r.phase === P.encWrite && r.impl === impl)
        const rr = rows.find((r) => r.phase === P.encRead && r.impl === impl)
        lines.push(`| ${impl} | ${f.what} | ${rw?.mibPerSec ?? ''} | ${impl === 'cartridge' ? '—' : x2(rw?.ratio)} | ${rr?.mibPerSec ?? ''} | ${impl === 'cartridge' ? '—' : x2(rr?.ratio)} | ${(f.diskBytes / MiB).toFixed(1)} |`)
      }
    }
    if (x.tables.peersMissing.length) lines.push('', ...x.tables.peersMissing.map((/** @type {string} */ m) => `- not run: ${m}`))
    return lines
  }
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const size = { smoke: 8, quick: 64, full: 1024 }[ctx.mode] * MiB
  const count = { smoke: 500, quick: 10_000, full: 10_000 }[ctx.mode]
  const runs = { smoke: 1, quick: 3, full: 3 }[ctx.mode]
  const ceilingSize = Math.min(size, CEILING_MAX)
  const ceilingSmall = Math.min(count * SMALL, CEILING_SMALL_MAX)
  const load0 = loadavg()
  const suite = new CodecSuite(id, `compression and encryption: ceilings on ${sizeLabel(ceilingSize)}, one ${sizeLabel(size)} file, ${N(count)} × 4 KiB files, sizes vs lz4/zstd, encrypted peers`, {
    size, count, runs, ceilingSize, ceilingSmall, chunk: CHUNK, durability: DURABILITY,
  })
  const wantCart = wantVariant(ctx, 'cartridge') || ctx.want('ceiling')

  const base = repositoryCorpus()
  const text = tile(base.bytes, Math.max(size, count * SMALL))
  const random = makeData(size)
  // 4 KiB files: consecutive 4 KiB slices of the tiled text (distinct files until the corpus repeats).
  const dataOf = (/** @type {number} */ i) => text.subarray(i * SMALL, (i + 1) * SMALL)
  const zstd = new ZstdCodec(3)
  /** @type {Tools} */
  const tools = { lz4: new Lz4Codec(), zstd, byId: new Map(), cipher: new ContainerCipher(randomBytes(32), randomBytes(16)) }
  tools.byId.set(tools.lz4.id, tools.lz4).set(zstd.id, zstd)
  const facts = { big: /** @type {Record<string, any>} */ ({}), small: {}, peers: {} }
  /** @type {any[]} */
  const ceilingTables = []
  /** @type {any[]} */
  let toolRows = []
  /** @type {any[]} */
  let native = []

  if (wantCart) {
    // Per run, each combination in turn (rotated): its ceilings, then the container on the same
    // data, so a ceiling and the container rows compared with it are measured minutes apart at most.
    const textChunks = split(text.subarray(0, ceilingSize), CHUNK)
    const randomChunks = split(random.subarray(0, ceilingSize), CHUNK)
    const smallChunks = split(text.subarray(0, ceilingSmall), SMALL)
    /** @type {Record<string, number>[]} */
    const fractions = [{}, {}, {}]
    ceilingTables.push(['text', CHUNK, fractions[0]], ['random', CHUNK, fractions[1]], ['text', SMALL, fractions[2]])
    for (const corpus of ['text', 'random']) facts.big[corpus] = {}
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now()
      for (const combo of rotate(COMBOS, r)) {
        await ceiling(suite, tools, 'text', textChunks, CHUNK, combo, r, fractions[0])
        await bigFile(suite, 'text', text.subarray(0, size), combo, r, facts.big.text)
        await ceiling(suite, tools, 'random', randomChunks, CHUNK, combo, r, fractions[1])
        await bigFile(suite, 'random', random, combo, r, facts.big.random)
        await ceiling(suite, tools, 'text', smallChunks, SMALL, combo, r, fractions[2])
        await smallFiles(suite, dataOf, count, combo, r, facts.small)
      }
      ctx.log(`[bench] w9 ceilings and container, run ${r + 1} of ${runs} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    }
    toolRows = await toolSizes(base.bytes, tools)
    if (ctx.mode !== 'smoke') native = nativeReferences(base.bytes)
  }
  const t3 = performance.now()
  await encryptedPeers(suite, ctx, dataOf, count, runs, facts.peers)
  ctx.log(`[bench] w9 encrypted peers done in ${((performance.now() - t3) / 1000).toFixed(1)} s`)

  const peersMissing = []
  if (!lmdbOpen) peersMissing.push(`lmdb: ${missing.lmdb}`)
  if (!DatabaseMC) peersMissing.push(`sqlite-mc: ${missing['sqlite-mc']}`)
  suite.extra.zstdEngine = zstd.engine
  suite.extra.aead = tools.cipher.aead.name
  suite.extra.runs = runs
  suite.extra.corpusBytes = base.bytes.length
  suite.extra.corpusFiles = base.files
  suite.extra.smallCount = count
  suite.extra.facts = facts
  suite.extra.tables = {
    ceilings: ceilingTables,
    bigFiles: wantCart ? [['text', `text, ${sizeLabel(size)} file`], ['random', `random, ${sizeLabel(size)} file`]] : [],
    smallLabel: `text, ${N(count)} × 4 KiB files`,
    tools: toolRows,
    native,
    peersMissing,
  }

  // Ratios against the ceiling, for the JSON.
  const rows = suite.rows()
  const ms = (/** @type {string} */ phase, impl = 'cartridge') => rows.find((r) => r.phase === phase && r.impl === impl)?.medianMs
  /** @type {Record<string, Record<string, number | null>>} */
  const vsCeiling = {}
  for (const c of wantCart ? COMBOS : []) {
    const q = (/** @type {string} */ a, /** @type {string} */ b) => {
      const ca = ms(a, 'ceiling')
      const cb = ms(b)
      return ca && cb ? round(ca / cb, 3) : null
    }
    vsCeiling[c.key] = {
      bigTextWrite: q(P.ceilWrite('text', CHUNK, c.key), P.bigWrite('text', c.key)),
      bigTextStream: q(P.ceilRead('text', CHUNK, c.key), P.bigStream('text', c.key)),
      bigTextRange: q(P.ceilRead('text', CHUNK, c.key), P.bigRange('text', c.key)),
      bigRandomWrite: q(P.ceilWrite('random', CHUNK, c.key), P.bigWrite('random', c.key)),
      bigRandomStream: q(P.ceilRead('random', CHUNK, c.key), P.bigStream('random', c.key)),
      bigRandomRange: q(P.ceilRead('random', CHUNK, c.key), P.bigRange('random', c.key)),
      smallWrite: q(P.ceilWrite('text', SMALL, c.key), P.smallWrite(c.key)),
      smallRead: q(P.ceilRead('text', SMALL, c.key), P.smallRead(c.key)),
    }
  }
  suite.extra.vsCeiling = vsCeiling

  if (wantCart) {
    suite.note(`corpus: ${N(base.files)} text files of this repository (root *.md, packages/*/src and package.json, apps/*/src, spec/, benchmarks/src, tests/, scripts/), concatenated: ${N(base.bytes.length)} bytes, repeated to the size needed (so a repeat is ${N(base.bytes.length)} bytes away: no 64 KiB chunk sees one). random: incompressible bytes (a 16 MiB random block, tiled). 4 KiB files: consecutive 4 KiB slices of the text.`)
    suite.note(`ceilings (impl \`ceiling\`): per chunk, \`compress\` (kept when it shrank, else the raw bytes, as the container does) then \`ContainerCipher.sealChunk\` (chunk index, logical length and codec bound as AAD, fresh random nonce); reads: \`openChunk\` then \`decompress\` into a fresh array. "none" without a cipher is a memory copy per chunk (\`slice()\`), not a real ceiling: its ratio shows the container's I/O and checksum cost over a copy. Ceilings on ${sizeLabel(ceilingSize)} of each corpus (4 KiB chunks: ${sizeLabel(ceilingSmall)} of text). In each run every combination is measured in turn (rotated order): its ceilings, then the container on the same data.`)
  }
  const load1 = loadavg()
  suite.note(`load average (1 / 5 / 15 min) at the start of w9: ${load0.map((l) => l.toFixed(2)).join(' / ')}, at the end: ${load1.map((l) => l.toFixed(2)).join(' / ')} on ${cpus().length} cores (other processes on the machine slow the CPU-bound rows, ceilings included).`)
  if (wantCart) suite.note(`container: a fresh container per combination and run, \`durability: "${DURABILITY}"\` (commits not fdatasynced: the container's own work; w3 has the synced write), \`compression: { codec: 'lz4' }\` or \`{ codec: 'zstd', level: 3 }\`, \`encryption: { passphrase, scrypt: { logN: 10, r: 8, p: 1 } }\` (the key derivation is at create, untimed). Big file: \`pipeline(Readable.from(8 MiB pieces), cart.createWriteStream(path))\`, \`for await\` over \`cart.createReadStream(path)\`, then ${N(size / CHUNK)} awaited \`cart.read(path, { offset, length: 65536 })\` in order. 4 KiB files: one \`transaction()\` of \`tx.write\`, then \`await cart.read(path)\` each. Page cache warm.`)
  suite.note('encrypted stores: cartridge rows `durability: "full"` (one fdatasync per transaction; as w1); lmdb `overlappingSync: false` (commit flushed before it returns), `compression: false`; sqlite-mc WAL + `synchronous = NORMAL` (no fsync at commit), `files(path TEXT PRIMARY KEY, data BLOB)`, the key given by `PRAGMA key` (its key derivation runs at setup, untimed). Same text files for all (cartridge-zstd also compresses them; the peers store them as they are).')
  return suite
}
