import { CartridgeError, ErrorCodes, isCartridgeError, type Cartridge, type SnapshotView } from 'cartridge'
import { withCartridge } from '../open.js'
import { formatDate } from '../format.js'
import { println, type Io } from '../io.js'
import { snapshotRef } from './snapshot.js'

export interface LsFlags {
  long?: boolean
  recursive?: boolean
  /** Snapshot to list (an id, or a name) instead of the live state. */
  snapshot?: string
  /** A JSON array on stdout: `{ path, kind: 'file', size, modified }` or `{ path, kind: 'dir' }` per entry. */
  json?: boolean
}

const SIZE_WIDTH = 12

/**
 * `cartridge ls <file> [dir]`: the children of `dir` (directories end in `/`); `-r` lists every
 * file path below it, streamed; `-l` adds size and modification time. `--snapshot <ref>` lists
 * what snapshot `ref` holds instead of the live state.
 */
export async function ls(io: Io, file: string, dir: string, flags: LsFlags): Promise<number> {
  return withCartridge(file, io, {}, async (cart) => {
    const files = flags.snapshot === undefined ? cart : cart.snapshot(snapshotRef(flags.snapshot))
    // JSON: an array written entry by entry (a recursive listing can be huge).
    let first = true
    const emit = (entry: object) => {
      io.stdout.write(`${first ? '[\n' : ',\n'}  ${JSON.stringify(entry)}`)
      first = false
    }
    const finish = () => {
      if (flags.json) io.stdout.write(first ? '[]\n' : '\n]\n')
      return 0
    }
    const line = async (path: string, shown: string) => {
      if (flags.json) {
        const m = await files.metadata(path)
        return emit({ path, kind: 'file', size: m.size, modified: m.modified.toISOString() })
      }
      if (!flags.long) return println(io.stdout, shown)
      const m = await files.metadata(path)
      println(io.stdout, `${String(m.size).padStart(SIZE_WIDTH)}  ${formatDate(m.modified)}  ${shown}`)
    }
    if (flags.recursive) {
      // scan() of a missing prefix yields nothing; say so instead of printing an empty list.
      if (!(await files.exists(dir))) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file or directory: ${dir}`, { path: dir })
      // A snapshot view has no scan(): its paths come as one list.
      for await (const path of flags.snapshot === undefined ? cart.scan(dir) : await files.list(dir)) await line(path, path)
      return finish()
    }
    const entries = await children(files, dir)
    if (entries === undefined) {
      // `dir` is a file: list it, like ls(1).
      await line(dir, dir)
      return finish()
    }
    const base = dir.endsWith('/') ? dir : `${dir}/`
    for (const e of entries) {
      if (e.kind === 'dir' && flags.json) {
        emit({ path: `${base}${e.name}`, kind: 'dir' })
      } else if (e.kind === 'dir') {
        println(io.stdout, flags.long ? `${'-'.padStart(SIZE_WIDTH)}  ${' '.repeat(19)}  ${e.name}/` : `${e.name}/`)
      } else {
        await line(base + e.name, e.name)
      }
    }
    return finish()
  })
}

async function children(files: Cartridge | SnapshotView, dir: string) {
  try {
    return await files.readdir(dir)
  } catch (err) {
    if (isCartridgeError(err, ErrorCodes.NOT_A_DIRECTORY)) return undefined
    throw err
  }
}
