import { CartridgeError, ErrorCodes, MAX_LAYER_ID_BYTES, crc32, fromUtf8, getU64, isLayerId, setU64, utf8, viewOf } from '@cartridge/core'
import { readBlockPtr, writeBlockPtr, type BlockPtr } from './block-pointer.js'
import { PAGE_SIZE } from './page-format.js'

/** The 8 magic bytes that open both meta pages: `CARTRIDG`. */
export const MAGIC = utf8('CARTRIDG')
export const FORMAT_MAJOR = 1
/**
 * Highest minor version this code writes (1.5: ids of the catalog and allocator implementations;
 * 1.4: page checksums in chunk records; 1.3: the audit
 * log and the stored policy). Each container is written with the lowest minor its contents need,
 * so older writers still open what they can write.
 */
export const FORMAT_MINOR = 5
/** Longest slug, bytes. */
export const MAX_SLUG_BYTES = 214
/** Longest title, bytes. */
export const MAX_TITLE_BYTES = 1024

/** Everything a meta page (superblock) records about one commit. */
export interface Meta {
  /** Transaction id of this commit (the newest valid, verified one wins at open). */
  txn: number
  /** Commit this one was built on that is known durable; recovery verifies pages born after it. */
  baseTxn: number
  /** Container size in pages. */
  totalPages: number
  fileCount: number
  /** Creation time of the container, ms since the epoch. */
  created: number
  /** Largest size in pages the container may grow to (0 = unbounded). */
  maxPages: number
  /** Headroom in percent that large writes and vacuums leave (spec §15). */
  growthThresholdPercent: number
  /** Random container id. */
  uuid: Uint8Array
  catalogRoot: BlockPtr
  /** Free-space bitmap; `aux` = pointer-tree height. */
  freeMapRoot: BlockPtr
  /** Root of the snapshot table (spec §22); null when the container has none. */
  snapshotsRoot: BlockPtr
  slug: string
  title: string
  /** Codec id new writes use by default (0 = none); format 1.2. */
  codec: number
  /** Level of that codec (Zstd 1–22; 0 = the codec's default or none). */
  codecLevel: number
  /** Head page of the audit log (format 1.3, spec §26); null or absent when the log is off. */
  auditRoot?: BlockPtr
  /** The stored access policy (format 1.3, spec §27): JSON in POLICY pages; null or absent when none is stored. */
  policyRoot?: BlockPtr
  /**
   * Some file record may carry page checksums (format 1.4): written as minor 4, read back from a
   * minor of 4 or more. Once set it stays set.
   */
  pageSums?: boolean
  /**
   * Txn of the last commit that restored a snapshot (format 1.4, offset 208): after it, the live
   * state and every snapshot taken descend from each other without a jump, which lets a snapshot
   * be deleted by birth txns alone. Decoded from a slot older than 1.4 as the slot's own txn (its
   * history is unknown). 0: never.
   */
  restoreTxn?: number
  /**
   * Id of the catalog implementation that wrote the container (format 1.5, offset 216); absent
   * or empty: the reference B+tree (`btree`).
   */
  catalogId?: string
  /**
   * Id of the allocator implementation that wrote the container (format 1.5, offset 232); absent
   * or empty: the reference bitmap (`bitmap`).
   */
  allocatorId?: string
  /** Minor format version the slot was written with (decoding only; writers write {@link FORMAT_MINOR}). */
  minor?: number
}

const OFF = {
  magic: 0, major: 8, minor: 10, pageSize: 12, txn: 16, baseTxn: 24, totalPages: 32, fileCount: 40, created: 48,
  maxPages: 56, threshold: 64, codec: 65, codecLevel: 66, catalog: 72, freeMap: 96, snapshots: 120, uuid: 144, audit: 160, policy: 184, restoreTxn: 208, catalogId: 216, allocatorId: 232, slug: 256, title: 512, checksum: PAGE_SIZE - 4,
} as const

/** The UTF-8 of the last few strings encoded (slug and title repeat in every commit's meta page). */
const utf8Cache = new Map<string, Uint8Array>()

function utf8Cached(s: string): Uint8Array {
  let bytes = utf8Cache.get(s)
  if (!bytes) {
    if (utf8Cache.size >= 8) utf8Cache.clear()
    utf8Cache.set(s, (bytes = utf8(s)))
  }
  return bytes
}

/** Writes a layer id (validated ASCII, at most 16 bytes) NUL-padded into 16 bytes at `off`. */
function writeLayerId(page: Uint8Array, off: number, id: string | undefined): void {
  if (!id) return
  if (!isLayerId(id)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `not a layer id: ${JSON.stringify(id)}`)
  for (let i = 0; i < id.length; i++) page[off + i] = id.charCodeAt(i)
}

/**
 * The layer id in the 16 bytes at `off` (up to the first NUL). Older writers left these bytes
 * zero, so an empty id means the reference implementation; bytes that are not a valid id come
 * back as they are (the caller finds no implementation by that name and says so).
 */
function readLayerId(page: Uint8Array, off: number): string {
  let end = off
  while (end < off + MAX_LAYER_ID_BYTES && page[end] !== 0) end++
  return String.fromCharCode(...page.subarray(off, end))
}

/** Encodes a meta page (checksum in the last 4 bytes covers everything before it). */
export function encodeMeta(m: Meta): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE)
  const v = viewOf(page)
  page.set(MAGIC, OFF.magic)
  v.setUint16(OFF.major, FORMAT_MAJOR, true)
  const audited = m.auditRoot !== undefined && m.auditRoot.page !== 0
  const guarded = m.policyRoot !== undefined && m.policyRoot.page !== 0
  const layered = !!m.catalogId || !!m.allocatorId
  const minor = layered ? 5 : m.pageSums || m.snapshotsRoot.page !== 0 ? 4 : audited || guarded ? 3 : 2
  v.setUint16(OFF.minor, minor, true)
  v.setUint32(OFF.pageSize, PAGE_SIZE, true)
  setU64(v, OFF.txn, m.txn)
  setU64(v, OFF.baseTxn, m.baseTxn)
  setU64(v, OFF.totalPages, m.totalPages)
  setU64(v, OFF.fileCount, m.fileCount)
  setU64(v, OFF.created, m.created)
  setU64(v, OFF.maxPages, m.maxPages)
  v.setUint8(OFF.threshold, m.growthThresholdPercent)
  v.setUint8(OFF.codec, m.codec)
  v.setUint8(OFF.codecLevel, m.codecLevel)
  writeBlockPtr(v, OFF.catalog, m.catalogRoot)
  writeBlockPtr(v, OFF.freeMap, m.freeMapRoot)
  writeBlockPtr(v, OFF.snapshots, m.snapshotsRoot)
  if (audited) writeBlockPtr(v, OFF.audit, m.auditRoot!)
  if (guarded) writeBlockPtr(v, OFF.policy, m.policyRoot!)
  if (minor >= 4) setU64(v, OFF.restoreTxn, m.restoreTxn ?? 0)
  if (layered) {
    writeLayerId(page, OFF.catalogId, m.catalogId)
    writeLayerId(page, OFF.allocatorId, m.allocatorId)
  }
  page.set(m.uuid.subarray(0, 16), OFF.uuid)
  const slug = utf8Cached(m.slug)
  const title = utf8Cached(m.title)
  if (slug.length > MAX_SLUG_BYTES) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'slug too long')
  if (title.length > MAX_TITLE_BYTES) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `title longer than ${MAX_TITLE_BYTES} bytes`)
  v.setUint16(OFF.slug, slug.length, true)
  page.set(slug, OFF.slug + 2)
  v.setUint16(OFF.title, title.length, true)
  page.set(title, OFF.title + 2)
  v.setUint32(OFF.checksum, crc32(page.subarray(0, OFF.checksum)), true)
  return page
}

/** Result of decoding one meta slot. */
/**
 * Result of decoding one meta slot. `auth`: in an encrypted container, a slot that does not open
 * with the data key (damaged, forged, or a plain meta page where a sealed one must be).
 */
export type MetaSlot = { ok: true; meta: Meta } | { ok: false; reason: 'magic' | 'checksum' | 'version' | 'page-size' | 'auth' }

/** Decodes one meta page; never throws. */
export function decodeMeta(page: Uint8Array): MetaSlot {
  for (let i = 0; i < MAGIC.length; i++) if (page[i] !== MAGIC[i]) return { ok: false, reason: 'magic' }
  const v = viewOf(page)
  if (v.getUint32(OFF.checksum, true) !== crc32(page.subarray(0, OFF.checksum))) return { ok: false, reason: 'checksum' }
  if (v.getUint16(OFF.major, true) !== FORMAT_MAJOR) return { ok: false, reason: 'version' }
  if (v.getUint32(OFF.pageSize, true) !== PAGE_SIZE) return { ok: false, reason: 'page-size' }
  const slugLen = Math.min(v.getUint16(OFF.slug, true), MAX_SLUG_BYTES)
  const titleLen = Math.min(v.getUint16(OFF.title, true), MAX_TITLE_BYTES)
  const minor = v.getUint16(OFF.minor, true)
  return {
    ok: true,
    meta: {
      txn: getU64(v, OFF.txn),
      baseTxn: getU64(v, OFF.baseTxn),
      totalPages: getU64(v, OFF.totalPages),
      fileCount: getU64(v, OFF.fileCount),
      created: getU64(v, OFF.created),
      maxPages: getU64(v, OFF.maxPages),
      growthThresholdPercent: v.getUint8(OFF.threshold),
      codec: v.getUint8(OFF.codec),
      codecLevel: v.getUint8(OFF.codecLevel),
      minor,
      pageSums: minor >= 4,
      uuid: page.slice(OFF.uuid, OFF.uuid + 16),
      catalogRoot: readBlockPtr(v, OFF.catalog),
      freeMapRoot: readBlockPtr(v, OFF.freeMap),
      snapshotsRoot: readBlockPtr(v, OFF.snapshots),
      auditRoot: readBlockPtr(v, OFF.audit),
      policyRoot: readBlockPtr(v, OFF.policy),
      restoreTxn: minor >= 4 ? getU64(v, OFF.restoreTxn) : getU64(v, OFF.txn),
      catalogId: readLayerId(page, OFF.catalogId),
      allocatorId: readLayerId(page, OFF.allocatorId),
      slug: fromUtf8(page.subarray(OFF.slug + 2, OFF.slug + 2 + slugLen)),
      title: fromUtf8(page.subarray(OFF.title + 2, OFF.title + 2 + titleLen)),
    },
  }
}
