import { CartridgeError, ErrorCodes, getU64, setU64, viewOf } from '@cartridge/core'
import {
  NULL_PTR, PAGE_HEADER_SIZE, PAGE_PAYLOAD, PageType, isNullPtr, lookupPointerTree, pointerTreeHeight, readBlockPtr, readPointerNode,
  updatePointerTree, writeBlockPtr, writeNode, type BlockPtr, type PageIO,
} from '@cartridge/pager'
import { MAX_ENTRY_BYTES } from './audit-entry.js'
import { MerkleFrontier, leafHash } from './merkle-tree.js'

/*
 * Storage of an audit log in a container (format 1.3, spec §26). The meta page's `auditRoot`
 * points at one AUDIT_HEAD page; it points at a pointer tree (§7) over AUDIT_ENTRIES pages.
 *
 * AUDIT_HEAD payload (level 0, count 0, used = bytes):
 *   0 u32 flags (bit 0: reads are logged) | 4 u32 reserved
 *   8 u64 size (entries ever appended) | 16 u64 base (entries before it were rotated out)
 *   24 root (32): Merkle root of entries 0 … size − 1
 *   56 entries (block pointer, aux = tree height; null when no entry is stored)
 *   80 u32 entryPages | 84 u8 frontierCount | 85 u8 baseFrontierCount | 86 u16 reserved
 *   88 frontier hashes (32 each, largest subtree first), then the base frontier's
 *
 * AUDIT_ENTRIES payload (level 0, count = entries, used = bytes): entries in index order, each
 *   u16 length then the encoded entry; an entry never spans pages.
 */

/** Largest log: frontiers of at most 48 hashes fit in the head page. */
export const MAX_AUDIT_ENTRIES = 2 ** 48

const HEAD = { flags: 0, size: 8, base: 16, root: 24, entries: 56, entryPages: 80, frontierCount: 84, baseFrontierCount: 85, hashes: 88 } as const
const MAX_FRONTIER = 48

/** Flags of the head page. */
export const AuditFlags = { READS: 1 } as const

/** The committed (or being built) shape of a log: everything its head page records. */
export interface AuditLogState {
  flags: number
  /** Entries ever appended (the log's size). */
  size: number
  /** Index of the first entry still stored (entries before it were rotated out). */
  base: number
  /** Merkle root of entries 0 … size − 1. */
  root: Uint8Array
  /** Pointer tree over the entry pages (`aux` = height); null when none is stored. */
  entries: BlockPtr
  entryPages: number
  /** Frontier at `size`, largest subtree first. */
  frontier: Uint8Array[]
  /** Frontier at `base`. */
  baseFrontier: Uint8Array[]
}

/** The state of a log that has just been switched on. */
export function emptyAuditState(flags: number): AuditLogState {
  const f = new MerkleFrontier()
  return { flags, size: 0, base: 0, root: f.root(), entries: NULL_PTR, entryPages: 0, frontier: [], baseFrontier: [] }
}

const corrupt = (page: number, what: string): never => {
  throw new CartridgeError(ErrorCodes.CORRUPT, `audit log head at page ${page} is damaged: ${what}`, { page })
}

function popcount(n: number): number {
  let c = 0
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2
  return c
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Reads (and checks) a head page: its frontiers must have one hash per set bit of the size and
 * of the base, and its root must be the frontier's.
 * @throws CartridgeError `CARTRIDGE_CORRUPT` or `CARTRIDGE_CHECKSUM`
 */
export function readAuditHead(io: Pick<PageIO, 'read'>, ptr: BlockPtr): AuditLogState {
  const page = io.read(ptr, PageType.AUDIT_HEAD)
  const v = viewOf(page)
  const o = PAGE_HEADER_SIZE
  const flags = v.getUint32(o + HEAD.flags, true)
  const size = getU64(v, o + HEAD.size)
  const base = getU64(v, o + HEAD.base)
  const fc = v.getUint8(o + HEAD.frontierCount)
  const bc = v.getUint8(o + HEAD.baseFrontierCount)
  if ((flags & ~AuditFlags.READS) !== 0 || v.getUint32(o + 4, true) !== 0 || v.getUint16(o + 86, true) !== 0) corrupt(ptr.page, 'unknown flags or reserved bytes set')
  if (v.getUint8(5) !== 0 || v.getUint16(6, true) !== 0) corrupt(ptr.page, 'level and count must be 0')
  if (size >= MAX_AUDIT_ENTRIES || base > size) corrupt(ptr.page, `size ${size}, base ${base}`)
  if (fc !== popcount(size) || bc !== popcount(base) || fc > MAX_FRONTIER || bc > MAX_FRONTIER) corrupt(ptr.page, 'frontier does not match the size')
  if (v.getUint32(24, true) !== HEAD.hashes + 32 * (fc + bc)) corrupt(ptr.page, 'used does not match the frontiers')
  const hash = (i: number) => page.slice(o + HEAD.hashes + 32 * i, o + HEAD.hashes + 32 * (i + 1))
  const frontier = Array.from({ length: fc }, (_, i) => hash(i))
  const baseFrontier = Array.from({ length: bc }, (_, i) => hash(fc + i))
  const root = page.slice(o + HEAD.root, o + HEAD.root + 32)
  if (!equalBytes(MerkleFrontier.restore(size, frontier).root(), root)) corrupt(ptr.page, 'root does not match the frontier')
  const entries = readBlockPtr(v, o + HEAD.entries)
  const entryPages = v.getUint32(o + HEAD.entryPages, true)
  if (isNullPtr(entries) !== (entryPages === 0) || entryPages > size - base) corrupt(ptr.page, `${entryPages} entry pages for ${size - base} entries`)
  if (entryPages > 0 && entries.aux !== pointerTreeHeight(entryPages)) corrupt(ptr.page, 'the entry tree has the wrong height')
  return { flags, size, base, root, entries, entryPages, frontier, baseFrontier }
}

/** Writes a head page for `s` through `io` and returns its pointer. */
export function writeAuditHead(io: PageIO, s: AuditLogState): BlockPtr {
  const used = HEAD.hashes + 32 * (s.frontier.length + s.baseFrontier.length)
  return writeNode(io, PageType.AUDIT_HEAD, 0, 0, used, (page) => {
    const v = viewOf(page)
    const o = PAGE_HEADER_SIZE
    v.setUint32(o + HEAD.flags, s.flags, true)
    setU64(v, o + HEAD.size, s.size)
    setU64(v, o + HEAD.base, s.base)
    page.set(s.root, o + HEAD.root)
    writeBlockPtr(v, o + HEAD.entries, s.entries)
    v.setUint32(o + HEAD.entryPages, s.entryPages, true)
    v.setUint8(o + HEAD.frontierCount, s.frontier.length)
    v.setUint8(o + HEAD.baseFrontierCount, s.baseFrontier.length)
    ;[...s.frontier, ...s.baseFrontier].forEach((h, i) => page.set(h, o + HEAD.hashes + 32 * i))
  })
}

/** The entries of one AUDIT_ENTRIES page (views into the page), checked for framing. */
export function readEntryPage(io: Pick<PageIO, 'read'>, ptr: BlockPtr): Uint8Array[] {
  const page = io.read(ptr, PageType.AUDIT_ENTRIES)
  const v = viewOf(page)
  const count = v.getUint16(6, true)
  const used = v.getUint32(24, true)
  const out: Uint8Array[] = []
  let off = PAGE_HEADER_SIZE
  const end = PAGE_HEADER_SIZE + used
  for (let i = 0; i < count; i++) {
    if (off + 2 > end) corrupt(ptr.page, 'entry page framing')
    const len = v.getUint16(off, true)
    if (len === 0 || len > MAX_ENTRY_BYTES || off + 2 + len > end) throw new CartridgeError(ErrorCodes.CORRUPT, `audit entry page ${ptr.page}: an entry's length is out of range`, { page: ptr.page })
    out.push(page.subarray(off + 2, off + 2 + len))
    off += 2 + len
  }
  if (off !== end || count === 0) throw new CartridgeError(ErrorCodes.CORRUPT, `audit entry page ${ptr.page}: framing does not match its length`, { page: ptr.page })
  return out
}

function writeEntryPage(io: PageIO, entries: readonly Uint8Array[]): BlockPtr {
  const used = entries.reduce((n, e) => n + 2 + e.length, 0)
  return writeNode(io, PageType.AUDIT_ENTRIES, 0, entries.length, used, (page) => {
    const v = viewOf(page)
    let off = PAGE_HEADER_SIZE
    for (const e of entries) {
      v.setUint16(off, e.length, true)
      page.set(e, off + 2)
      off += 2 + e.length
    }
  })
}

const pageBytes = (entries: readonly Uint8Array[]) => entries.reduce((n, e) => n + 2 + e.length, 0)

/**
 * Appends encoded entries (whose index fields continue the log) copy-on-write: the last entry
 * page is rewritten with them while they fit, new pages take the rest, the pointer tree above the
 * changed pages and a new head page are written. `io.free` receives every page the new state no
 * longer references. Returns the new state and its head pointer.
 */
export function appendAuditEntries(
  io: PageIO, s: AuditLogState, oldHead: BlockPtr, encoded: readonly Uint8Array[], hint: AppendHint = {},
): { state: AuditLogState; head: BlockPtr; tail: AuditTail | undefined } {
  let frontier = hint.frontier
  if (!frontier || frontier.size !== s.size + encoded.length) {
    frontier = MerkleFrontier.restore(s.size, s.frontier)
    for (const e of encoded) frontier.append(leafHash(e))
  }
  const updates = new Map<number, BlockPtr>()
  let pages = s.entryPages
  let pending: Uint8Array[] = []
  let firstNew = pages
  if (pages > 0 && encoded.length > 0) {
    // Fill the last page first (it is rewritten: a committed page never changes in place).
    const known = hint.tail && hint.tail.index === pages - 1 ? hint.tail : undefined
    const last = known?.ptr ?? lookupPointerTree(io, s.entries, pages - 1)
    const kept = known?.entries ?? readEntryPage(io, last)
    if (pageBytes(kept) + 2 + encoded[0].length <= PAGE_PAYLOAD) {
      pending = [...kept]
      firstNew = pages - 1
    }
  }
  let index = firstNew
  let tail: AuditTail | undefined
  const flushPage = () => {
    if (pending.length > 0) {
      const ptr = writeEntryPage(io, pending)
      tail = { index, ptr, entries: pending }
      updates.set(index++, ptr)
    }
    pending = []
  }
  for (const e of encoded) {
    if (pageBytes(pending) + 2 + e.length > PAGE_PAYLOAD) flushPage()
    pending.push(e)
  }
  flushPage()
  pages = Math.max(pages, index)
  const entries = updates.size === 0
    ? s.entries
    : updatePointerTree(io, isNullPtr(s.entries) ? undefined : s.entries, s.entryPages, pages, updates, (p) => io.free(p))!
  const state: AuditLogState = {
    ...s, size: s.size + encoded.length, root: frontier.root(), entries, entryPages: pages, frontier: frontier.hashes(),
  }
  if (!isNullPtr(oldHead)) io.free(oldHead)
  return { state, head: writeAuditHead(io, state), tail: tail ?? (hint.tail?.index === pages - 1 ? hint.tail : undefined) }
}

/** The last entry page as a writer last wrote it (kept in memory so the next append need not read it back). */
export interface AuditTail {
  index: number
  ptr: BlockPtr
  entries: readonly Uint8Array[]
}

/** What a writer already knows, so that an append does no work twice. */
export interface AppendHint {
  /** The frontier after the entries being appended. */
  frontier?: MerkleFrontier
  /** The current last entry page. */
  tail?: AuditTail
}

/**
 * Drops every stored entry (they were archived elsewhere): the base moves to the size and keeps
 * the frontier there, so the log goes on with the same roots. Frees the entry pages.
 */
export function dropStoredEntries(io: PageIO, s: AuditLogState): AuditLogState {
  if (s.entryPages > 0) updatePointerTree(io, s.entries, s.entryPages, 0, new Map(), (p) => io.free(p))
  return { ...s, base: s.size, baseFrontier: s.frontier.map((h) => h.slice()), entries: NULL_PTR, entryPages: 0 }
}

/** The index field of an encoded entry (bytes 8..15). */
export function entryIndexOf(encoded: Uint8Array): number {
  return getU64(viewOf(encoded), 8)
}

/**
 * Yields the stored entries from index `from` on (raw encoded bytes with the position they were
 * found at), reading one page at a time: memory stays one page whatever the log's size. The page
 * holding `from` is found by a binary search over the pages' first entries.
 */
export function* storedEntries(io: Pick<PageIO, 'read'>, s: AuditLogState, from = s.base): Generator<{ position: number; bytes: Uint8Array }> {
  if (s.entryPages === 0) return
  const leaf = (i: number) => lookupPointerTree(io, s.entries, i)
  let lo = 0
  let hi = s.entryPages - 1
  const start = Math.max(from, s.base)
  // Last page whose first entry is at or before `start` (by the index fields; verification checks them).
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    const first = readEntryPage(io, leaf(mid))[0]
    if (entryIndexOf(first) <= start) lo = mid
    else hi = mid - 1
  }
  let position = -1
  for (let p = lo; p < s.entryPages; p++) {
    const entries = readEntryPage(io, leaf(p))
    if (position < 0) position = entryIndexOf(entries[0])
    for (const bytes of entries) {
      if (position >= start) yield { position, bytes }
      position++
    }
  }
}

/** Every page of the log: the head, the pointer nodes and the entry pages; pages born at or before `minTxn` and what lies below them are skipped. */
export function visitAuditPages(io: Pick<PageIO, 'read'>, head: BlockPtr, onPage: (ptr: BlockPtr, type: 'head' | 'node' | 'entries') => void, minTxn = -1): void {
  if (isNullPtr(head) || head.txn <= minTxn) return
  onPage(head, 'head')
  const s = readAuditHead(io, head)
  if (s.entryPages === 0) return
  const walk = (ptr: BlockPtr, h: number) => {
    if (ptr.txn <= minTxn) return
    if (h === 0) {
      onPage(ptr, 'entries')
      readEntryPage(io, ptr)
      return
    }
    onPage(ptr, 'node')
    for (const c of readPointerNode(io.read(ptr, PageType.POINTER_NODE))) walk(c, h - 1)
  }
  walk({ ...s.entries, aux: 0 }, s.entries.aux)
}

/**
 * Moves the log's pages that lie at or above `limit` lower down (vacuum): `place(page)` gives a
 * free page below, or undefined to leave it. Entry pages are written again (new birth txn; no
 * snapshot shares them); nodes above a moved page and the head are rewritten. Returns the new
 * state and head, or undefined when nothing lies at or above the limit. `budget` caps the pages moved.
 */
export function relocateAuditPages(
  io: PageIO, s: AuditLogState, head: BlockPtr, limit: number, place: () => number | undefined, budget: number,
): { state: AuditLogState; head: BlockPtr; moved: number } | undefined {
  let moved = 0
  const updates = new Map<number, BlockPtr>()
  if (s.entryPages > 0) {
    // Nodes in the tail: rewritten when a leaf below them changes, so mark their first leaf.
    const walk = (ptr: BlockPtr, h: number, first: number) => {
      if (moved >= budget) return
      if (h === 0) {
        if (ptr.page >= limit || updates.has(first)) {
          const to = place()
          if (to === undefined) return
          const copy = readEntryPage(io, ptr).map((e) => e.slice())
          io.free(ptr)
          updates.set(first, writeEntryPage({ ...io, allocate: () => to }, copy))
          moved++
        }
        return
      }
      const span = 169 ** (h - 1)
      if (ptr.page >= limit) updates.set(first, NULL_PTR)
      readPointerNode(io.read(ptr, PageType.POINTER_NODE)).forEach((c, i) => walk(c, h - 1, first + i * span))
    }
    walk({ ...s.entries, aux: 0 }, s.entries.aux, 0)
    for (const [k, v] of updates) if (isNullPtr(v)) updates.delete(k)
  }
  if (updates.size === 0 && head.page < limit) return undefined
  const headTo = place()
  if (updates.size === 0 && headTo === undefined) return undefined
  const entries = updates.size === 0 ? s.entries
    : updatePointerTree(io, s.entries, s.entryPages, s.entryPages, updates, (p, isLeaf) => {
      if (!isLeaf) io.free(p)
    }, () => place() ?? io.allocate(1))!
  const state = { ...s, entries }
  io.free(head)
  const newHead = writeAuditHead(headTo === undefined ? io : { ...io, allocate: () => headTo }, state)
  return { state, head: newHead, moved: moved + (head.page >= limit && headTo !== undefined ? 1 : 0) }
}



