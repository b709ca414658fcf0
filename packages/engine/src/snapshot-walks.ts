import type { Allocator } from '@cartridge/allocator'
import type { BlockPtr } from '@cartridge/pager'
import type { BlockVisitor, PageMarks, SnapshotEntry } from '@cartridge/snapshot'

/** Shows a visitor every block reachable from a catalog root (see `walkBlocks`). */
export type RootWalk = (root: BlockPtr, visitor: BlockVisitor) => void

/**
 * The blocks (first page → pages) that only snapshot `s` holds, among the snapshots `others`
 * and the live state (`liveRoot`, asked for only when no snapshot is newer than `s`), found from
 * birth txns: a block of `s` born at or before the newest other snapshot P no newer than `s` is
 * P's too, and a block of `s` the next root N (the next newer snapshot, else the live state)
 * holds is reached in N through a block born at or before `s`. So it walks N only where N was
 * born after `s`, and `s` only where it was born after P and N does not share it: O(what changed
 * between P and N), not O(files).
 *
 * Exact when no snapshot was restored since P was taken; with a restore between `s` and now it
 * could miss a holder, so callers check first (spec §22).
 */
export function exclusiveByBirth(walk: RootWalk, s: SnapshotEntry, others: readonly SnapshotEntry[], liveRoot: () => BlockPtr): Map<number, number> {
  let before: SnapshotEntry | undefined
  let after: SnapshotEntry | undefined
  // Snapshots in (txn, id) order: every other one is before `s` or after it.
  const older = (a: SnapshotEntry, b: SnapshotEntry) => a.txn < b.txn || (a.txn === b.txn && a.id < b.id)
  for (const o of others) {
    if (o === s) continue
    if (older(o, s)) {
      if (!before || older(before, o)) before = o
    } else if (!after || older(o, after)) after = o
  }
  const pTxn = before?.txn ?? 0
  const next = after?.catalogRoot ?? liveRoot()
  // What N holds of blocks as old as `s`: the tops of those subtrees (everything below is as old).
  const shared = new Set<number>()
  const inNext: BlockVisitor = {
    enter: (page, _count, txn) => {
      if (txn <= s.txn) {
        shared.add(page)
        return null
      }
      return inNext
    },
  }
  walk(next, inNext)
  const only = new Map<number, number>()
  const inSnapshot: BlockVisitor = {
    enter: (page, count, txn) => {
      if (shared.has(page) || txn <= pTxn) return null
      only.set(page, count)
      return inSnapshot
    },
  }
  walk(s.catalogRoot, inSnapshot)
  return only
}

/** Frees (held until a durable commit) every used page from 2 on that `marks` does not have, in runs; returns how many. */
export function freeUnmarked(alloc: Allocator, marks: PageMarks): number {
  const total = alloc.totalPages
  let freed = 0
  let runStart = -1
  const flush = (end: number) => {
    if (runStart >= 0) {
      alloc.free(runStart, end - runStart, { reusable: false })
      freed += end - runStart
      runStart = -1
    }
  }
  for (let p = 2; p < total; p++) {
    if (alloc.isUsed(p) && !marks.has(p)) {
      if (runStart < 0) runStart = p
    } else flush(p)
  }
  flush(total)
  return freed
}
