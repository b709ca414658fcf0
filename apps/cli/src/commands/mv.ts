import { CartridgeError, isCartridgeError, ErrorCodes, type Cartridge } from 'cartridge'
import { withCartridge } from '../open.js'
import { println, type Io } from '../io.js'

/**
 * `cartridge mv <file> <from> <to>`: renames a file or a directory. When `to` ends in `/` or is an
 * existing directory, `from` moves into it, keeping its name (like mv(1)).
 */
export async function mv(io: Io, file: string, from: string, to: string, flags: { json?: boolean; force?: boolean } = {}): Promise<number> {
  const target = await withCartridge(file, io, { write: true }, async (cart) => {
    const name = from.split('/').filter(Boolean).pop() ?? ''
    const into = to.endsWith('/') || (await isDirectory(cart, to))
    const dest = into ? `${to.replace(/\/+$/, '')}/${name}` : to
    // One rule for overwriting, as for local files: an existing file is replaced only with --force.
    await cart.rename(from, dest, { overwrite: flags.force === true }).catch((err) => {
      if (isCartridgeError(err, ErrorCodes.EXISTS) && !flags.force) throw new CartridgeError(ErrorCodes.EXISTS, `${dest} already exists (use --force to replace it)`, { path: dest, cause: err })
      throw err
    })
    return dest
  })
  if (flags.json) println(io.stdout, JSON.stringify({ from, to: target }, null, 2))
  return 0
}

async function isDirectory(cart: Cartridge, path: string): Promise<boolean> {
  try {
    await cart.metadata(path)
    return false
  } catch (err) {
    return isCartridgeError(err, ErrorCodes.IS_A_DIRECTORY)
  }
}
