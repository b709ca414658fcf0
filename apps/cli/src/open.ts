import { basename, resolve } from 'node:path'
import { Cartridge } from 'cartridge'

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
