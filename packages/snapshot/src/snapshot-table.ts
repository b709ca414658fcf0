import { CartridgeError, ErrorCodes, fromUtf8, getU64, setU64, utf8, viewOf } from '@cartridge/core'
import {
  BLOCK_PTR_SIZE, NULL_PTR, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, buildPointerTree, isNullPtr, readBlockPtr, readPointerTree, writeBlockPtr,
  writeNode, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import { MAX_SNAPSHOT_NAME_BYTES, type SnapshotEntry } from './snapshot-entry.js'

/*
 * Layout (format version 1): a pointer tree (§7) over SNAPSHOT_TABLE pages (type 7, level 0).
 * Payload of the first leaf: u64 nextId, then entries; later leaves: entries only.
 * Entry: u64 id | u64 txn | u64 created | u64 fileCount | BlockPtr catalogRoot (24) | u16 nameLen | name (UTF-8).
 * `count` in the header = entries in the page; `used` = payload bytes.
 */

const FIXED = 32 + BLOCK_PTR_SIZE + 2
const NEXT_ID = 8

/** The decoded table: its entries in id order and the next id to hand out. */
export interface SnapshotTable {
  nextId: number
  entries: SnapshotEntry[]
}

/** An empty table (a container that never had a snapshot). */
export const EMPTY_TABLE: SnapshotTable = Object.freeze({ nextId: 1, entries: [] }) as SnapshotTable

const entrySize = (e: SnapshotEntry) => FIXED + utf8(e.name).length

/**
 * Writes `table` as new pages through `io` and returns the root (`aux` = tree height), or
 * `NULL_PTR` for a table with no entries and `nextId` 1.
 */
export function writeSnapshotTable(io: PageIO, table: SnapshotTable): BlockPtr {
  if (table.entries.length === 0 && table.nextId === 1) return NULL_PTR
  const pages: SnapshotEntry[][] = [[]]
  let room = PAGE_PAYLOAD - NEXT_ID
  for (const e of table.entries) {
    const size = entrySize(e)
    if (size > room) {
      pages.push([])
      room = PAGE_PAYLOAD
    }
    pages[pages.length - 1].push(e)
    room -= size
  }
  const leaves = pages.map((entries, i) => {
    const used = (i === 0 ? NEXT_ID : 0) + entries.reduce((n, e) => n + entrySize(e), 0)
    return writeNode(io, PageType.SNAPSHOT_TABLE, 0, entries.length, used, (page) => {
      const v = viewOf(page)
      let off = PAGE_HEADER_SIZE
      if (i === 0) {
        setU64(v, off, table.nextId)
        off += NEXT_ID
      }
      for (const e of entries) {
        setU64(v, off, e.id)
        setU64(v, off + 8, e.txn)
        setU64(v, off + 16, e.created)
        setU64(v, off + 24, e.fileCount)
        writeBlockPtr(v, off + 32, e.catalogRoot)
        const name = utf8(e.name)
        v.setUint16(off + 32 + BLOCK_PTR_SIZE, name.length, true)
        page.set(name, off + FIXED)
        off += FIXED + name.length
      }
    })
  })
  return buildPointerTree(io, leaves)
}

/**
 * Reads (and so verifies) the table at `root`; `onPage` receives every page it occupies.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` or `CARTRIDGE_CHECKSUM` naming the bad page
 */
export function readSnapshotTable(io: Pick<PageIO, 'read'>, root: BlockPtr, onPage?: (ptr: BlockPtr) => void): SnapshotTable {
  if (isNullPtr(root)) return { nextId: 1, entries: [] }
  const entries: SnapshotEntry[] = []
  let nextId = 1
  const leaves = readPointerTree(io, root, onPage)
  leaves.forEach((leaf, i) => {
    onPage?.(leaf)
    const page = io.read(leaf, PageType.SNAPSHOT_TABLE)
    const v = viewOf(page)
    const count = v.getUint16(6, true)
    const end = PAGE_HEADER_SIZE + v.getUint32(24, true)
    const corrupt = (why: string): never => {
      throw new CartridgeError(ErrorCodes.CORRUPT, `snapshot table page ${leaf.page} is malformed: ${why}`, { page: leaf.page })
    }
    let off = PAGE_HEADER_SIZE
    if (i === 0) {
      nextId = getU64(v, off)
      off += NEXT_ID
    }
    for (let j = 0; j < count; j++) {
      if (off + FIXED > end) corrupt('entry runs past the payload')
      const nameLen = v.getUint16(off + 32 + BLOCK_PTR_SIZE, true)
      if (nameLen === 0 || nameLen > MAX_SNAPSHOT_NAME_BYTES || off + FIXED + nameLen > end) corrupt('bad name length')
      entries.push({
        id: getU64(v, off),
        txn: getU64(v, off + 8),
        created: getU64(v, off + 16),
        fileCount: getU64(v, off + 24),
        catalogRoot: readBlockPtr(v, off + 32),
        name: fromUtf8(page.subarray(off + FIXED, off + FIXED + nameLen)),
      })
      off += FIXED + nameLen
    }
    if (off !== end) corrupt('payload length does not match its entries')
  })
  for (let i = 0; i < entries.length; i++) {
    if (entries[i].id >= nextId || (i > 0 && entries[i].id <= entries[i - 1].id)) {
      throw new CartridgeError(ErrorCodes.CORRUPT, 'snapshot table ids are out of order')
    }
  }
  return { nextId, entries }
}
