import { basename, resolve } from 'node:path'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { writeEngram, type EngramSourceFile, type EngramSummary } from '@cartridge/engram'
import type { CodecName } from '@cartridge/codec'
import type { BlockPtr } from '@cartridge/pager'
import { decodeFileRecord, readContent } from '@cartridge/engine'
import type { Engine } from '@cartridge/engine'
import { Action } from '@cartridge/iam'
import { closedError, type CartridgeCore } from './cartridge-core.js'

/** Options of `Cartridge.freezeToEngram`. */
export interface FreezeOptions {
  /** The signer's Ed25519 secret key (32 bytes); the engram carries its public key and key id. */
  secretKey: Uint8Array
  /** Codec of the engram's blocks (default zstd). */
  compression?: CodecName
  level?: number
  /** Freeze this snapshot (id or name) instead of the last commit. */
  snapshot?: number | string
  onProgress?: (p: { bytesDone: number; bytesTotal: number; files: number }) => void
  signal?: AbortSignal
  /** Threads compressing and hashing blocks (default: one per core, at most 4; 1: none besides the caller's). */
  threads?: number
}

/** Bytes read from the container per piece of a file being frozen. */
const PIECE = 1 << 20

/**
 * Writes an engram of the state at catalog `root` of `e` (the last commit or a snapshot): every
 * file in path order, content read a piece at a time (decrypted and decompressed, verified as any
 * read), so memory stays bounded whatever the container's size. The caller holds the container's
 * writer for the duration, so nothing the state references is reused meanwhile.
 */
export async function freezeEngine(e: Engine, root: BlockPtr, out: string, options: FreezeOptions & { source?: { snapshot?: string }; audit?: { size: number; root: Uint8Array } }): Promise<EngramSummary> {
  let totalBytes = 0
  for (const [key, value] of e.catalog.entries({ at: { root } })) totalBytes += decodeFileRecord(value, key).size
  // The writer reads through `read`, straight into its batches, and takes its own turns of the
  // event loop; `chunks` is the plain form of the same content.
  const files = (async function* (): AsyncGenerator<EngramSourceFile> {
    for (const [path, value] of e.catalog.entries({ at: { root } })) {
      const r = decodeFileRecord(value, path)
      yield {
        path, size: r.size, created: r.created, modified: r.modified,
        read: (offset, length, into) => void readContent(e, r, path, offset, length, into),
        chunks: async function* () {
          for (let off = 0; off < r.size; off += PIECE) yield readContent(e, r, path, off, Math.min(PIECE, r.size - off))
        },
      }
    }
  })()
  const m = e.meta
  if (!options.secretKey) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'freezing needs the signer\'s secretKey')
  return writeEngram(out, files, {
    secretKey: options.secretKey, compression: options.compression, level: options.level, signal: options.signal, onProgress: options.onProgress, totalBytes, threads: options.threads,
    manifest: {
      slug: m.slug, title: m.title, created: new Date(m.created).toISOString(),
      source: { uuid: Buffer.from(m.uuid).toString('hex'), txn: m.txn, ...(options.source?.snapshot ? { snapshot: options.source.snapshot } : {}) },
      ...(options.audit ? { audit: { size: options.audit.size, root: Buffer.from(options.audit.root).toString('hex') } } : {}),
    },
  })
}

/** See `Cartridge.freezeToEngram`: holds the writer, freezes, and logs the freeze when the audit log is on. */
export function freezeContainer(core: CartridgeCore, file: string, options: FreezeOptions): Promise<EngramSummary> {
  const denied = core.refused(Action.EngramFreeze)
  if (denied) return denied
  if (core.closed) return Promise.reject(closedError())
  return core.queue.exclusive(async () => {
    if (!core.engine.store.readOnly) core.queue.flushNow(core.durable)
    const e = core.engine
    const snap = options.snapshot === undefined ? undefined : e.findSnapshot(options.snapshot)
    const log = e.audit.committed
    const principal = core.guard.principal
    const summary = await freezeEngine(e, snap ? snap.catalogRoot : e.meta.catalogRoot, resolve(file), {
      ...options, source: { snapshot: snap?.name }, ...(log ? { audit: { size: log.size, root: log.root } } : {}),
    })
    if (log && !e.store.readOnly) {
      e.apply(() => e.note({ action: 'freeze', principal, target: basename(file), detail: `${summary.fileCount} files, engram root ${Buffer.from(summary.root).toString('hex')}${snap ? `, snapshot ${snap.name}` : ''}` }))
      e.commit(core.durable)
    }
    return summary
  })
}
