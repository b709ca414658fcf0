import { PAGE_SIZE } from '@cartridge/pager'
import { exclusivePages, type SnapshotEntry } from '@cartridge/snapshot'
import { Action } from '@cartridge/iam'
import { walkBlocks } from '@cartridge/engine'
import type { SnapshotInfo, SnapshotListing, RestoreOptions } from './cartridge-options.js'
import { closedError, type CartridgeCore } from './cartridge-core.js'
import { diffCatalogs, type SnapshotChange } from './snapshot-diff.js'

// The snapshot operations of `Cartridge` (spec §22): create, list with the bytes each holds alone,
// restore, delete and diff. Each is one commit of its own, in the order the calls were made.

/** The public form of a snapshot table entry. */
export function snapshotInfo(s: SnapshotEntry): SnapshotInfo {
  return { id: s.id, name: s.name, created: new Date(s.created), txn: s.txn, fileCount: s.fileCount }
}

/** See `Cartridge.createSnapshot`. */
export function createSnapshot(core: CartridgeCore, name: string | undefined): Promise<SnapshotInfo> {
  return core.refused(Action.SnapshotCreate) ?? core.exclusiveCommit((e) => snapshotInfo(e.addSnapshot(name ?? `snapshot-${e.nextSnapshotId}`)))
}

/** See `Cartridge.listSnapshots`. */
export async function listSnapshots(core: CartridgeCore): Promise<SnapshotListing[]> {
  core.allow(Action.SnapshotRead)
  if (core.closed) throw closedError()
  return core.queue.exclusive(async () => {
    const e = core.engine
    const snaps = e.snapshots
    if (snaps.length === 0) return []
    // Birth txns tell each snapshot's own blocks in O(changes) while no restore broke the
    // lineage since the oldest snapshot; otherwise one walk over every root.
    if (!e.restoreLineageAfter(Math.min(...snaps.map((s) => s.txn)))) {
      return snaps.map((s) => {
        let pages = 0
        for (const count of e.exclusiveBlocks(s, snaps).values()) pages += count
        return { ...snapshotInfo(s), exclusiveBytes: pages * PAGE_SIZE }
      })
    }
    const only = exclusivePages([e.cleanRoot, ...snaps.map((s) => s.catalogRoot)], (root, v) => walkBlocks(e.catalogFactory, e, root, v, e.walkNodes), e.alloc.totalPages)
    return snaps.map((s, i) => ({ ...snapshotInfo(s), exclusiveBytes: only[i + 1] * PAGE_SIZE }))
  })
}

/** See `Cartridge.restoreSnapshot`. */
export function restoreSnapshot(core: CartridgeCore, ref: number | string, options: RestoreOptions): Promise<SnapshotInfo> {
  return core.refused(Action.SnapshotRestore) ?? core.exclusiveCommit((e) => {
    core.refuseWithDatabases('restore a snapshot')
    // Resolve `ref` before saving: a missing ref is NOT_FOUND and saves nothing, and a ref
    // that only the snapshot about to be saved would match is not found either.
    const target = e.findSnapshot(ref)
    if (options.saveCurrentAs !== undefined) e.addSnapshot(options.saveCurrentAs)
    return snapshotInfo(e.restoreSnapshot(target.id))
  })
}

/** See `Cartridge.deleteSnapshot`. */
export function deleteSnapshot(core: CartridgeCore, ref: number | string): Promise<{ freedBytes: number }> {
  return core.refused(Action.SnapshotDelete) ?? core.exclusiveCommit((e) => ({ freedBytes: e.deleteSnapshot(ref).freedPages * PAGE_SIZE }))
}

/** See `Cartridge.diffSnapshots`. */
export async function diffSnapshots(core: CartridgeCore, from: number | string, to: number | string | undefined): Promise<SnapshotChange[]> {
  core.allow(Action.SnapshotRead)
  return core.view((e) => diffCatalogs(e, e.findSnapshot(from).catalogRoot, to === undefined ? e.meta.catalogRoot : e.findSnapshot(to).catalogRoot))
}
