import { CartridgeError, ErrorCodes, utf8 } from '@cartridge/core'
import {
  MerkleFrontier, consistencyProofFrom, decodeAuditEntry, inclusionProofFrom, leafHash, storedEntries, verifyConsistency, verifyInclusion,
  type AuditEntry, type AuditLogState, type LeafSource, type RotatedBase,
} from '@cartridge/audit'
import { keyId, publicKeyOf, signMessage, verifyMessage } from '@cartridge/engram'
import type { Engine } from '@cartridge/engine'

/** The head of an audit log: how many entries it has had and the Merkle root (RFC 9162) over all of them. */
export interface AuditHead {
  size: number
  root: Uint8Array
}

/** What {@link Cartridge.auditHead} reports. */
export interface AuditStatus extends AuditHead {
  /** Whether operations are logged. */
  enabled: boolean
  /** Whether reads are logged too. */
  reads: boolean
  /** Entries before this index were rotated into archives (0 when never rotated). */
  base: number
  /** Root over entries 0 … base − 1: what the last archive's manifest records. */
  baseRoot: Uint8Array
}

/** A problem {@link verifyAuditLog} found, located at an entry where it can be. */
export interface AuditProblem {
  /** The entry the problem is about (changed, missing, inserted or moved). */
  index?: number
  what: string
}

/** What {@link Cartridge.verifyAudit} reports. */
export interface AuditReport {
  valid: boolean
  /** Head as recomputed from the stored entries. */
  size: number
  root: Uint8Array
  /** First entry still stored. */
  base: number
  /** Entries read and checked. */
  checked: number
  /** The first entry found changed, missing, inserted or moved (undefined when none). */
  firstBad?: number
  problems: AuditProblem[]
}

/** Options of {@link Cartridge.verifyAudit}. */
export interface VerifyAuditOptions {
  /** Heads kept from earlier (returned by `auditHead`, or signed checkpoints): the log must still have them as its prefix. */
  trusted?: Array<AuditHead | AuditCheckpoint>
  /** Public key that signed the `trusted` checkpoints (required when any is a checkpoint). */
  publicKey?: Uint8Array
  signal?: AbortSignal
  /** Called every few thousand entries: entries checked of those stored, and their bytes (the total is the pages they fill). */
  onProgress?: (p: { checked: number; total: number; bytesDone: number; bytesTotal: number }) => void
}

/** A signed statement that a container's audit log had head (size, root) at a time. */
export interface AuditCheckpoint {
  /** Container id (hex). */
  uuid: string
  size: number
  root: Uint8Array
  time: Date
  /** Key id of the signer's public key. */
  keyId: string
  /** Ed25519 signature over {@link checkpointText}. */
  signature: Uint8Array
}

/** Selects entries of {@link Cartridge.auditLog}. */
export interface AuditQuery {
  /** First index (default: the first stored entry). */
  from?: number
  /** Only entries at or after this time. */
  since?: Date | number
  /** Only entries before this time. */
  until?: Date | number
  /** Only entries about this path, or (ending in `/`) under this directory; a rename matches by either path. */
  path?: string
  /** Only these actions. */
  action?: string | string[]
  signal?: AbortSignal
}

/** An inclusion proof: entry `index` is in the log of head (size, root). */
export interface AuditInclusionProof {
  index: number
  size: number
  root: Uint8Array
  /** The entry's bytes as stored (its leaf hash is SHA-256(0x00 ‖ entry)). */
  entry: Uint8Array
  proof: Uint8Array[]
}

/** A consistency proof: the log of head (oldSize, oldRoot) is a prefix of the log of head (size, root). */
export interface AuditConsistencyProof {
  oldSize: number
  oldRoot: Uint8Array
  size: number
  root: Uint8Array
  proof: Uint8Array[]
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** The bytes a checkpoint's signature covers: five lines of text. */
export function checkpointText(c: Pick<AuditCheckpoint, 'uuid' | 'size' | 'root' | 'time'>): Uint8Array {
  return utf8(`cartridge-audit-checkpoint v1\n${c.uuid}\n${c.size}\n${hex(c.root)}\n${c.time.toISOString()}\n`)
}

/** Whether `c` is signed by `publicKey` (its key id must match too). */
export function verifyAuditCheckpoint(c: AuditCheckpoint, publicKey: Uint8Array): boolean {
  return keyId(publicKey) === c.keyId && verifyMessage(checkpointText(c), c.signature, publicKey)
}

/** Signs the head (size, root) of the container with id `uuid`. */
export function signCheckpoint(uuid: string, head: AuditHead, secretKey: Uint8Array, time = new Date()): AuditCheckpoint {
  const c = { uuid, size: head.size, root: head.root, time }
  return { ...c, keyId: keyId(publicKeyOf(secretKey)), signature: signMessage(checkpointText(c), secretKey) }
}

/** Whether an inclusion proof holds (nothing of the container is needed). */
export function verifyAuditInclusion(p: AuditInclusionProof): boolean {
  return verifyInclusion(leafHash(p.entry), p.index, p.size, p.proof, p.root)
}

/** Whether a consistency proof holds: the newer log only appended to the older one. */
export function verifyAuditConsistency(p: AuditConsistencyProof): boolean {
  if (p.oldSize === p.size) return p.proof.length === 0 && same(p.oldRoot, p.root)
  return verifyConsistency(p.oldSize, p.size, p.oldRoot, p.root, p.proof)
}

/** The committed log's status (a log that is off reports size 0). */
export function auditStatus(e: Engine): AuditStatus {
  const s = e.audit.committed
  const empty = new MerkleFrontier().root()
  if (!s) return { enabled: false, reads: false, size: 0, root: empty, base: 0, baseRoot: empty }
  return {
    enabled: true, reads: e.audit.logsReads, size: s.size, root: s.root.slice(), base: s.base,
    baseRoot: MerkleFrontier.restore(s.base, s.baseFrontier).root(),
  }
}

function requireLog(e: Engine): AuditLogState {
  const s = e.audit.committed
  if (!s) throw new CartridgeError(ErrorCodes.NOT_FOUND, 'audit logging is not enabled in this container')
  return s
}

const leafSource = (e: Engine, s: AuditLogState): LeafSource => function* (from: number) {
  for (const { bytes } of storedEntries(e, s, from)) yield leafHash(bytes)
}

const baseOf = (s: AuditLogState): RotatedBase | undefined => (s.base > 0 ? { size: s.base, hashes: s.baseFrontier } : undefined)

/** Proof that entry `index` is in the committed log. */
export function auditInclusionProof(e: Engine, index: number): AuditInclusionProof {
  const s = requireLog(e)
  if (!Number.isInteger(index) || index < 0 || index >= s.size) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `no audit entry ${index} (the log has ${s.size})`)
  if (index < s.base) throw new CartridgeError(ErrorCodes.NOT_FOUND, `audit entry ${index} was rotated into an archive`)
  const found = storedEntries(e, s, index).next()
  if (found.done) throw new CartridgeError(ErrorCodes.CORRUPT, `audit entry ${index} is missing`)
  return { index, size: s.size, root: s.root.slice(), entry: found.value.bytes.slice(), proof: inclusionProofFrom(leafSource(e, s), index, s.size, baseOf(s)) }
}

/** Proof that the log of `oldSize` entries is a prefix of the committed log. */
export function auditConsistencyProof(e: Engine, oldSize: number): AuditConsistencyProof {
  const s = requireLog(e)
  if (!Number.isInteger(oldSize) || oldSize < 1 || oldSize > s.size) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `oldSize must be from 1 to ${s.size}`)
  const src = leafSource(e, s)
  const oldRoot = oldSize === s.size ? s.root.slice() : rootAt(e, s, oldSize)
  const proof = oldSize === s.size ? [] : consistencyProofFrom(src, oldSize, s.size, baseOf(s))
  return { oldSize, oldRoot, size: s.size, root: s.root.slice(), proof }
}

function rootAt(e: Engine, s: AuditLogState, size: number): Uint8Array {
  if (size < s.base) throw new CartridgeError(ErrorCodes.NOT_FOUND, `the log's first ${size} entries were rotated into an archive`)
  const f = MerkleFrontier.restore(s.base, s.baseFrontier)
  if (f.size === size) return f.root()
  for (const { bytes } of storedEntries(e, s, s.base)) {
    f.append(leafHash(bytes))
    if (f.size === size) break
  }
  return f.root()
}

/**
 * Recomputes the committed log from its stored entries: each entry's index must be its position
 * and its prevRoot the root of everything before it, the stored entries must add up to the
 * head, and every trusted head must be a prefix. Reads one page at a time; yields to the event
 * loop between batches through `pause`.
 */
export async function verifyAuditLog(e: () => Engine, options: VerifyAuditOptions, pause: () => Promise<void>): Promise<AuditReport> {
  const s = requireLog(e())
  const problems: AuditProblem[] = []
  let firstBad: number | undefined
  const blame = (index: number | undefined, what: string) => {
    if (firstBad === undefined && index !== undefined) firstBad = index
    if (problems.length < 100) problems.push({ ...(index !== undefined ? { index } : {}), what })
  }
  const trusted = new Map<number, Uint8Array>()
  for (const t of options.trusted ?? []) {
    if ('signature' in t) {
      if (!options.publicKey) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'verifying against a checkpoint needs the publicKey that signed it')
      if (!verifyAuditCheckpoint(t, options.publicKey)) {
        blame(undefined, `checkpoint of size ${t.size} is not signed by that key`)
        continue
      }
      if (t.uuid !== hex(e().meta.uuid)) blame(undefined, `checkpoint of size ${t.size} is of another container (${t.uuid})`)
    }
    if (t.size > s.size) blame(undefined, `a trusted head has ${t.size} entries; the log has only ${s.size}: entries were removed`)
    else if (t.size < s.base) blame(undefined, `a trusted head of ${t.size} entries lies in the rotated part: verify it against the archive`)
    else trusted.set(t.size, t.root)
  }
  const f = MerkleFrontier.restore(s.base, s.baseFrontier)
  const checkTrusted = () => {
    const want = trusted.get(f.size)
    if (want && !same(want, f.root())) blame(Math.max(s.base, f.size - 1), `the log's first ${f.size} entries do not match a trusted head: the log was rewritten at or before entry ${f.size - 1}`)
  }
  checkTrusted()
  let position = s.base
  let checked = 0
  let prevFailed = false
  let bytesDone = 0
  const bytesTotal = s.entryPages * 4096
  const progress = () => options.onProgress?.({ checked, total: s.size - s.base, bytesDone: Math.min(bytesDone, bytesTotal), bytesTotal })
  try {
    for (const { bytes } of storedEntries(e(), s, s.base)) {
      if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'audit verification aborted', { cause: options.signal.reason })
      let entry: AuditEntry | undefined
      try {
        entry = decodeAuditEntry(bytes)
      } catch (err) {
        blame(position, `entry ${position} cannot be decoded: ${(err as Error).message}`)
      }
      if (entry) {
        if (entry.index !== position) {
          blame(entry.index > position ? position : position - 1, entry.index > position
            ? `entry ${position} is missing (the entry at its place says ${entry.index})`
            : `an entry was inserted or moved before position ${position} (the entry there says ${entry.index})`)
        } else if (!same(entry.prevRoot, f.root())) {
          // Entry `position` recorded the root of what came before it, which no longer matches.
          if (!prevFailed) blame(Math.max(s.base, position - 1), position > s.base
            ? `entry ${position - 1} was changed (entry ${position} recorded a different log before it)`
            : `entry ${position} does not continue the rotated log`)
          prevFailed = true
        } else prevFailed = false
      }
      f.append(leafHash(bytes))
      position++
      checked++
      bytesDone += 2 + bytes.length
      checkTrusted()
      if (checked % 4096 === 0) {
        progress()
        await pause()
      }
    }
  } catch (err) {
    if (err instanceof CartridgeError && err.code === ErrorCodes.ABORTED) throw err
    blame(position, `the log's pages are damaged at entry ${position}: ${(err as Error).message}`)
  }
  bytesDone = bytesTotal
  progress()
  if (position !== s.size) blame(Math.min(position, s.size - 1), `the log holds entries up to ${position - 1}, its head says ${s.size - 1}: entries were removed or added`)
  else if (!same(f.root(), s.root)) blame(s.size - 1, `the last entry (${s.size - 1}) was changed, or the head's root was`)
  for (const size of trusted.keys()) if (size > position) blame(undefined, `a trusted head of ${size} entries could not be checked`)
  return { valid: problems.length === 0, size: f.size, root: f.root(), base: s.base, checked, ...(firstBad !== undefined ? { firstBad } : {}), problems }
}

/** Whether a decoded entry matches a query. */
export function matchesQuery(entry: AuditEntry, q: AuditQuery): boolean {
  const t = (d: Date | number | undefined) => (d === undefined ? undefined : typeof d === 'number' ? d : d.getTime())
  const since = t(q.since)
  const until = t(q.until)
  if (since !== undefined && entry.time < since) return false
  if (until !== undefined && entry.time >= until) return false
  if (q.action !== undefined) {
    const actions = typeof q.action === 'string' ? [q.action] : q.action
    if (!actions.includes(entry.action)) return false
  }
  if (q.path !== undefined) {
    const m = (p: string) => (q.path!.endsWith('/') ? p.startsWith(q.path!) || p === q.path!.slice(0, -1) : p === q.path)
    if (!m(entry.path) && !m(entry.target)) return false
  }
  return true
}

/** Up to `max` decoded entries of the committed log from index `from` on. */
export function auditBatch(e: Engine, from: number, max: number): AuditEntry[] {
  const s = e.audit.committed
  if (!s) return []
  const out: AuditEntry[] = []
  for (const { bytes } of storedEntries(e, s, Math.max(from, s.base))) {
    out.push(decodeAuditEntry(bytes))
    if (out.length >= max) break
  }
  return out
}
