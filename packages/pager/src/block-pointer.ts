import { getU64, setU64 } from '@cartridge/core'

/**
 * A parent → child reference (24 bytes on disk): the child's page number, birth txn and checksum,
 * plus one auxiliary word (tree height for tree roots, else 0). Carrying the child's checksum lets
 * recovery prove that every page a commit wrote actually landed (as ZFS block pointers do).
 */
export interface BlockPtr {
  page: number
  txn: number
  checksum: number
  aux: number
}

/** Encoded size of a {@link BlockPtr}. */
export const BLOCK_PTR_SIZE = 24

/** The null pointer (page 0 is a meta page, so never a child). */
export const NULL_PTR: BlockPtr = Object.freeze({ page: 0, txn: 0, checksum: 0, aux: 0 })

export function isNullPtr(p: BlockPtr): boolean {
  return p.page === 0
}

export function writeBlockPtr(v: DataView, off: number, p: BlockPtr): void {
  setU64(v, off, p.page)
  setU64(v, off + 8, p.txn)
  v.setUint32(off + 16, p.checksum, true)
  v.setUint32(off + 20, p.aux, true)
}

export function readBlockPtr(v: DataView, off: number): BlockPtr {
  return { page: getU64(v, off), txn: getU64(v, off + 8), checksum: v.getUint32(off + 16, true), aux: v.getUint32(off + 20, true) }
}
