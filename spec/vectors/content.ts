/** Content and summaries shared by the vector generator and the conformance tests. */
import { createHash } from 'node:crypto'

/** Deterministic content (xorshift32) and UTF-8 text. */
export { seededBytes as bytes, utf8 as text } from '@cartridge/core'

/** The committed vectors: spec/vectors/<name>.cart and <name>.expected.json. */
export const VECTOR_NAMES = ['empty', 'small', 'chunked', 'churned', 'database', 'snapshots', 'compressed', 'encrypted-passphrase', 'encrypted-key', 'audited', 'summed']

const WORDS = ('the a of container page chunk record run head continuation codec frame block catalog leaf branch pointer ' +
  'map free commit txn meta slot snapshot vacuum reader writer byte offset length checksum zstd lz4 raw packed').split(' ')

/**
 * `size` bytes of ASCII text (words, numbers, sentences, lines) derived from `seed` with its own
 * xorshift32, so it compresses like prose and never changes with the library.
 */
export function prose(size: number, seed: number): Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1
  const next = (n: number) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
  const parts: string[] = []
  for (let length = 0; length < size; ) {
    const r = next(24)
    const part = r < 2 ? `${next(100_000)} ` : r < 3 ? `${WORDS[next(WORDS.length)]}.\n` : `${WORDS[next(WORDS.length)]} `
    parts.push(part)
    length += part.length
  }
  return new TextEncoder().encode(parts.join('').slice(0, size))
}

/** One file of a `<name>.expected.json`. */
export interface FileSummary { path: string; size: number; sha256: string }

/** One snapshot of a `<name>.expected.json`, with its files in key order. */
export interface SnapshotSummary { id: number; name: string; fileCount: number; files: FileSummary[] }

/** What opens an encrypted vector (§25), published in its `<name>.expected.json`: its passphrase, or its raw key in hex. */
export interface KeyMaterial { passphrase?: string; keyHex?: string }

/**
 * One entry of an expected audit log (§26), as the model knows it: action, path and target, and
 * `size` and `sha256` (hex) exactly when the operation records them (a write: the new content's;
 * a delete: the removed file's size). Time, principal, detail and prevRoot are not modelled.
 */
export interface AuditEntrySummary { action: string; path: string; target: string; size?: number; sha256?: string }

/** The expected audit log of a vector (§26): the head's size and base, and the stored entries in index order. */
export interface AuditSummary { size: number; base: number; entries: AuditEntrySummary[] }

/** The modelled part of a decoded entry (the reference's or the independent reader's), in the shape of {@link AuditEntrySummary}. */
export function auditSummary(e: { action: string; path: string; target: string; size?: number; sha256?: Uint8Array | string }): AuditEntrySummary {
  const hash = e.sha256 === undefined ? undefined : typeof e.sha256 === 'string' ? e.sha256 : Buffer.from(e.sha256).toString('hex')
  return { action: e.action, path: e.path, target: e.target, ...(e.size !== undefined ? { size: e.size } : {}), ...(hash !== undefined ? { sha256: hash } : {}) }
}

/**
 * `<name>.expected.json`: the live files in key order; for a vector with a snapshot table, key
 * material (§25) or an audit log (§26), an object with those files, the table's `nextId` and its
 * snapshots in id order (when it has a table), its `passphrase` or `keyHex` (when it is
 * encrypted), and its `audit` log (when it keeps one).
 */
export type Expected = FileSummary[] | ({ files: FileSummary[]; nextId?: number; snapshots?: SnapshotSummary[]; audit?: AuditSummary } & KeyMaterial)

/** The key options of `Cartridge.open` and of the independent reader for the key material of `e` (none for a plain vector). */
export function keysOf(e: KeyMaterial): { passphrase: string } | { key: Uint8Array } | undefined {
  if (e.passphrase !== undefined) return { passphrase: e.passphrase }
  if (e.keyHex !== undefined) return { key: new Uint8Array(Buffer.from(e.keyHex, 'hex')) }
  return undefined
}

/** Hex SHA-256 of `b`. */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** `{ path, size, sha256 }` of each file, in the order given. */
export function summary(files: Iterable<[string, Uint8Array]>): FileSummary[] {
  return [...files].map(([path, b]) => ({ path, size: b.length, sha256: sha256(b) }))
}

/** The committed engram vectors (spec/ENGRAM.md): spec/vectors/<name>.eng and <name>.expected.json. */
export const ENGRAM_VECTOR_NAMES = ['engram', 'engram-lz4']

/**
 * `<name>.expected.json` of an engram vector: the signer's public key (the reference's text form,
 * `cartridge-ed25519-public:` + base64url of the 32 bytes) and key id, the manifest without
 * `frozen` (the time it was written), and the files in directory (UTF-8 byte) order.
 */
export interface EngramExpected {
  publicKey: string
  keyId: string
  manifest: {
    format: string; version: number; slug: string; title: string; created: string; fileCount: number; totalBytes: number
    signer: string; compression: string; source?: { uuid?: string; txn?: number; snapshot?: string }
  }
  files: FileSummary[]
}

/** The 32 raw bytes of an `EngramExpected.publicKey`. */
export function publicKeyBytes(text: string): Uint8Array {
  const tag = 'cartridge-ed25519-public:'
  if (!text.startsWith(tag)) throw new Error(`not a public key: ${text}`)
  const key = Buffer.from(text.slice(tag.length), 'base64url')
  if (key.length !== 32) throw new Error('a public key is 32 bytes')
  return new Uint8Array(key)
}
