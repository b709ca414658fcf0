import { compareKeys } from '@cartridge/core'
import type { BlockPtr } from '@cartridge/pager'
import type { Engine } from '@cartridge/engine'

/** One path that differs between two states. */
export interface SnapshotChange {
  path: string
  /** `'added'`: only in the later state; `'removed'`: only in the earlier; `'changed'`: in both with different content or times. */
  change: 'added' | 'removed' | 'changed'
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** The paths that differ between the catalogs at `from` and `to`, in path order (one merge of both). */
export function diffCatalogs(e: Engine, from: BlockPtr, to: BlockPtr): SnapshotChange[] {
  const out: SnapshotChange[] = []
  if (from.page === to.page && from.txn === to.txn && from.checksum === to.checksum) return out
  const a = e.catalog.entries({ at: { root: from } })
  const b = e.catalog.entries({ at: { root: to } })
  let x = a.next()
  let y = b.next()
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : compareKeys(x.value[0], y.value[0])
    if (c < 0) {
      out.push({ path: x.value![0], change: 'removed' })
      x = a.next()
    } else if (c > 0) {
      out.push({ path: y.value![0], change: 'added' })
      y = b.next()
    } else {
      if (!sameBytes(x.value![1], y.value![1])) out.push({ path: x.value![0], change: 'changed' })
      x = a.next()
      y = b.next()
    }
  }
  return out
}
