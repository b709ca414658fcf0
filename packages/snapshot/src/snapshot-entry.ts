import { CartridgeError, ErrorCodes, utf8 } from '@cartridge/core'
import type { BlockPtr } from '@cartridge/pager'

/** Longest snapshot name, in UTF-8 bytes. */
export const MAX_SNAPSHOT_NAME_BYTES = 255

/** Most snapshots one container keeps (space accounting gives each root a 16-bit owner tag). */
export const MAX_SNAPSHOTS = 65_000

/**
 * One snapshot: a retained catalog root. Everything the root reaches (catalog pages, chunk maps,
 * content) stays readable and is never reused while the snapshot exists.
 */
export interface SnapshotEntry {
  /** Unique id, never reused in this container (ids grow by one per snapshot). */
  id: number
  /** Name given at creation (unique among the container's snapshots). */
  name: string
  /** When the snapshot was taken, ms since the epoch. */
  created: number
  /** The commit whose state the snapshot keeps; every block it reaches was born at or before it. */
  txn: number
  /** Files in that state. */
  fileCount: number
  /** Catalog root of that state (`NULL_PTR` for an empty container). */
  catalogRoot: BlockPtr
}

const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * Checks a snapshot name: 1–255 UTF-8 bytes, no control characters, not only digits (a number
 * names a snapshot by id), no leading or trailing space.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT`
 */
export function validateSnapshotName(name: unknown): string {
  const bad = (why: string): never => {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `invalid snapshot name ${JSON.stringify(name)}: ${why}`)
  }
  if (typeof name !== 'string' || name.length === 0) return bad('it must be a non-empty string')
  if (utf8(name).length > MAX_SNAPSHOT_NAME_BYTES) bad(`longer than ${MAX_SNAPSHOT_NAME_BYTES} bytes`)
  if (CONTROL.test(name)) bad('control characters are not allowed')
  if (/^\d+$/.test(name)) bad('a name of digits only would read as an id')
  if (name.trim() !== name) bad('leading or trailing spaces are not allowed')
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) bad('lone surrogate')
  return name
}
