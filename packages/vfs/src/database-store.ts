/** Bytes per page of a database file in a container (one container page). */
export const VFS_PAGE_SIZE = 4096

/** A new version of one file: `pages` replace whole pages, the rest is kept up to `keep` bytes. */
export interface FileWrite {
  path: string
  deleted?: false
  /** New size in bytes. */
  size: number
  /** Bytes of the committed content that survive (everything past it reads as zero). */
  keep: number
  /** Page index → 4096 bytes of new content, or a page stashed in the store. */
  pages: ReadonlyMap<number, Uint8Array | StashedPage>
}

/**
 * 4096 bytes of a pending page parked in the store (written to space no commit uses) so they
 * need not stay in memory. A commit takes it over as is; otherwise it is given back.
 */
export interface StashedPage {
  readonly stashed: true
  readonly page: number
  readonly checksum: number
  /** How the store sealed it, when the store encrypts (nonce and tag of page `index` of its file). */
  readonly seal?: { readonly index: number; readonly nonce: Uint8Array; readonly tag: Uint8Array }
}

/** Whether a pending page is stashed in the store. */
export function isStashed(p: Uint8Array | StashedPage): p is StashedPage {
  return (p as StashedPage).stashed === true
}

/** Removal of one file. */
export interface FileDelete {
  path: string
  deleted: true
}

export type FileChange = FileWrite | FileDelete

/**
 * The layer under the VFS: files addressed by path, read by page, changed by atomic commits.
 * A container implements it (see `cartridge`); the VFS keeps uncommitted pages itself and hands
 * them over only at SQLite's sync points, so what the store holds is always a state SQLite
 * committed. All calls are synchronous (SQLite calls the VFS synchronously).
 */
export interface DatabaseStore {
  /** Whether every commit will fail (SQLite then opens databases read-only). */
  readonly readOnly: boolean
  /** An existing directory to root database file names in (better-sqlite3 checks it exists). */
  readonly directory: string
  /** Size of the committed file, or undefined when there is none. Throws a `CartridgeError` when `path` is a directory. */
  size(path: string): number | undefined
  /** Reads committed page `index` of `path` into `into` (4096 bytes); returns how many bytes are valid. */
  readPage(path: string, index: number, into: Uint8Array): number
  /** Applies every change atomically as one commit, fsynced when `durable`. Throws a `CartridgeError` and changes nothing on failure. */
  commit(changes: readonly FileChange[], durable: boolean): void
  /** Parks a pending page outside every committed state; undefined when it cannot now (then it stays in memory). */
  stash?(bytes: Uint8Array, index: number): StashedPage | undefined
  /** Reads a stashed page back (verified). */
  readStashed?(page: StashedPage, into: Uint8Array): void
  /** Gives a stashed page's space back (it was not committed). */
  unstash?(page: StashedPage): void
}
