import { basename } from 'node:path'
import { CartridgeError, ErrorCodes, utf8, viewOf } from '@cartridge/core'
import { MerkleFrontier, decodeAuditEntry, leafHash, storedEntries, type AuditLogState } from '@cartridge/audit'
import { Engram, writeEngram, type EngramSourceFile } from '@cartridge/engram'
import type { Engine } from '@cartridge/engine'

/** Options of `Cartridge.rotateAudit`. */
export interface RotateAuditOptions {
  /** The archive signer's Ed25519 secret key. */
  secretKey: Uint8Array
  signal?: AbortSignal
  /** Bytes of entries archived so far, of all. */
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void
}

/** What a rotation archived. */
export interface RotateAuditResult {
  /** The archive. */
  file: string
  /** Entries archived: indices `base` … `size` − 1. */
  base: number
  size: number
  /** Root over entries 0 … size − 1, which the container's log goes on from. */
  root: Uint8Array
}

/** Path of the entries in an audit archive: each entry as u16 length then its bytes, in order. */
export const ARCHIVE_ENTRIES = '/audit/entries.bin'
/** Path of the archive's head: JSON with base, size, root and the frontier at base (hex). */
export const ARCHIVE_HEAD = '/audit/head.json'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))

/**
 * Writes the stored entries of `e`'s committed log into a signed engram and commits their
 * removal with an `audit.rotate` entry. The caller holds the writer (no entry is appended in
 * between); a failure before the commit leaves the log as it was.
 */
export async function rotateAuditLog(e: Engine, file: string, options: RotateAuditOptions): Promise<RotateAuditResult> {
  const s = e.audit.committed
  if (!s) throw new CartridgeError(ErrorCodes.NOT_FOUND, 'audit logging is not enabled in this container')
  if (s.size === s.base) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'the audit log holds no entries to rotate')
  const head = {
    format: 'cartridge-audit-archive', version: 1, uuid: hex(e.meta.uuid), base: s.base, size: s.size, root: hex(s.root),
    baseFrontier: s.baseFrontier.map(hex),
  }
  const entriesBytes = archivedLength(e, s)
  const now = Date.now()
  const files = (async function* (): AsyncGenerator<EngramSourceFile> {
    yield {
      path: ARCHIVE_ENTRIES, size: entriesBytes, created: now, modified: now,
      chunks: async function* () {
        let batch: Uint8Array[] = []
        let bytes = 0
        const out = () => {
          const buf = new Uint8Array(bytes)
          let off = 0
          for (const b of batch) {
            viewOf(buf).setUint16(off, b.length, true)
            buf.set(b, off + 2)
            off += 2 + b.length
          }
          batch = []
          bytes = 0
          return buf
        }
        for (const { bytes: entry } of storedEntries(e, s, s.base)) {
          batch.push(entry)
          bytes += 2 + entry.length
          if (bytes >= 1 << 20) {
            yield out()
            await new Promise((r) => setImmediate(r))
          }
        }
        if (bytes > 0) yield out()
      },
    }
    const headBytes = utf8(JSON.stringify(head))
    yield { path: ARCHIVE_HEAD, size: headBytes.length, created: now, modified: now, chunks: async function* () { yield headBytes } }
  })()
  const baseRoot = MerkleFrontier.restore(s.base, s.baseFrontier).root()
  const summary = await writeEngram(file, files, {
    secretKey: options.secretKey, signal: options.signal, totalBytes: entriesBytes,
    onProgress: options.onProgress && ((p) => options.onProgress!({ bytesDone: Math.min(p.bytesDone, entriesBytes), bytesTotal: entriesBytes })),
    manifest: {
      slug: `${e.meta.slug}-audit`.slice(0, 214), title: `Audit log of ${e.meta.slug}, entries ${s.base}–${s.size - 1}`,
      created: new Date(e.meta.created).toISOString(),
      source: { uuid: hex(e.meta.uuid), txn: e.meta.txn },
      audit: { size: s.size, root: hex(s.root), base: s.base, baseRoot: hex(baseRoot) },
    },
  })
  e.apply(() => {
    e.audit.rotate()
    e.note({ action: 'audit.rotate', target: basename(file), detail: `entries ${s.base}-${s.size - 1}, archive root ${hex(summary.root)}` })
  })
  e.commit(e.options.durability === 'full')
  return { file, base: s.base, size: s.size, root: s.root.slice() }
}

function archivedLength(e: Engine, s: AuditLogState): number {
  let n = 0
  for (const { bytes } of storedEntries(e, s, s.base)) n += 2 + bytes.length
  return n
}

/** What {@link verifyAuditArchive} reports. */
export interface AuditArchiveReport {
  valid: boolean
  base: number
  size: number
  root: Uint8Array
  /** Root over entries 0 … base − 1 (what the previous archive ends with). */
  baseRoot: Uint8Array
  problems: Array<{ index?: number; what: string }>
}

/**
 * Verifies a rotated audit archive with only its signer's public key: the engram's signature,
 * then every entry (index and prevRoot, as `verifyAudit` does), and that they add up to the head
 * its signed manifest records. Chain archives by comparing one's `size`/`root` with the next's
 * `base`/`baseRoot` (and the last with the container's `auditHead().base`/`baseRoot`).
 */
export async function verifyAuditArchive(file: string, publicKey: Uint8Array): Promise<AuditArchiveReport> {
  const eng = await Engram.open(file, { publicKey })
  try {
    const m = eng.manifest.audit
    if (!m || m.base === undefined || !m.baseRoot) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${file} is not an audit archive`)
    const head = JSON.parse(new TextDecoder().decode(await eng.read(ARCHIVE_HEAD))) as { base: number; size: number; root: string; baseFrontier: string[] }
    const problems: AuditArchiveReport['problems'] = []
    if (head.base !== m.base || head.size !== m.size || head.root !== m.root) problems.push({ what: 'head.json does not match the signed manifest' })
    const f = MerkleFrontier.restore(m.base, head.baseFrontier.map(fromHex))
    if (hex(f.root()) !== m.baseRoot) problems.push({ what: 'the base frontier does not match the signed base root' })
    const { size } = await eng.stat(ARCHIVE_ENTRIES)
    let carry = new Uint8Array(0)
    let position = m.base
    for (let off = 0; off < size; off += 1 << 20) {
      const piece = await eng.read(ARCHIVE_ENTRIES, { offset: off, length: 1 << 20 })
      const buf = new Uint8Array(carry.length + piece.length)
      buf.set(carry)
      buf.set(piece, carry.length)
      let at = 0
      while (at + 2 <= buf.length) {
        const len = viewOf(buf).getUint16(at, true)
        if (at + 2 + len > buf.length) break
        const bytes = buf.subarray(at + 2, at + 2 + len)
        try {
          const entry = decodeAuditEntry(bytes)
          if (entry.index !== position) problems.push({ index: position, what: `entry ${position} says index ${entry.index}` })
          else if (Buffer.compare(entry.prevRoot, f.root()) !== 0) problems.push({ index: Math.max(m.base, position - 1), what: `entry ${position} recorded a different log before it` })
        } catch (err) {
          problems.push({ index: position, what: (err as Error).message })
        }
        f.append(leafHash(bytes))
        position++
        at += 2 + len
      }
      carry = buf.slice(at)
    }
    if (carry.length > 0) problems.push({ what: 'the entries end in the middle of an entry' })
    if (position !== m.size) problems.push({ what: `the archive holds entries up to ${position - 1}, its manifest says ${m.size - 1}` })
    else if (hex(f.root()) !== m.root) problems.push({ what: 'the entries do not add up to the signed root' })
    return { valid: problems.length === 0, base: m.base, size: m.size, root: fromHex(m.root), baseRoot: fromHex(m.baseRoot), problems: problems.slice(0, 100) }
  } finally {
    await eng.close()
  }
}
