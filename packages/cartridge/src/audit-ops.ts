import { resolve } from 'node:path'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { AuditEntry } from '@cartridge/audit'
import { Action } from '@cartridge/iam'
import {
  auditBatch, auditConsistencyProof, auditInclusionProof, auditStatus, matchesQuery, signCheckpoint, verifyAuditLog,
  type AuditCheckpoint, type AuditConsistencyProof, type AuditHead, type AuditInclusionProof, type AuditQuery, type AuditReport,
  type AuditStatus, type VerifyAuditOptions,
} from './audit-api.js'
import { rotateAuditLog, type RotateAuditOptions, type RotateAuditResult } from './audit-rotate.js'
import { closedError, throwIfAborted, type CartridgeCore } from './cartridge-core.js'

// The audit log operations of `Cartridge` (spec §26): switching the log on, reading its head,
// entries and proofs, verifying it, signing checkpoints and rotating entries into archives.

/** Entries read per look at the container while listing the log. */
const BATCH = 512

/** See `Cartridge.enableAuditLogging`. */
export function enableAuditLogging(core: CartridgeCore, options: { reads?: boolean }): Promise<void> {
  return core.refused(Action.ContainerAdmin) ?? core.exclusiveCommit((e) => e.audit.enable(options.reads === true))
}

/** See `Cartridge.auditHead`. */
export async function auditHead(core: CartridgeCore): Promise<AuditStatus> {
  core.allow(Action.AuditRead)
  return core.view((e) => auditStatus(e))
}

/** See `Cartridge.verifyAudit`. */
export async function verifyAudit(core: CartridgeCore, options: VerifyAuditOptions): Promise<AuditReport> {
  core.allow(Action.AuditRead)
  if (core.closed) throw closedError()
  await core.queue.settled()
  return core.queue.exclusive(async () => verifyAuditLog(() => core.engine, options, () => new Promise((r) => setImmediate(r))))
}

/** See `Cartridge.auditLog`. */
export async function* auditEntries(core: CartridgeCore, query: AuditQuery): AsyncGenerator<AuditEntry> {
  core.allow(Action.AuditRead)
  let next = query.from ?? 0
  for (;;) {
    throwIfAborted(query.signal)
    const batch = await core.view((e) => auditBatch(e, next, BATCH))
    for (const entry of batch) if (matchesQuery(entry, query)) yield entry
    if (batch.length < BATCH) return
    next = batch[batch.length - 1].index + 1
  }
}

/** See `Cartridge.auditInclusionProof`. */
export async function inclusionProof(core: CartridgeCore, index: number): Promise<AuditInclusionProof> {
  core.allow(Action.AuditRead)
  return core.view((e) => auditInclusionProof(e, index))
}

/** See `Cartridge.auditConsistencyProof`. */
export async function consistencyProof(core: CartridgeCore, old: number | AuditHead): Promise<AuditConsistencyProof> {
  core.allow(Action.AuditRead)
  return core.view((e) => auditConsistencyProof(e, typeof old === 'number' ? old : old.size))
}

/** See `Cartridge.auditCheckpoint`: signed and logged in one commit. */
export function auditCheckpoint(core: CartridgeCore, options: { secretKey: Uint8Array }): Promise<AuditCheckpoint> {
  return core.refused(Action.ContainerAdmin) ?? core.exclusiveCommit((e) => {
    const status = auditStatus(e)
    if (!status.enabled) throw new CartridgeError(ErrorCodes.NOT_FOUND, 'audit logging is not enabled in this container')
    const working = e.audit.working!
    const cp = signCheckpoint(Buffer.from(e.meta.uuid).toString('hex'), working, options.secretKey)
    e.note({ action: 'audit.checkpoint', detail: `size ${cp.size} key ${cp.keyId}` })
    return cp
  })
}

/** See `Cartridge.rotateAudit`: holds the writer while the archive is written. */
export function rotateAudit(core: CartridgeCore, file: string, options: RotateAuditOptions): Promise<RotateAuditResult> {
  const denied = core.refused(Action.ContainerAdmin)
  if (denied) return denied
  if (core.closed) return Promise.reject(closedError())
  return core.queue.exclusive(async () => {
    core.queue.flushNow(core.durable)
    return core.asWhile(() => rotateAuditLog(core.engine, resolve(file), options))
  })
}
