import { CartridgeError, ErrorCodes, type Transaction } from 'cartridge'
import { isFile, withCartridge } from '../open.js'
import { println, type Io } from '../io.js'

export interface RmFlags {
  recursive?: boolean
  /** Print `{ deleted: [path…] }` on stdout. */
  json?: boolean
}

/**
 * `cartridge rm <file> <path...>`: deletes files, all in one transaction (all or none); `-r`
 * deletes directories with everything under them.
 */
export async function rm(io: Io, file: string, paths: string[], flags: RmFlags): Promise<number> {
  await withCartridge(file, io, { write: true }, (cart) =>
    cart.transaction(async (tx) => {
      for (const p of paths) await removeOne(tx, p, flags.recursive === true)
    }),
  )
  if (flags.json) println(io.stdout, JSON.stringify({ deleted: paths }, null, 2))
  return 0
}

/**
 * Deletes one path: a file, or with `recursive` a directory and everything under it. Without
 * it, a directory (`/d`, `/d/` or `/` alike) is refused with one hint: use -r.
 */
async function removeOne(tx: Transaction, path: string, recursive: boolean): Promise<void> {
  const bare = path.length > 1 ? path.replace(/\/+$/, '') : path
  if (bare !== '/' && (await isFile(tx, bare))) return tx.delete(bare)
  if (!(await tx.exists(bare))) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file or directory: ${bare}`, { path: bare })
  if (!recursive) throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `${bare} is a directory (use -r)`, { path: bare })
  await tx.delete(bare === '/' ? '/' : `${bare}/`)
}
