// Workload 10: engrams (signed archives, spec/ENGRAM.md) against the Unix way of shipping a signed
// archive, on the same files: a container of mixed files (copies of this repository's text files,
// each copy with its letters permuted, plus incompressible binaries). (1) Freeze: `freezeToEngram`
// (zstd-3, and lz4 / none) vs `tar -cf | zstd -3`, signed with `minisign -S` (or `openssl pkeyutl`)
// and synced. (2) Verify the whole archive: `Engram.verify` vs `minisign -V` + `zstd -t`. (3) One
// 1 MiB file, checked against the signature: `Engram.open` + `read` vs verifying the whole .tar.zst
// and then `zstd -dc | tar -xf - path`: time and bytes read from the archive. (4) Sizes.
import { spawnSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { Engram, generateSigningKey } from 'cartridge'
import { Cartridge } from '../peers.mjs'
import { Suite, expectBytes, fmt, pad, prng, rotate, sampleRss, tempDir, wantVariant } from '../harness.mjs'
import { repositoryFiles } from './codecs.mjs'

export const id = 'w10'
export const title = 'engrams: freeze, verify and one-file reads of a signed archive vs tar + zstd + minisign'

const MiB = 2 ** 20
const ONE = MiB
/** Share of the content that is incompressible binaries (the rest: text). */
const BINARY_SHARE = 0.25
/** Sizes of the binaries, in turn (the last one cut to fit). */
const BINARY_SIZES = [1, 4, 0.25, 2, 0.0625, 0.5, 8, 1].map((m) => m * MiB)
/** Bytes written to the container per transaction while building it. */
const TXN_BYTES = 32 * MiB
/** openssl's Ed25519 (`pkeyutl -rawin`) holds the whole message in memory: above this, sign a SHA-256 digest file instead. */
const OPENSSL_RAW_MAX = 512 * MiB
const ZSTD_LEVEL = 3

const N = (/** @type {number} */ n) => n.toLocaleString('en-US')
const sizeLabel = (/** @type {number} */ b) => (b >= 2 ** 30 ? `${+(b / 2 ** 30).toFixed(2)} GiB` : b >= MiB ? `${+(b / MiB).toFixed(2)} MiB` : `${+(b / 1024).toFixed(1)} KiB`)
const x2 = (/** @type {number | null | undefined} */ v) => (v === null || v === undefined || !Number.isFinite(v) ? '' : v >= 100 ? `${Math.round(v)}×` : `${v.toFixed(2)}×`)

/** The engram codecs: zstd-3 is the one compared with the tar way; lz4 and none are for reference. */
const CODECS = /** @type {const} */ ([
  { key: 'zstd-3', compression: 'zstd', level: ZSTD_LEVEL },
  { key: 'lz4', compression: 'lz4' },
  { key: 'none', compression: 'none' },
])

/** Phase names, shared by the tables. */
const P = {
  freeze: (/** @type {string} */ codec) => `freeze: ${codec}`,
  verify: (/** @type {string} */ codec) => `verify whole archive: ${codec}`,
  one: (/** @type {string} */ kind) => `one 1 MiB file (${kind}): verify + read`,
  steps: (/** @type {string} */ phase) => `${phase}: tar-way steps`,
}
const TAR = 'tar-way'
const TAR_OCC = 'tar-way-occurrence'

// ---- the data -----------------------------------------------------------------------------

/**
 * A letter permutation of copy `k` (copy 0: identity) as a byte table: a–z and A–Z each shuffled,
 * everything else (digits, punctuation, whitespace, UTF-8 bytes ≥ 0x80) unchanged. A byte
 * bijection leaves a copy exactly as compressible on its own, but leaves no long match between
 * copies (identical copies 1.6 MiB apart would sit inside zstd -3's 2 MiB window and flatter the
 * tar way).
 * @param {number} k
 */
function letterTable(k) {
  const t = new Uint8Array(256)
  for (let i = 0; i < 256; i++) t[i] = i
  if (k === 0) return t
  const rnd = prng(0x3e10 + k)
  for (const base of [0x61, 0x41]) {
    const perm = Array.from({ length: 26 }, (_, i) => base + i)
    for (let i = 25; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      ;[perm[i], perm[j]] = [perm[j], perm[i]]
    }
    for (let i = 0; i < 26; i++) t[base + i] = perm[i]
  }
  return t
}

/** @param {Uint8Array} src @param {Uint8Array} table @param {number} [length] */
function mapBytes(src, table, length = src.length) {
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = table[src[i]]
  return out
}

/**
 * Plans and writes the container: binaries under /media (fresh random bytes each), copies of the
 * repository's text files under /src/cNNNN/ (letters permuted per copy), and two 1 MiB targets:
 * a binary in the middle of /media and /src/cMID/corpus-1mib.txt. Returns the file list (path,
 * size) and the targets' bytes.
 * @param {any} cart @param {number} total content bytes
 */
async function fill(cart, total) {
  const repo = repositoryFiles()
  const corpusBytes = repo.reduce((n, f) => n + f.bytes.length, 0)
  /** @type {{path: string, size: number}[]} */
  const files = []
  /** @type {Map<string, Uint8Array>} */
  let pending = new Map()
  let pendingBytes = 0
  const put = async (/** @type {string} */ path, /** @type {Uint8Array} */ bytes) => {
    files.push({ path, size: bytes.length })
    pending.set(path, bytes)
    pendingBytes += bytes.length
    if (pendingBytes >= TXN_BYTES) await flush()
  }
  const flush = async () => {
    const batch = pending
    pending = new Map()
    pendingBytes = 0
    await cart.transaction(async (/** @type {any} */ tx) => {
      for (const [p, b] of batch) await tx.write(p, b)
    })
    sampleRss()
  }

  // Binaries: sizes in turn up to the binary budget; the target is the 1 MiB one nearest the middle.
  const binBudget = Math.round((total * BINARY_SHARE) / 4096) * 4096
  const binSizes = []
  for (let left = binBudget, i = 0; left > 0; i++) {
    const s = Math.min(BINARY_SIZES[i % BINARY_SIZES.length], left)
    binSizes.push(s)
    left -= s
  }
  const ones = binSizes.map((s, i) => (s === ONE ? i : -1)).filter((i) => i >= 0)
  const binTargetIndex = ones.reduce((best, i) => (Math.abs(i - binSizes.length / 2) < Math.abs(best - binSizes.length / 2) ? i : best), ones[0])
  if (binTargetIndex === undefined) throw new Error('w10: no 1 MiB binary (content too small)')
  let binTarget = { path: '', bytes: new Uint8Array() }
  for (const [i, s] of binSizes.entries()) {
    const b = Buffer.allocUnsafe(s)
    randomFillSync(b)
    const path = `/media/blob-${pad(i, 5)}.bin`
    if (i === binTargetIndex) binTarget = { path, bytes: b }
    await put(path, b)
  }

  // Text: copies of the repository's files until the text budget (less the 1 MiB target) is spent.
  const textBudget = total - binBudget - ONE
  const copies = Math.max(1, Math.ceil(textBudget / corpusBytes))
  const mid = copies >> 1
  let textTarget = { path: '', bytes: new Uint8Array() }
  let left = textBudget
  for (let k = 0; k < copies && left > 0; k++) {
    const table = letterTable(k)
    const dir = `/src/c${pad(k, 4)}`
    for (const f of repo) {
      if (left <= 0) break
      const n = Math.min(f.bytes.length, left)
      await put(`${dir}/${f.path}`, mapBytes(f.bytes, table, n))
      left -= n
    }
    if (k === mid) {
      const joined = Buffer.concat(repo.map((f) => f.bytes))
      const tiled = Buffer.allocUnsafe(ONE)
      for (let off = 0; off < ONE; off += joined.length) joined.copy(tiled, off, 0, Math.min(joined.length, ONE - off))
      textTarget = { path: `${dir}/corpus-1mib.txt`, bytes: mapBytes(tiled, table) }
      await put(textTarget.path, textTarget.bytes)
    }
  }
  await flush()
  return { files, copies, repoFiles: repo.length, corpusBytes, binaries: binSizes.length, binBytes: binBudget, textBytes: total - binBudget, targets: { text: textTarget, binary: binTarget } }
}

// ---- the tools ----------------------------------------------------------------------------

/** @param {string} cmd @param {string[]} args */
function toolVersion(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error) return undefined
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0]
}

/**
 * Runs a bash script with `env`; `counted CMD…` runs CMD in a subshell and reports the bytes it
 * read (`rchar` of /proc/<subshell>/io, which takes in the waited-for command's reads); `times`
 * at the end gives the CPU of all the script's children.
 * @param {string} script @param {Record<string, string>} env
 * @returns {{read: number[], cpuUserMs: number, cpuSystemMs: number}}
 */
function bash(script, env) {
  const prelude = 'counted() { ( set +e; p=$BASHPID; "$@"; s=$?; echo "W10READ $(grep ^rchar /proc/$p/io)" >&2; exit $s ) }'
  const res = spawnSync('bash', ['-c', `${prelude}\n${script}\ntimes >&2`], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 16 * MiB })
  const err = res.stderr ?? ''
  if (res.error || res.status !== 0) throw new Error(`w10: \`${script.split('\n').join('; ')}\` failed (${res.error?.message ?? `exit ${res.status}`}): ${err.trim().split('\n').slice(-3).join(' / ')}`)
  const read = [...err.matchAll(/W10READ rchar:\s*(\d+)/g)].map((m) => Number(m[1]))
  const t = [...err.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop()
  const ms = (/** @type {string} */ m, /** @type {string} */ s) => (Number(m) * 60 + Number(s)) * 1000
  return { read, cpuUserMs: t ? ms(t[1], t[2]) : 0, cpuSystemMs: t ? ms(t[3], t[4]) : 0 }
}

/**
 * The tar way's commands. Paths come in the environment: DIR (the extracted files), OUT (the
 * .tar.zst), KEY / PUB (the signer's keys), X (an extraction directory), M (a member's path).
 * @param {'minisign' | 'openssl' | 'openssl-digest'} signer
 */
function tarWay(signer) {
  const sig = signer === 'minisign' ? '"$OUT.minisig"' : '"$OUT.sig"'
  return {
    sigFile: (/** @type {string} */ out) => (signer === 'minisign' ? `${out}.minisig` : `${out}.sig`),
    /** tar of the files (sorted by name, as the engram's path order) through zstd -3 */
    pack: `set -e -o pipefail\ntar -cf - --sort=name -C "$DIR" media src | zstd -${ZSTD_LEVEL} -q -f -o "$OUT"`,
    sign: signer === 'minisign'
      ? 'minisign -S -s "$KEY" -m "$OUT" -x "$OUT.minisig" >/dev/null'
      : signer === 'openssl'
        ? 'openssl pkeyutl -sign -inkey "$KEY" -rawin -in "$OUT" -out "$OUT.sig"'
        : 'set -e -o pipefail\nsha256sum "$OUT" | cut -d" " -f1 > "$OUT.sha256"\nopenssl pkeyutl -sign -inkey "$KEY" -rawin -in "$OUT.sha256" -out "$OUT.sig"',
    sync: `sync "$OUT" ${sig}`,
    /** the signature over the whole .tar.zst, its reads counted */
    verify: signer === 'minisign'
      ? 'set -e\ncounted minisign -Vq -p "$PUB" -m "$OUT" -x "$OUT.minisig"'
      : signer === 'openssl'
        ? 'set -e\ncounted openssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$OUT" -sigfile "$OUT.sig" >/dev/null'
        : 'set -e -o pipefail\ncounted sha256sum "$OUT" | cut -d" " -f1 > "$X.sha256"\ncmp -s "$X.sha256" "$OUT.sha256"\nopenssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$OUT.sha256" -sigfile "$OUT.sig" >/dev/null',
    test: 'set -e\ncounted zstd -tq "$OUT"',
    /** one member, the whole archive read (tar reads on to the end: a member may appear again) */
    extract: 'set -e -o pipefail\nmkdir -p "$X"\ncounted zstd -dcq "$OUT" | tar -xf - -C "$X" "$M"',
    /** one member, tar stopping at its first occurrence (zstd then ends on SIGPIPE) */
    extractFirst: 'set -e\nmkdir -p "$X"\ncounted zstd -dcq "$OUT" | tar -xf - -C "$X" --occurrence=1 "$M"',
  }
}

// ---- the report ---------------------------------------------------------------------------

/** A Suite whose Markdown adds the summary tables. */
class EngramSuite extends Suite {
  /** @param {string[]} head @param {string[]} body */
  markdownSection(head, body) {
    const x = /** @type {any} */ (this.extra)
    if (!x.facts) return super.markdownSection(head, body)
    const rows = this.rows()
    const row = (/** @type {string} */ phase, /** @type {string} */ impl) => rows.find((r) => r.phase === phase && r.impl === impl)
    const ms = (/** @type {any} */ r) => (r ? fmt(r.medianMs) : '')
    const cpu = (/** @type {any} */ r) => (r ? fmt(r.cpuUserMs + r.cpuSystemMs) : '')
    const f = x.facts
    const lines = ['']
    const content = x.contentBytes
    const tarSteps = (/** @type {string} */ phase, /** @type {string[]} */ steps) => steps.map((s) => `${s} ${ms(row(P.steps(phase), s))}`).join(' + ')

    // 1. freeze
    lines.push(`**Freeze** ${sizeLabel(content)} of content (${N(x.fileCount)} files) into a signed archive, synced; MiB/s of content, median of ${x.runs} runs. \`÷ tar-way\` = the row's throughput ÷ the tar way's (goal ≥ 1× for zstd-3). CPU: this process for the engram rows, the children (\`times\`) for the tar way.`, '')
    lines.push('| archive | MiB/s | median ms | ÷ tar-way | CPU ms | archive bytes |', '|---|---:|---:|---:|---:|---:|')
    const tarFreeze = row(P.freeze('zstd-3'), TAR)
    for (const c of CODECS) {
      const r = row(P.freeze(c.key), 'cartridge')
      if (!r) continue
      lines.push(`| engram, ${c.key} (\`freezeToEngram\`) | ${r.mibPerSec} | ${ms(r)} | ${tarFreeze ? x2(tarFreeze.medianMs / r.medianMs) : ''} | ${cpu(r)} | ${f.sizes[`engram-${c.key}`] ? N(f.sizes[`engram-${c.key}`]) : ''} |`)
    }
    if (tarFreeze) lines.push(`| tar way: ${tarSteps(P.freeze('zstd-3'), x.steps.freeze)} ms | ${tarFreeze.mibPerSec} | ${ms(tarFreeze)} | 1× | ${cpu(tarFreeze)} | ${N(f.sizes.tarZst)} + ${N(f.sizes.signature)} (signature) |`)

    // 2. verify
    lines.push('', `**Verify the whole archive** (signature, then every byte: \`Engram.verify\` checks every page's and block's hash and decodes every block; the tar way checks the signature over the file, then decompresses it with \`zstd -t\`); MiB/s of content, page cache warm. Goal ≥ 1× for zstd-3.`, '')
    lines.push('| archive | MiB/s | median ms | ÷ tar-way | CPU ms |', '|---|---:|---:|---:|---:|')
    const tarVerify = row(P.verify('zstd-3'), TAR)
    for (const c of CODECS) {
      const r = row(P.verify(c.key), 'cartridge')
      if (r) lines.push(`| engram, ${c.key} (\`Engram.verify\`) | ${r.mibPerSec} | ${ms(r)} | ${tarVerify ? x2(tarVerify.medianMs / r.medianMs) : ''} | ${cpu(r)} |`)
    }
    if (tarVerify) lines.push(`| tar way: ${tarSteps(P.verify('zstd-3'), x.steps.verify)} ms | ${tarVerify.mibPerSec} | ${ms(tarVerify)} | 1× | ${cpu(tarVerify)} |`)

    // 3. one file
    lines.push('', `**One 1 MiB file, checked against the signature** (zstd-3 archives): engram = \`Engram.open\` (header, index, manifest, signature) + \`read\` (its directory page and its blocks, each hash checked) + \`close\`, bytes = \`eng.bytesRead\`; tar way = the signature over the whole .tar.zst, then \`zstd -dc | tar -xf - PATH\`, bytes = what the processes reading the archive read (\`rchar\`). Medians of ${x.oneRuns} (engram, after a 5 ms pause) and ${x.runs} runs. Goal: the tar way ≥ 100× the engram's time and bytes.`, '')
    lines.push('| file | way | median ms | bytes read | tar ÷ engram, time | tar ÷ engram, bytes |', '|---|---|---:|---:|---:|---:|')
    for (const kind of ['text', 'binary']) {
      const phase = P.one(kind)
      const e = row(phase, 'cartridge')
      const eb = f.one[kind]?.cartridge
      const file = `${f.one[kind]?.path ?? ''} (${kind})`
      if (e) lines.push(`| ${file} | engram (open ${N(f.one[kind].openBytes)} B + read ${N(eb - f.one[kind].openBytes)} B) | ${ms(e)} | ${N(eb)} | | |`)
      for (const [impl, label] of [[TAR, `tar way: ${tarSteps(phase, x.steps.one)} ms`], [TAR_OCC, `tar --occurrence=1 (stops after the member): ${tarSteps(phase, x.steps.oneFirst)} ms`]]) {
        const t = row(phase, impl)
        const tb = f.one[kind]?.[impl]
        if (t) lines.push(`| ${file} | ${label} | ${ms(t)} | ${N(tb)} | ${e ? x2(t.medianMs / e.medianMs) : ''} | ${eb ? x2(tb / eb) : ''} |`)
      }
    }

    // 4. sizes
    lines.push('', `**Sizes** of the ${sizeLabel(content)} of content (${sizeLabel(x.textBytes)} text in ${N(x.copies)} copies of ${N(x.repoFiles)} files, ${sizeLabel(x.binBytes)} in ${N(x.binaries)} random binaries).`, '')
    lines.push('| archive | bytes | ÷ content | ÷ .tar.zst |', '|---|---:|---:|---:|')
    for (const c of CODECS) {
      const b = f.sizes[`engram-${c.key}`]
      if (b) lines.push(`| engram, ${c.key} | ${N(b)} | ${(b / content).toFixed(3)} | ${f.sizes.tarZst ? (b / f.sizes.tarZst).toFixed(3) : ''} |`)
    }
    if (f.sizes.tarZst) lines.push(`| .tar.zst (zstd -${ZSTD_LEVEL}) + ${x.signer} signature | ${N(f.sizes.tarZst)} + ${N(f.sizes.signature)} | ${(f.sizes.tarZst / content).toFixed(3)} | 1 |`)
    return super.markdownSection(head, [...body, ...lines])
  }
}

// ---- the run ------------------------------------------------------------------------------

/**
 * A sample that is the sum of `parts` (the tar way's steps, run one after another).
 * @param {import('../harness.mjs').Sample[]} parts
 */
function sumSamples(parts) {
  const s = { ...parts[0] }
  for (const k of /** @type {const} */ (['ms', 'cpuUserMs', 'cpuSystemMs', 'fsWriteBlocks', 'fsReadBlocks', 'ctxVoluntary', 'ctxInvoluntary'])) s[k] = parts.reduce((n, p) => n + p[k], 0)
  s.rssPeak = Math.max(...parts.map((p) => p.rssPeak))
  s.maxRssKiB = Math.max(...parts.map((p) => p.maxRssKiB))
  return s
}

/** @param {{mode: 'smoke' | 'quick' | 'full', want: (impl: string) => boolean, log: (s: string) => void}} ctx */
export async function run(ctx) {
  const total = { smoke: 8, quick: 256, full: 1024 }[ctx.mode] * MiB
  const runs = { smoke: 1, quick: 3, full: 3 }[ctx.mode]
  const oneRuns = { smoke: 1, quick: 15, full: 15 }[ctx.mode]
  const load0 = loadavg()
  const suite = new EngramSuite(id, `engrams: ${sizeLabel(total)} of mixed files frozen, verified and read one file at a time, vs tar + zstd -${ZSTD_LEVEL} + a signature`, { total, runs, oneRuns, zstdLevel: ZSTD_LEVEL })
  const wantCart = wantVariant(ctx, 'cartridge')
  const wantTar = ctx.want(TAR)
  const work = { bytes: total }

  // The tools of the tar way.
  const have = (/** @type {string} */ cmd) => !spawnSync('sh', ['-c', `command -v ${cmd}`]).status
  const missingTools = ['tar', 'zstd', 'bash'].filter((c) => !have(c))
  /** @type {'minisign' | 'openssl' | 'openssl-digest' | undefined} */
  let signer = have('minisign') ? 'minisign' : have('openssl') ? 'openssl' : undefined
  if (!signer) missingTools.push('minisign or openssl')
  const runTar = wantTar && missingTools.length === 0

  const t = tempDir('engram')
  try {
    // The container, the same files extracted to a directory, and the keys (untimed).
    const t0 = performance.now()
    const cart = await Cartridge.create('w10', 'w10 engram bench', { path: t.path('src.cart'), durability: 'none' })
    const data = await fill(cart, total)
    const dir = t.path('files')
    const made = new Set()
    for (const { path } of runTar ? data.files : []) {
      const p = join(dir, path.slice(1))
      if (!made.has(dirname(p))) {
        mkdirSync(dirname(p), { recursive: true })
        made.add(dirname(p))
      }
      writeFileSync(p, await cart.read(path))
    }
    const content = data.files.reduce((n, f) => n + f.size, 0)
    if (content !== total) throw new Error(`w10: ${content} bytes of content, planned ${total}`)
    ctx.log(`[bench] w10 ${N(data.files.length)} files (${sizeLabel(total)}) in the container and in a directory in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    const { secretKey, publicKey } = await generateSigningKey()
    const env = { DIR: dir, OUT: t.path('files.tar.zst'), KEY: t.path('minisign.key'), PUB: t.path('minisign.pub'), X: t.path('x'), M: '' }
    if (runTar && signer === 'minisign') {
      const g = spawnSync('minisign', ['-G', '-W', '-f', '-p', env.PUB, '-s', env.KEY], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
      if (g.status !== 0) signer = have('openssl') ? 'openssl' : undefined
    }
    if (runTar && signer !== 'minisign' && signer) {
      env.KEY = t.path('ed25519.pem')
      env.PUB = t.path('ed25519.pub.pem')
      bash('set -e\nopenssl genpkey -algorithm ed25519 -out "$KEY"\nopenssl pkey -in "$KEY" -pubout -out "$PUB"', env)
    }
    const engFile = (/** @type {string} */ key) => t.path(`files-${key}.eng`)
    /** @type {{sizes: Record<string, number>, one: Record<string, any>}} */
    const facts = { sizes: {}, one: {} }
    const [sign, check] = signer === 'minisign' ? ['minisign -S', 'minisign -V'] : ['openssl sign', 'openssl verify']
    const steps = {
      freeze: [`tar -cf → zstd -${ZSTD_LEVEL}`, sign, 'sync'],
      verify: [check, 'zstd -t'],
      one: [check, 'zstd -dc → tar -xf'],
      oneFirst: [check, 'zstd -dc → tar -xf --occurrence=1'],
    }
    /** @type {ReturnType<typeof tarWay>} */
    let way = tarWay(signer ?? 'openssl')
    /**
     * Times one step of the tar way (a bash script) under `phase`'s steps; the sample's CPU is the children's.
     * @param {string} phase @param {string} step @param {string} script @param {{bytes: number}} [stepWork] @param {Record<string, string>} [extra]
     */
    const step = async (phase, step, script, stepWork = work, extra = {}) => {
      /** @type {ReturnType<typeof bash> | undefined} */
      let out
      const s = await suite.time(P.steps(phase), step, stepWork, () => {
        out = bash(script, { ...env, ...extra })
      })
      const o = /** @type {ReturnType<typeof bash>} */ (out)
      s.cpuUserMs = o.cpuUserMs
      s.cpuSystemMs = o.cpuSystemMs
      return { sample: s, read: o.read.reduce((n, b) => n + b, 0) }
    }

    // 1. Freeze (and 4. sizes).
    for (let r = 0; r < runs; r++) {
      const impls = [...(wantCart ? CODECS.map((c) => c.key) : []), ...(runTar ? [TAR] : [])]
      for (const impl of rotate(impls, r)) {
        if (impl === TAR) {
          rmSync(env.OUT, { force: true })
          const a = await step(P.freeze('zstd-3'), steps.freeze[0], way.pack)
          if (signer === 'openssl' && statSync(env.OUT).size > OPENSSL_RAW_MAX) {
            signer = 'openssl-digest'
            way = tarWay(signer)
          }
          const b = await step(P.freeze('zstd-3'), steps.freeze[1], way.sign)
          const c = await step(P.freeze('zstd-3'), steps.freeze[2], way.sync)
          suite.add(P.freeze('zstd-3'), TAR, work, sumSamples([a.sample, b.sample, c.sample]))
          facts.sizes.tarZst = statSync(env.OUT).size
          facts.sizes.signature = statSync(way.sigFile(env.OUT)).size
        } else {
          const c = /** @type {typeof CODECS[number]} */ (CODECS.find((x) => x.key === impl))
          const file = engFile(c.key)
          rmSync(file, { force: true })
          await suite.time(P.freeze(c.key), 'cartridge', work, () => cart.freezeToEngram(file, { secretKey, compression: c.compression, ...('level' in c ? { level: c.level } : {}) }))
          facts.sizes[`engram-${c.key}`] = statSync(file).size
        }
      }
    }
    await cart.close()
    ctx.log(`[bench] w10 freeze done`)

    // 2. Verify the whole archive.
    for (let r = 0; r < runs; r++) {
      const impls = [...(wantCart ? CODECS.map((c) => c.key) : []), ...(runTar ? [TAR] : [])]
      for (const impl of rotate(impls, r)) {
        if (impl === TAR) {
          const a = await step(P.verify('zstd-3'), steps.verify[0], way.verify)
          const b = await step(P.verify('zstd-3'), steps.verify[1], way.test)
          suite.add(P.verify('zstd-3'), TAR, work, sumSamples([a.sample, b.sample]))
        } else {
          /** @type {any} */
          let report
          await suite.time(P.verify(impl), 'cartridge', work, async () => {
            report = await Engram.verify(engFile(impl), publicKey)
          })
          if (!report.valid || report.files !== data.files.length) throw new Error(`w10: Engram.verify of the ${impl} engram: ${JSON.stringify(report.problems.slice(0, 3))} (${report.files} files)`)
        }
      }
    }
    ctx.log(`[bench] w10 verify done`)

    // 3. One 1 MiB file, checked against the signature.
    const oneWork = { bytes: ONE }
    for (const kind of /** @type {const} */ (['text', 'binary'])) {
      const target = data.targets[kind]
      const phase = P.one(kind)
      const member = target.path.slice(1)
      const fact = (facts.one[kind] = { path: target.path })
      const xfile = join(env.X, member)
      for (let r = 0; r < Math.max(runs, oneRuns); r++) {
        const impls = [...(wantCart && r < oneRuns ? ['cartridge'] : []), ...(runTar && r < runs ? [TAR, TAR_OCC] : [])]
        for (const impl of rotate(impls, r)) {
          if (impl === 'cartridge') {
            /** @type {any} */
            let got
            let openBytes = 0
            let bytes = 0
            await suite.time(phase, 'cartridge', oneWork, async () => {
              const eng = await Engram.open(engFile('zstd-3'), { publicKey })
              openBytes = eng.bytesRead
              got = await eng.read(target.path)
              bytes = eng.bytesRead
              await eng.close()
            }, { settleMs: 5 })
            expectBytes(got, target.bytes, `engram ${target.path}`)
            Object.assign(fact, { cartridge: bytes, openBytes })
          } else {
            rmSync(env.X, { recursive: true, force: true })
            const a = await step(phase, steps.one[0], way.verify, oneWork)
            const b = await step(phase, impl === TAR ? steps.one[1] : steps.oneFirst[1], impl === TAR ? way.extract : way.extractFirst, oneWork, { M: member })
            suite.add(phase, impl, oneWork, sumSamples([a.sample, b.sample]))
            expectBytes(readFileSync(xfile), target.bytes, `${impl} ${member}`)
            fact[impl] = a.read + b.read
          }
        }
      }
    }
    ctx.log(`[bench] w10 one-file reads done`)

    suite.extra.runs = runs
    suite.extra.oneRuns = oneRuns
    suite.extra.contentBytes = total
    suite.extra.fileCount = data.files.length
    suite.extra.copies = data.copies
    suite.extra.repoFiles = data.repoFiles
    suite.extra.binaries = data.binaries
    suite.extra.binBytes = data.binBytes
    suite.extra.textBytes = data.textBytes
    suite.extra.signer = signer
    suite.extra.steps = steps
    suite.extra.facts = facts

    const versions = runTar
      ? [toolVersion('tar'), `zstd ${toolVersion('zstd', ['-V'])?.match(/v[\d.]+/)?.[0] ?? ''}`, signer === 'minisign' ? toolVersion('minisign', ['-v']) : toolVersion('openssl', ['version'])?.replace(/ \(.*$/, '')].filter(Boolean).join('; ')
      : ''
    suite.note(`data: ${N(data.files.length)} files, ${sizeLabel(total)}: ${N(data.copies)} copies of this repository's ${N(data.repoFiles)} text files (${sizeLabel(data.corpusBytes)}; the files of w9's corpus) under /src/cNNNN/, the last copy cut to fit, each copy after the first with its letters permuted (a–z and A–Z each by a seeded permutation: each copy is as compressible on its own as the original, but identical copies ${sizeLabel(data.corpusBytes)} apart would fall inside zstd -${ZSTD_LEVEL}'s 2 MiB window and shrink the .tar.zst unrealistically), plus /src/cMID/corpus-1mib.txt (the 1 MiB text target); ${N(data.binaries)} binaries of fresh random bytes (16 KiB … 8 MiB) under /media (${Math.round(BINARY_SHARE * 100)} % of the bytes), the 1 MiB binary target in the middle.`)
    suite.note(`source: a container (\`durability: "none"\`, no compression), the same files extracted from it to a directory for tar (untimed). Engram rows: \`cart.freezeToEngram(file, { secretKey, compression, level })\` (one thread; reads the container, cuts 64 KiB blocks, compresses each on its own, SHA-256 per block, Ed25519 signature over the root, fsync, rename), \`Engram.verify(file, publicKey)\`, \`Engram.open\` + \`read\` + \`close\`.`)
    if (runTar) {
      const signWhat = signer === 'minisign'
        ? '`minisign -S` (key made with `minisign -G -W`: no password; minisign 0.11 signs a BLAKE2b-512 hash of the file) / `minisign -Vq`'
        : signer === 'openssl'
          ? '`openssl pkeyutl -sign -rawin` with an Ed25519 key (`openssl genpkey -algorithm ed25519`; minisign not installed) over the whole .tar.zst, held in memory / `openssl pkeyutl -verify -rawin`'
          : `\`openssl pkeyutl -sign -rawin\` with an Ed25519 key (minisign not installed) over the SHA-256 digest of the .tar.zst (\`sha256sum\`; the .tar.zst is larger than ${sizeLabel(OPENSSL_RAW_MAX)}, too big for openssl's one-shot Ed25519) / \`sha256sum\` + \`cmp\` + \`openssl pkeyutl -verify\``
      suite.note(`tar way (${versions}), each step a \`bash -c\` script, timed from this process: \`tar -cf - --sort=name -C DIR media src | zstd -${ZSTD_LEVEL} -q -o files.tar.zst\` (two processes, pipelined: zstd 1.5 also overlaps its I/O in a thread), then sign with ${signWhat}, then \`sync FILE SIG\` (fsync, as the engram's freeze does); verify = the signature over the whole file, then \`zstd -tq\`; one file = the signature over the whole file, then \`zstd -dcq files.tar.zst | tar -xf - -C X PATH\` (GNU tar reads on to the end of the archive) or with \`--occurrence=1\` (tar stops after the member; zstd ends on SIGPIPE). Bytes read: \`rchar\` from /proc of a subshell around each command that reads the archive (it takes in the command's reads when waited for; key and signature files and the loader's reads add a few KiB). The steps' rows are under \`…: tar-way steps\`; the \`tar-way\` rows are their sums.`)
    }
    if (missingTools.length && wantTar) suite.note(`tar way not run: ${missingTools.join(', ')} not found on PATH`)
    const load1 = loadavg()
    suite.note(`page cache warm throughout (the engram and the .tar.zst were just written). load average (1 / 5 / 15 min) at the start of w10: ${load0.map((l) => l.toFixed(2)).join(' / ')}, at the end: ${load1.map((l) => l.toFixed(2)).join(' / ')} on ${cpus().length} cores.`)
    return suite
  } finally {
    t.dispose()
  }
}
