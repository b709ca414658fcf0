import { basename, resolve } from 'node:path'
import { Cartridge, ErrorCodes, isCartridgeError } from 'cartridge'

/** Resolves a container argument against `cwd`, appending `.cart` when it is missing. */
export function containerPath(file: string, cwd: string): string {
  return resolve(cwd, file.endsWith('.cart') ? file : `${file}.cart`)
}

/** The slug a container file name implies: its base name without `.cart`. */
export function slugOf(path: string): string {
  return basename(path, '.cart')
}

/**
 * Opens the container `file` (read-only unless `write`), runs `body`, and closes it whatever
 * happens. Closing commits and syncs anything still pending.
 */
export async function withCartridge<T>(
  file: string,
  cwd: string,
  options: { write?: boolean },
  body: (cart: Cartridge) => Promise<T>,
): Promise<T> {
  const cart = await Cartridge.open(containerPath(file, cwd), { readOnly: !options.write })
  try {
    return await body(cart)
  } finally {
    await cart.close()
  }
}

/** Whether a file (not a directory, not nothing) is at `path` of a container or transaction. */
export async function isFile(files: { metadata(path: string): Promise<unknown> }, path: string): Promise<boolean> {
  try {
    await files.metadata(path)
    return true
  } catch (err) {
    if (isCartridgeError(err, ErrorCodes.NOT_FOUND) || isCartridgeError(err, ErrorCodes.IS_A_DIRECTORY)) return false
    throw err
  }
}
