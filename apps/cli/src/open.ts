import { existsSync } from 'node:fs'
import { userInfo } from 'node:os'
import { basename, resolve } from 'node:path'
import { Cartridge, ErrorCodes, isCartridgeError } from 'cartridge'
import { println, type Io } from './io.js'
import { promptPassphrase } from './keys.js'

/**
 * Resolves a container argument against `cwd`: the path as given when it ends with `.cart` or
 * something exists there (so `info /etc/passwd` speaks of /etc/passwd), else with `.cart` added.
 */
export function containerPath(file: string, cwd: string): string {
  const given = resolve(cwd, file)
  return file.endsWith('.cart') || existsSync(given) ? given : `${given}.cart`
}

/** The slug a container file name implies: its base name without `.cart`. */
export function slugOf(path: string): string {
  return basename(path, '.cart')
}

/**
 * Opens the container `file` (read-only unless `write`), runs `body`, and closes it whatever
 * happens. Closing commits and syncs anything still pending. When open had to skip the newest
 * commit (after a crash mid-commit, or damage), a warning line goes to stderr first.
 */
export async function withCartridge<T>(
  file: string,
  io: Io,
  options: { write?: boolean },
  body: (cart: Cartridge) => Promise<T>,
): Promise<T> {
  const cart = await openCartridge(containerPath(file, io.cwd), io, !options.write)
  if (cart.recovery) println(io.stderr, `cartridge: warning: ${cart.recovery.reason}; run \`cartridge check\` if no crash explains it`)
  try {
    return await body(cart)
  } finally {
    await cart.close()
  }
}

/**
 * Opens a container with the key or passphrase of the global options. An encrypted container
 * opened without one asks for the passphrase when stdin is a terminal.
 */
export async function openCartridge(path: string, io: Io, readOnly: boolean): Promise<Cartridge> {
  const keys = io.keys ?? {}
  let cart: Cartridge
  try {
    cart = await Cartridge.open(path, { readOnly, ...keys })
  } catch (err) {
    const asked = keys.key !== undefined || keys.passphrase !== undefined
    if (asked || !isCartridgeError(err, ErrorCodes.BAD_KEY) || !io.stdin?.isTTY || !/passphrase/.test(err.message)) throw err
    const passphrase = await promptPassphrase(io, 'Passphrase: ')
    io.keys = { passphrase }
    cart = await Cartridge.open(path, { readOnly, passphrase })
  }
  // Every request of the CLI comes from the CLI, for the principal --as names (the OS user otherwise).
  return cart.as({ source: 'cli', ...(io.principal !== undefined ? { principal: io.principal } : { principal: userInfoName() }) })
}

/** The operating-system user (what an API call without `as()` is made for too). */
function userInfoName(): string {
  try {
    return userInfo().username
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`
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
