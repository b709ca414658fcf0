import { CartridgeError, ErrorCodes, isCartridgeError, type Transaction } from 'cartridge'
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

async function removeOne(tx: Transaction, path: string, recursive: boolean): Promise<void> {
  const tree = path.endsWith('/') ? path : `${path}/`
  if (recursive && !(await isFile(tx, path))) return tx.delete(tree)
  try {
    await tx.delete(path.endsWith('/') && path !== '/' ? path.slice(0, -1) : path)
  } catch (err) {
    // delete() of a directory without the trailing '/' reports NOT_FOUND; say what is wrong.
    if (isCartridgeError(err, ErrorCodes.NOT_FOUND) && (await tx.exists(path))) {
      throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `${err.path ?? path} is a directory (use -r)`, { path: err.path ?? path })
    }
    throw err
  }
}
