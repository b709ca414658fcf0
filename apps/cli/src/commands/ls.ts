import { CartridgeError, ErrorCodes, isCartridgeError, type Cartridge } from 'cartridge'
import { withCartridge } from '../open.js'
import { formatDate } from '../format.js'
import { println, type Io } from '../io.js'

export interface LsFlags {
  long?: boolean
  recursive?: boolean
}

const SIZE_WIDTH = 12

/**
 * `cartridge ls <file> [dir]`: the children of `dir` (directories end in `/`); `-r` lists every
 * file path below it, streamed; `-l` adds size and modification time.
 */
export async function ls(io: Io, file: string, dir: string, flags: LsFlags): Promise<number> {
  return withCartridge(file, io.cwd, {}, async (cart) => {
    const line = async (path: string, shown: string) => {
      if (!flags.long) return println(io.stdout, shown)
      const m = await cart.metadata(path)
      println(io.stdout, `${String(m.size).padStart(SIZE_WIDTH)}  ${formatDate(m.modified)}  ${shown}`)
    }
    if (flags.recursive) {
      // scan() of a missing prefix yields nothing; say so instead of printing an empty list.
      if (!(await cart.exists(dir))) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file or directory: ${dir}`, { path: dir })
      for await (const path of cart.scan(dir)) await line(path, path)
      return 0
    }
    const entries = await children(cart, dir)
    if (entries === undefined) {
      // `dir` is a file: list it, like ls(1).
      await line(dir, dir)
      return 0
    }
    const base = dir.endsWith('/') ? dir : `${dir}/`
    for (const e of entries) {
      if (e.kind === 'dir') {
        println(io.stdout, flags.long ? `${'-'.padStart(SIZE_WIDTH)}  ${' '.repeat(19)}  ${e.name}/` : `${e.name}/`)
      } else {
        await line(base + e.name, e.name)
      }
    }
    return 0
  })
}

async function children(cart: Cartridge, dir: string) {
  try {
    return await cart.readdir(dir)
  } catch (err) {
    if (isCartridgeError(err, ErrorCodes.NOT_A_DIRECTORY)) return undefined
    throw err
  }
}
