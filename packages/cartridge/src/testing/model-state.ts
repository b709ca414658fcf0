import { ErrorCodes, compareKeys, directoryPrefix, type ErrorCode } from '@cartridge/core'
import type { FileOp, SnapRef, StreamOp } from './model-ops.js'

/**
 * The in-memory model of a container: what every file holds (as a size and the seed its bytes
 * derive from), the snapshots, and the id the next snapshot gets. Immutable: every operation
 * returns a new state or the error code the container must answer with.
 */
export interface Content {
  size: number
  seed: number
}

export type Files = ReadonlyMap<string, Content>

export interface SnapshotState {
  id: number
  name: string
  files: Files
}

export interface ModelState {
  files: Files
  snapshots: readonly SnapshotState[]
  nextSnapshotId: number
}

/** What an operation does to a state: a new state, or an error and no change. */
export type Outcome = { ok: true; state: ModelState } | { ok: false; code: ErrorCode }

export const emptyModel = (): ModelState => ({ files: new Map(), snapshots: [], nextSnapshotId: 1 })

const ok = (state: ModelState): Outcome => ({ ok: true, state })
const fail = (code: ErrorCode): Outcome => ({ ok: false, code })
const withFiles = (s: ModelState, files: Files): ModelState => ({ ...s, files })

/** Paths of `files` in the container's (byte) order. */
export function sortedPaths(files: Files): string[] {
  return [...files.keys()].sort(compareKeys)
}

/** Whether any file lives under `dir`. */
export function isDir(files: Files, dir: string): boolean {
  const prefix = directoryPrefix(dir)
  for (const k of files.keys()) if (k.startsWith(prefix)) return true
  return false
}

/** Why a new file cannot be created at `path`: a file among its ancestors, or a directory there. */
function placeError(files: Files, path: string): ErrorCode | undefined {
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) {
    if (files.has(path.slice(0, i))) return ErrorCodes.NOT_A_DIRECTORY
  }
  return isDir(files, path) ? ErrorCodes.IS_A_DIRECTORY : undefined
}

/** Creates or replaces the file at `path`. */
export function writeFile(s: ModelState, path: string, content: Content): Outcome {
  if (!s.files.has(path)) {
    const err = placeError(s.files, path)
    if (err) return fail(err)
  }
  return ok(withFiles(s, new Map(s.files).set(path, content)))
}

/** Deletes a file; a directory there is IS_A_DIRECTORY (deleting it needs the trailing `/`). */
export function deleteFile(s: ModelState, path: string): Outcome {
  if (!s.files.has(path)) return fail(isDir(s.files, path) ? ErrorCodes.IS_A_DIRECTORY : ErrorCodes.NOT_FOUND)
  const files = new Map(s.files)
  files.delete(path)
  return ok(withFiles(s, files))
}

/** Deletes every file under `dir` (`'/'`: everything); none there is NOT_FOUND, also when `dir` is a file. */
export function deleteTree(s: ModelState, dir: string): Outcome {
  const prefix = directoryPrefix(dir)
  const files = new Map(s.files)
  for (const k of s.files.keys()) if (k.startsWith(prefix)) files.delete(k)
  return files.size === s.files.size ? fail(ErrorCodes.NOT_FOUND) : ok(withFiles(s, files))
}

/** Moves a file (replacing a file at `to`) or a directory (`to` must not exist). */
export function renamePath(s: ModelState, from: string, to: string): Outcome {
  if (from === to) return s.files.has(from) || isDir(s.files, from) ? ok(s) : fail(ErrorCodes.NOT_FOUND)
  const moved = s.files.get(from)
  if (moved) {
    if (!s.files.has(to)) {
      const err = placeError(s.files, to)
      if (err) return fail(err)
    }
    const files = new Map(s.files)
    files.delete(from)
    files.set(to, moved)
    return ok(withFiles(s, files))
  }
  if (!isDir(s.files, from)) return fail(ErrorCodes.NOT_FOUND)
  if (to.startsWith(directoryPrefix(from))) return fail(ErrorCodes.INVALID_PATH)
  if (s.files.has(to) || isDir(s.files, to)) return fail(ErrorCodes.EXISTS)
  const err = placeError(s.files, to)
  if (err) return fail(err)
  const prefix = directoryPrefix(from)
  const files = new Map<string, Content>()
  for (const [k, v] of s.files) files.set(k.startsWith(prefix) ? to + k.slice(from.length) : k, v)
  return ok(withFiles(s, files))
}

/** A file operation (or a stream's end) on the model. */
export function applyFileOp(s: ModelState, op: FileOp | StreamOp): Outcome {
  switch (op.t) {
    case 'write':
    case 'stream':
      return writeFile(s, op.path, { size: op.size, seed: op.seed })
    case 'delete':
      return deleteFile(s, op.path)
    case 'deleteTree':
      return deleteTree(s, op.path)
    case 'rename':
      return renamePath(s, op.from, op.to)
  }
}

// ---- snapshots -----------------------------------------------------------------------

/** What `ref` names when the operation runs: an id or a name; one that does not exist past the end. */
export function resolveRef(s: ModelState, ref: SnapRef): number | string {
  const hit = s.snapshots[ref.k]
  if (ref.byName) return hit ? hit.name : `missing-${ref.k}`
  // Ids are never reused, so one at or past the next id does not exist (yet).
  return hit ? hit.id : s.nextSnapshotId + ref.k - s.snapshots.length
}

export function findSnapshot(s: ModelState, ref: number | string): SnapshotState | undefined {
  return s.snapshots.find((x) => (typeof ref === 'number' ? x.id === ref : x.name === ref))
}

/** A snapshot of the current files (`name` defaults to `snapshot-<id>`). */
export function createSnapshot(s: ModelState, name?: string): Outcome {
  const n = name ?? `snapshot-${s.nextSnapshotId}`
  if (s.snapshots.some((x) => x.name === n)) return fail(ErrorCodes.EXISTS)
  return ok({ ...s, snapshots: [...s.snapshots, { id: s.nextSnapshotId, name: n, files: s.files }], nextSnapshotId: s.nextSnapshotId + 1 })
}

/**
 * Makes snapshot `ref` the live state, after saving the current one as `saveAs` when given.
 * `ref` names a snapshot that exists when the call is made (NOT_FOUND first): the one `saveAs`
 * creates does not count.
 */
export function restoreSnapshot(s: ModelState, ref: number | string, saveAs?: string): Outcome {
  const target = findSnapshot(s, ref)
  if (!target) return fail(ErrorCodes.NOT_FOUND)
  let next = s
  if (saveAs !== undefined) {
    const saved = createSnapshot(s, saveAs)
    if (!saved.ok) return saved
    next = saved.state
  }
  return ok(withFiles(next, target.files))
}

export function deleteSnapshot(s: ModelState, ref: number | string): Outcome {
  const target = findSnapshot(s, ref)
  if (!target) return fail(ErrorCodes.NOT_FOUND)
  return ok({ ...s, snapshots: s.snapshots.filter((x) => x !== target) })
}

// ---- comparing states ------------------------------------------------------------------

export function sameFileSet(a: Files, b: Files): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) {
    const w = b.get(k)
    if (!w || w.size !== v.size || (w.seed !== v.seed && w.size > 0)) return false
  }
  return true
}

/** Whether two model states hold the same files and snapshots. */
export function sameState(a: ModelState, b: ModelState): boolean {
  if (!sameFileSet(a.files, b.files) || a.snapshots.length !== b.snapshots.length) return false
  return a.snapshots.every((x, i) => {
    const y = b.snapshots[i]
    return x.id === y.id && x.name === y.name && sameFileSet(x.files, y.files)
  })
}

/** A short description of a state, for failure messages. */
export function describeState(s: ModelState): string {
  const files = (f: Files) => sortedPaths(f).map((p) => `${p}=${f.get(p)!.size}#${f.get(p)!.seed}`).join(' ') || '(empty)'
  const snaps = s.snapshots.map((x) => `\n  snapshot ${x.id} ${JSON.stringify(x.name)}: ${files(x.files)}`).join('')
  return `files: ${files(s.files)}${snaps}`
}
