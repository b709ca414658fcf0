import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { NULL_PTR, type BlockPtr } from '@cartridge/pager'
import { CHUNK_SHIFT, PAGED_CHUNK_SHIFT, RecordKind, type ChunkRecord, type FileRecord, chunkAt, loadChunk, recompressContent, recordFor, storeChunk, type LeafCursor } from '@cartridge/engine'
import type { Engine } from '@cartridge/engine'
import { diffCatalogs } from './snapshot-diff.js'
import { storedEntries } from '@cartridge/audit'

/** Progress of {@link copyContainer}: file bytes copied so far of all it has to copy. */
export interface ResealProgress {
  bytesDone: number
  bytesTotal: number
}

/** Options of a copy into a new container. */
export interface CopyOptions {
  onProgress?: (p: ResealProgress) => void
  signal?: AbortSignal
}

/** Content copied per commit of the new container (its staged pages stay bounded). */
const COMMIT_BYTES = 64 * 1024 * 1024

/**
 * Copies every snapshot (oldest first, with its id, name and time) and then the live state of
 * `src` into the new, empty `dst`, file by file, re-encoding every chunk with `dst`'s codec and
 * sealing. Between two states only the files that differ are copied, so what states share in
 * `src` they share in `dst`. At most one chunk and one packed run of content are in memory.
 * `dst` ends committed (not synced).
 */
export async function copyContainer(src: Engine, dst: Engine, options: CopyOptions = {}): Promise<void> {
  const versions: { root: BlockPtr; snapshot?: (typeof src.snapshots)[number] }[] = [
    ...[...src.snapshots].sort((a, b) => a.id - b.id).map((s) => ({ root: s.catalogRoot, snapshot: s })),
    { root: src.meta.catalogRoot },
  ]
  const plans = []
  let prev: BlockPtr = NULL_PTR
  let bytesTotal = 0
  for (const v of versions) {
    const changes = diffCatalogs(src, prev, v.root)
    for (const c of changes) if (c.change !== 'removed') bytesTotal += src.files.record(c.path, { root: v.root })?.size ?? 0
    plans.push({ ...v, changes })
    prev = v.root
  }
  let bytesDone = 0
  let sinceCommit = 0
  const check = () => {
    if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'aborted: the container is as it was', { cause: options.signal.reason })
  }
  const ids = new Map<number, { id: number; created: number }>()
  for (const plan of plans) {
    for (const c of plan.changes) {
      check()
      if (c.change === 'removed') {
        dst.apply(() => dst.files.deleteFile(c.path))
        continue
      }
      const r = src.files.record(c.path, { root: plan.root })!
      dst.apply(() => dst.files.putRecord(c.path, copyRecord(src, r, c.path, dst)))
      bytesDone += r.size
      sinceCommit += r.size
      if (sinceCommit >= COMMIT_BYTES) {
        dst.commit(false)
        sinceCommit = 0
        options.onProgress?.({ bytesDone, bytesTotal })
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    dst.commit(false)
    sinceCommit = 0
    if (plan.snapshot) {
      const s = plan.snapshot
      const entry = dst.apply(() => dst.addSnapshot(s.name, s.created))
      ids.set(entry.id, { id: s.id, created: s.created })
      dst.commit(false)
    }
    options.onProgress?.({ bytesDone, bytesTotal })
    await new Promise((resolve) => setImmediate(resolve))
  }
  check()
  if (ids.size > 0 || src.nextSnapshotId !== dst.nextSnapshotId) {
    dst.apply(() => dst.renumberSnapshots(ids, src.nextSnapshotId))
    dst.commit(false)
  }
}

/** A copy of file version `r` of `src` written into `dst` (content re-encoded and sealed the way `dst` does). */
function copyRecord(src: Engine, r: FileRecord, path: string, dst: Engine): FileRecord {
  if (r.kind === RecordKind.INLINE) return { ...r, inline: r.inline!.slice(), sealed: undefined }
  if (r.chunkShift === CHUNK_SHIFT) return recompressContent(src, r, path, dst.defaultCodec, dst)!
  if (r.chunkShift !== PAGED_CHUNK_SHIFT) throw new CartridgeError(ErrorCodes.CORRUPT, `file record of ${path} is damaged`, { path })
  // A paged file (a SQLite database): one page per chunk, never compressed.
  const chunks: ChunkRecord[] = []
  const cursor: LeafCursor = { index: -1, page: undefined }
  for (let i = 0; i < r.chunkCount; i++) {
    const bytes = loadChunk(src, chunkAt(src, r, i, path, cursor), path, i)
    chunks.push(storeChunk(dst, dst.allocate(1), bytes, i, true))
  }
  return recordFor(dst, r.size, chunks, r.created, r.modified, PAGED_CHUNK_SHIFT)
}

/** Entries copied per commit of the new container. */
const AUDIT_BATCH = 8192

/**
 * Copies `src`'s audit log into `dst` (whose log is off) byte for byte: the same entries, base
 * and frontier, so heads, proofs and archives made before stay valid. In commits of
 * {@link AUDIT_BATCH} entries (bounded memory).
 */
export async function copyAuditLog(src: Engine, dst: Engine): Promise<void> {
  const s = src.audit.committed
  if (!s) return
  dst.apply(() => dst.audit.adopt(s))
  let n = 0
  for (const { bytes } of storedEntries(src, s, s.base)) {
    dst.apply(() => dst.audit.appendRaw(bytes.slice()))
    if (++n % AUDIT_BATCH === 0) {
      dst.commit(false)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  dst.commit(false)
}
