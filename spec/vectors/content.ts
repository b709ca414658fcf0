/** Content and summaries shared by the vector generator and the conformance tests. */
import { createHash } from 'node:crypto'

/** Deterministic content (xorshift32) and UTF-8 text. */
export { seededBytes as bytes, utf8 as text } from '@cartridge/core'

/** The committed vectors: spec/vectors/<name>.cart and <name>.expected.json. */
export const VECTOR_NAMES = ['empty', 'small', 'chunked', 'churned', 'database', 'snapshots']

/** One file of a `<name>.expected.json`. */
export interface FileSummary { path: string; size: number; sha256: string }

/** One snapshot of a `<name>.expected.json`, with its files in key order. */
export interface SnapshotSummary { id: number; name: string; fileCount: number; files: FileSummary[] }

/**
 * `<name>.expected.json`: the live files in key order; for a vector with a snapshot table, an
 * object with those files, the table's `nextId` and its snapshots in id order.
 */
export type Expected = FileSummary[] | { files: FileSummary[]; nextId: number; snapshots: SnapshotSummary[] }

/** Hex SHA-256 of `b`. */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** `{ path, size, sha256 }` of each file, in the order given. */
export function summary(files: Iterable<[string, Uint8Array]>): FileSummary[] {
  return [...files].map(([path, b]) => ({ path, size: b.length, sha256: sha256(b) }))
}
