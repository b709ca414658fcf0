/** Content and summaries shared by the vector generator and the conformance tests. */
import { createHash } from 'node:crypto'

/** Deterministic content (xorshift32) and UTF-8 text. */
export { seededBytes as bytes, utf8 as text } from '@cartridge/core'

/** The committed vectors: spec/vectors/<name>.cart and <name>.expected.json. */
export const VECTOR_NAMES = ['empty', 'small', 'chunked', 'churned', 'database']

/** One file of a `<name>.expected.json`. */
export interface FileSummary { path: string; size: number; sha256: string }

/** Hex SHA-256 of `b`. */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** `{ path, size, sha256 }` of each file, in the order given. */
export function summary(files: Iterable<[string, Uint8Array]>): FileSummary[] {
  return [...files].map(([path, b]) => ({ path, size: b.length, sha256: sha256(b) }))
}
