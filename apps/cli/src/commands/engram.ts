import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  Cartridge, CartridgeError, Engram, ErrorCodes, formatPublicKey, formatSecretKey, generateSigningKey, keyId, parsePublicKey, parseSecretKey,
  type CodecName,
} from 'cartridge'
import { withCartridge, containerPath, slugOf } from '../open.js'
import { formatBytes, plural } from '../format.js'
import { progressBar } from '../progress.js'
import { println, type Io } from '../io.js'
import { resolveOutput, writeOutput } from '../output-file.js'

/** Reads a key file written by `cartridge keygen` (the text form), naming the file on failure. */
export function readKey(io: Io, file: string, kind: 'secret' | 'public'): Uint8Array {
  const path = resolve(io.cwd, file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CartridgeError(ErrorCodes.NOT_FOUND, `cannot read the ${kind} key file ${path}`, { path, cause: err })
  }
  return kind === 'secret' ? parseSecretKey(text) : parsePublicKey(text)
}

/** `cartridge keygen <name>`: writes `<name>.key` (secret, mode 0600) and `<name>.pub`. */
export async function keygen(io: Io, name: string, flags: { force?: boolean; json?: boolean }): Promise<number> {
  const secretPath = resolve(io.cwd, `${name}.key`)
  const publicPath = resolve(io.cwd, `${name}.pub`)
  for (const p of [secretPath, publicPath]) {
    if (existsSync(p) && !flags.force) throw new CartridgeError(ErrorCodes.EXISTS, `${p} exists (--force replaces it)`, { path: p })
  }
  const { secretKey, publicKey } = await generateSigningKey()
  writeFileSync(secretPath, `${formatSecretKey(secretKey)}\n`, { mode: 0o600 })
  writeFileSync(publicPath, `${formatPublicKey(publicKey)}\n`)
  if (flags.json) println(io.stdout, JSON.stringify({ secretKey: secretPath, publicKey: publicPath, keyId: keyId(publicKey) }))
  else println(io.stdout, `key ${keyId(publicKey)}: secret ${name}.key (keep it private), public ${name}.pub`)
  return 0
}

/** `cartridge freeze <cart> <out.eng> --key <name.key>`: a signed engram of the last commit or a snapshot. */
export async function freeze(io: Io, file: string, out: string, flags: { key: string; compression?: CodecName; level?: number; snapshot?: string; quiet?: boolean; json?: boolean; force?: boolean }): Promise<number> {
  const secretKey = readKey(io, flags.key, 'secret')
  const target = resolve(io.cwd, out)
  if (existsSync(target) && !flags.force) throw new CartridgeError(ErrorCodes.EXISTS, `${target} exists (--force replaces it)`, { path: target })
  const summary = await withCartridge(file, io, {}, async (cart) => {
    let bar: ReturnType<typeof progressBar>
    let shown = 0
    const ac = new AbortController()
    const stop = () => ac.abort(new Error('interrupted'))
    process.once('SIGINT', stop)
    try {
      return await cart.freezeToEngram(target, {
        secretKey, compression: flags.compression, level: flags.level, snapshot: flags.snapshot, signal: ac.signal,
        onProgress: (p) => {
          bar ??= progressBar(io, p.bytesTotal, flags.quiet === true)
          bar?.advance(p.bytesDone - shown)
          shown = p.bytesDone
        },
      })
    } finally {
      process.off('SIGINT', stop)
      bar?.finish()
    }
  })
  if (flags.json) println(io.stdout, JSON.stringify({ path: summary.path, bytes: summary.fileSize, files: summary.fileCount, root: Buffer.from(summary.root).toString('hex'), signer: summary.manifest.signer }))
  else if (!flags.quiet) println(io.stdout, `froze ${plural(summary.fileCount, 'file')} (${formatBytes(summary.totalBytes)}) into ${out} (${formatBytes(summary.fileSize)}), signed by ${summary.manifest.signer}`)
  return 0
}

/** `cartridge verify <engram> --pub <name.pub>`: every signature and hash; exit 1 when anything fails. */
export async function verify(io: Io, file: string, flags: { pub: string; json?: boolean; quiet?: boolean }): Promise<number> {
  const publicKey = readKey(io, flags.pub, 'public')
  const path = resolve(io.cwd, file)
  const report = await Engram.verify(path, publicKey)
  if (flags.json) println(io.stdout, JSON.stringify(report, null, 2))
  else if (report.valid) println(io.stdout, `valid: ${plural(report.files, 'file')}, signed by ${report.signer}`)
  else {
    println(io.stdout, `INVALID (${plural(report.problems.length, 'problem')}):`)
    for (const p of report.problems.slice(0, 20)) println(io.stdout, `  ${p.path ? `${p.path}: ` : ''}${p.what}${p.offset !== undefined ? ` (at byte ${p.offset})` : ''}`)
  }
  return report.valid ? 0 : 1
}

async function withEngram<T>(io: Io, file: string, pub: string, body: (eng: Engram) => Promise<T>): Promise<T> {
  const eng = await Engram.open(resolve(io.cwd, file), { publicKey: readKey(io, pub, 'public') })
  try {
    return await body(eng)
  } finally {
    await eng.close()
  }
}

/** `cartridge engram ls <engram> [dir] --pub K`. */
export async function engramLs(io: Io, file: string, dir: string | undefined, flags: { pub: string; long?: boolean; json?: boolean }): Promise<number> {
  return withEngram(io, file, flags.pub, async (eng) => {
    const paths = await eng.list(dir ?? '/')
    if (flags.json) {
      const rows = []
      for (const p of paths) {
        const s = await eng.stat(p)
        rows.push({ path: p, size: s.size, modified: s.modified.toISOString() })
      }
      println(io.stdout, JSON.stringify(rows, null, 2))
    } else {
      for (const p of paths) {
        if (!flags.long) println(io.stdout, p)
        else {
          const s = await eng.stat(p)
          println(io.stdout, `${String(s.size).padStart(12)}  ${s.modified.toISOString()}  ${p}`)
        }
      }
    }
    return 0
  })
}

/** `cartridge engram cat <engram> <path> --pub K`. */
export async function engramCat(io: Io, file: string, path: string, flags: { pub: string }): Promise<number> {
  return withEngram(io, file, flags.pub, async (eng) => {
    io.stdout.write(await eng.read(path))
    return 0
  })
}

/** `cartridge engram get <engram> <path> --out F --pub K`: the temp-file-and-rename rule of `get`. */
export async function engramGet(io: Io, file: string, path: string, flags: { pub: string; out?: string; force?: boolean }): Promise<number> {
  return withEngram(io, file, flags.pub, async (eng) => {
    const name = path.split('/').pop()!
    const out = await resolveOutput(resolve(io.cwd, flags.out ?? name), name, flags.force === true)
    const bytes = await eng.read(path)
    await writeOutput(out, (stream) => new Promise<void>((res, rej) => stream.end(bytes, () => res()).once('error', rej)))
    return 0
  })
}

/** `cartridge thaw <engram> <new.cart> --pub K`: a new, mutable container with the engram's files. */
export async function thaw(io: Io, file: string, target: string, flags: { pub: string; quiet?: boolean }): Promise<number> {
  const path = containerPath(target, io.cwd)
  const cart = await Cartridge.fromEngram(resolve(io.cwd, file), slugOf(path), { path, publicKey: readKey(io, flags.pub, 'public') })
  const n = (await cart.info()).fileCount
  await cart.close()
  if (!flags.quiet) println(io.stdout, `thawed ${plural(n, 'file')} into ${target}`)
  return 0
}
