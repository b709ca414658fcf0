import type { SnapshotInfo } from 'cartridge'
import { withCartridge } from '../open.js'
import { formatBytes, formatDate, plural, toTable } from '../format.js'
import { println, type Io } from '../io.js'

/** A `<snapshot>` argument: all digits is an id, anything else a name (a name cannot be all digits). */
export function snapshotRef(arg: string): number | string {
  return /^\d+$/.test(arg) ? Number(arg) : arg
}

/** `3 "before-cleanup"`: a snapshot as the commands name it. */
function label(s: SnapshotInfo): string {
  return `${s.id} ${JSON.stringify(s.name)}`
}

/** `cartridge snapshot create <file> [name]`: snapshots everything committed (default name `snapshot-<id>`). */
export async function snapshotCreate(io: Io, file: string, name: string | undefined, flags: { json?: boolean } = {}): Promise<number> {
  const s = await withCartridge(file, io, { write: true }, (cart) => cart.createSnapshot(name))
  if (flags.json) println(io.stdout, JSON.stringify(s, null, 2))
  else println(io.stdout, `created snapshot ${label(s)} (${plural(s.fileCount, 'file')})`)
  return 0
}

/**
 * `cartridge snapshot list <file>`: id, name, creation time (UTC), files, and the bytes only that
 * snapshot holds (what deleting it frees); `--json` for scripts.
 */
export async function snapshotList(io: Io, file: string, flags: { json?: boolean }): Promise<number> {
  const list = await withCartridge(file, io, {}, (cart) => cart.listSnapshots())
  if (flags.json) {
    println(io.stdout, JSON.stringify(list, null, 2))
    return 0
  }
  if (list.length === 0) {
    println(io.stdout, 'no snapshots')
    return 0
  }
  const rows = list.map((s) => [s.id, s.name, formatDate(s.created), s.fileCount, formatBytes(s.exclusiveBytes)])
  io.stdout.write(toTable(['id', 'name', 'created', 'files', 'exclusive'], rows))
  return 0
}

/**
 * `cartridge snapshot restore <file> <snapshot>`: makes the snapshot the container's state in one
 * commit; `--save-current-as NAME` first keeps the replaced state as a snapshot, to undo it.
 */
export async function snapshotRestore(io: Io, file: string, ref: string, flags: { saveCurrentAs?: string }): Promise<number> {
  const s = await withCartridge(file, io, { write: true }, (cart) => cart.restoreSnapshot(snapshotRef(ref), { saveCurrentAs: flags.saveCurrentAs }))
  if (flags.saveCurrentAs !== undefined) println(io.stdout, `saved the replaced state as snapshot ${JSON.stringify(flags.saveCurrentAs)}`)
  println(io.stdout, `restored snapshot ${label(s)} (${plural(s.fileCount, 'file')})`)
  return 0
}

/** `cartridge snapshot delete <file> <snapshot>`: deletes it and prints the bytes only it held. */
export async function snapshotDelete(io: Io, file: string, ref: string, flags: { json?: boolean } = {}): Promise<number> {
  const { freedBytes } = await withCartridge(file, io, { write: true }, (cart) => cart.deleteSnapshot(snapshotRef(ref)))
  if (flags.json) {
    println(io.stdout, JSON.stringify({ snapshot: snapshotRef(ref), freedBytes }, null, 2))
    return 0
  }
  const hint = freedBytes > 0 ? ' (cartridge vacuum gives it back to the file system)' : ''
  println(io.stdout, `deleted snapshot ${ref}: freed ${formatBytes(freedBytes)}${hint}`)
  return 0
}

const MARKS = { added: '+', removed: '-', changed: 'M' } as const

/**
 * `cartridge snapshot diff <file> <from> [to]`: the paths that differ between two snapshots, or
 * between a snapshot and the live state (`to` left out): `+ /added`, `- /removed`, `M /changed`.
 */
export async function snapshotDiff(io: Io, file: string, from: string, to: string | undefined, flags: { json?: boolean }): Promise<number> {
  const changes = await withCartridge(file, io, {}, (cart) =>
    cart.diffSnapshots(snapshotRef(from), to === undefined ? undefined : snapshotRef(to)),
  )
  if (flags.json) {
    println(io.stdout, JSON.stringify(changes, null, 2))
    return 0
  }
  for (const c of changes) println(io.stdout, `${MARKS[c.change]} ${c.path}`)
  return 0
}
