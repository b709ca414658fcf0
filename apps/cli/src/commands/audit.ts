import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  CartridgeError, ErrorCodes, verifyAuditArchive, type AuditCheckpoint, type AuditEntry, type AuditHead,
} from 'cartridge'
import { withCartridge } from '../open.js'
import { formatDate, plural } from '../format.js'
import { println, type Io } from '../io.js'
import { readKey } from './engram.js'
import { progressBar } from '../progress.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** An entry as JSON: hashes in hex, the time in ISO 8601. */
function entryJson(e: AuditEntry): Record<string, unknown> {
  return {
    index: e.index, time: new Date(e.time).toISOString(), action: e.action, principal: e.principal,
    ...(e.path ? { path: e.path } : {}), ...(e.target ? { target: e.target } : {}), ...(e.size !== undefined ? { size: e.size } : {}),
    ...(e.sha256 ? { sha256: hex(e.sha256) } : {}), ...(e.detail ? { detail: e.detail } : {}),
  }
}

/** A time given on the command line: ISO 8601, or a number of ms since the epoch. */
function parseTime(text: string, what: string): number {
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(t)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${what} must be an ISO 8601 date or ms since the epoch, not ${JSON.stringify(text)}`)
  return t
}

/** A kept head (`audit head --json`) or a checkpoint (`audit checkpoint`), read from a JSON file. */
function readTrusted(io: Io, file: string): AuditHead | AuditCheckpoint {
  const path = resolve(io.cwd, file)
  let j: Record<string, unknown>
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a head or checkpoint JSON file`, { path, cause: err })
  }
  if (typeof j.size !== 'number' || typeof j.root !== 'string' || !/^[0-9a-f]{64}$/.test(j.root)) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${path} has no { size, root } of an audit head`, { path })
  }
  const head = { size: j.size, root: new Uint8Array(Buffer.from(j.root, 'hex')) }
  if (typeof j.signature !== 'string') return head
  return { ...head, uuid: String(j.uuid), time: new Date(String(j.time)), keyId: String(j.keyId), signature: new Uint8Array(Buffer.from(j.signature, 'base64')) }
}

/**
 * `cartridge audit <cart>`: lists the log (filtered), or with `--verify` recomputes it (exit 1
 * when a problem is found), checking kept heads, checkpoints and rotated archives too.
 */
export async function audit(io: Io, file: string, flags: {
  verify?: boolean; since?: string; until?: string; path?: string; action?: string[]; from?: number; json?: boolean
  trusted?: string[]; archive?: string[]; pub?: string
}): Promise<number> {
  return withCartridge(file, io, {}, async (cart) => {
    const head = await cart.auditHead()
    if (!head.enabled) throw new CartridgeError(ErrorCodes.NOT_FOUND, 'this container keeps no audit log (`cartridge audit enable` starts one)')
    if (!flags.verify) {
      const query = {
        ...(flags.since ? { since: parseTime(flags.since, '--since') } : {}), ...(flags.until ? { until: parseTime(flags.until, '--until') } : {}),
        ...(flags.path ? { path: flags.path } : {}), ...(flags.action ? { action: flags.action } : {}), ...(flags.from !== undefined ? { from: flags.from } : {}),
      }
      for await (const e of cart.auditLog(query)) {
        if (flags.json) println(io.stdout, JSON.stringify(entryJson(e)))
        else {
          const what = e.target && e.path ? `${e.path} -> ${e.target}` : e.path || e.target
          println(io.stdout, [String(e.index).padStart(6), formatDate(new Date(e.time)), e.principal, e.action, what, e.size !== undefined ? `${e.size} B` : '', e.detail].filter((x) => x !== '').join('  '))
        }
      }
      return 0
    }
    const publicKey = flags.pub ? readKey(io, flags.pub, 'public') : undefined
    const trusted = (flags.trusted ?? []).map((f) => readTrusted(io, f))
    let bar: ReturnType<typeof progressBar>
    let shown = 0
    const report = await cart.verifyAudit({
      trusted, publicKey, onProgress: (p) => {
        bar ??= progressBar(io, p.bytesTotal, flags.json === true)
        bar?.advance(p.bytesDone - shown)
        shown = p.bytesDone
      },
    })
    bar?.finish()
    const problems = [...report.problems]
    // Rotated archives: each must verify on its own and chain onto the next (the last onto the container).
    if ((flags.archive ?? []).length > 0) {
      if (!publicKey) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, '--archive needs --pub, the key that signed the archives')
      const archives = []
      for (const a of flags.archive!) archives.push({ file: a, r: await verifyAuditArchive(resolve(io.cwd, a), publicKey) })
      archives.sort((x, y) => x.r.base - y.r.base)
      let size = 0
      let root: string | undefined
      for (const { file: a, r } of archives) {
        for (const p of r.problems) problems.push({ ...p, what: `${a}: ${p.what}` })
        if (r.base !== size || (root !== undefined && hex(r.baseRoot) !== root)) problems.push({ what: `${a} does not continue the archive before it (entries from ${r.base}, expected ${size})` })
        size = r.size
        root = hex(r.root)
      }
      if (size !== head.base || root !== hex(head.baseRoot)) problems.push({ what: `the container's log does not continue the last archive (it starts at ${head.base}, the archives end at ${size})` })
    }
    const valid = problems.length === 0
    if (flags.json) println(io.stdout, JSON.stringify({ valid, size: report.size, root: hex(report.root), base: report.base, checked: report.checked, firstBad: report.firstBad, problems }, null, 2))
    else if (valid) println(io.stdout, `valid: ${`${report.checked} ${report.checked === 1 ? 'entry' : 'entries'}`} checked, head ${report.size} ${hex(report.root)}`)
    else {
      println(io.stdout, `INVALID (${plural(problems.length, 'problem')})${report.firstBad !== undefined ? `, first bad entry ${report.firstBad}` : ''}:`)
      for (const p of problems.slice(0, 20)) println(io.stdout, `  ${p.index !== undefined ? `entry ${p.index}: ` : ''}${p.what}`)
    }
    return valid ? 0 : 1
  })
}

/** `cartridge audit enable <cart> [--reads]`. */
export async function auditEnable(io: Io, file: string, flags: { reads?: boolean }): Promise<number> {
  await withCartridge(file, io, { write: true }, (cart) => cart.enableAuditLogging({ reads: flags.reads === true }))
  return 0
}

/** `cartridge audit head <cart>`: the head to keep (JSON with `--json`, for `--trusted`). */
export async function auditHead(io: Io, file: string, flags: { json?: boolean; out?: string; force?: boolean }): Promise<number> {
  const head = await withCartridge(file, io, {}, (cart) => cart.auditHead())
  const json = JSON.stringify({ size: head.size, root: hex(head.root), base: head.base, enabled: head.enabled, reads: head.reads })
  if (flags.out) {
    const target = resolve(io.cwd, flags.out)
    if (existsSync(target) && !flags.force) throw new CartridgeError(ErrorCodes.EXISTS, `${target} exists (--force replaces it)`, { path: target })
    writeFileSync(target, `${json}\n`)
  } else if (flags.json) println(io.stdout, json)
  else println(io.stdout, head.enabled ? `${head.size} ${hex(head.root)}` : 'no audit log')
  return 0
}

/** `cartridge audit checkpoint <cart> --key K [-o file]`: a signed head, logged. */
export async function auditCheckpoint(io: Io, file: string, flags: { key: string; out?: string; force?: boolean }): Promise<number> {
  const secretKey = readKey(io, flags.key, 'secret')
  const cp = await withCartridge(file, io, { write: true }, (cart) => cart.auditCheckpoint({ secretKey }))
  const text = JSON.stringify({ uuid: cp.uuid, size: cp.size, root: hex(cp.root), time: cp.time.toISOString(), keyId: cp.keyId, signature: Buffer.from(cp.signature).toString('base64') })
  if (flags.out) {
    const target = resolve(io.cwd, flags.out)
    if (existsSync(target) && !flags.force) throw new CartridgeError(ErrorCodes.EXISTS, `${target} exists (--force replaces it)`, { path: target })
    writeFileSync(target, `${text}\n`)
  } else println(io.stdout, text)
  return 0
}

/** `cartridge audit rotate <cart> <archive.eng> --key K`: stored entries into a signed archive. */
export async function auditRotate(io: Io, file: string, out: string, flags: { key: string; json?: boolean; force?: boolean }): Promise<number> {
  const secretKey = readKey(io, flags.key, 'secret')
  const target = resolve(io.cwd, out)
  if (existsSync(target) && !flags.force) throw new CartridgeError(ErrorCodes.EXISTS, `${target} exists (--force replaces it)`, { path: target })
  const r = await withCartridge(file, io, { write: true }, async (cart) => {
    let bar: ReturnType<typeof progressBar>
    let shown = 0
    try {
      return await cart.rotateAudit(target, {
        secretKey, onProgress: (p) => {
          bar ??= progressBar(io, p.bytesTotal, flags.json === true)
          bar?.advance(p.bytesDone - shown)
          shown = p.bytesDone
        },
      })
    } finally {
      bar?.finish()
    }
  })
  if (flags.json) println(io.stdout, JSON.stringify({ file: r.file, base: r.base, size: r.size, root: hex(r.root) }))
  else println(io.stdout, `rotated entries ${r.base}–${r.size - 1} into ${out}; the log goes on from ${r.size}`)
  return 0
}
