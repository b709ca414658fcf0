import { createWriteStream } from 'node:fs'
import { lstat, mkdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Writable } from 'node:stream'
import { CartridgeError, ErrorCodes } from 'cartridge'

/**
 * Where a command writes a local file, and the one rule every command follows for it: an existing
 * file is replaced only with `--force`; the bytes go to a temporary file beside the target that
 * is renamed over it once complete, so a failure leaves what was there untouched (and never
 * deletes anything the user had); a target that is a directory, or ends with `/`, receives the
 * file under `name`.
 */
export async function resolveOutput(target: string, name: string, force: boolean): Promise<string> {
  let out = target
  if (target.endsWith('/') || (await kind(target)) === 'directory') out = join(target, name)
  const existing = await kind(out)
  if (existing === 'directory') throw new CartridgeError(ErrorCodes.IS_A_DIRECTORY, `${out} is a directory`, { path: out })
  if (existing !== undefined && existing !== 'file') throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${out} is not a regular file`, { path: out })
  if (existing === 'file' && !force) throw new CartridgeError(ErrorCodes.EXISTS, `${out} already exists (use --force to replace it)`, { path: out })
  return out
}

/** Writes `out` through `fill` into a temporary file beside it, then renames it into place. */
export async function writeOutput(out: string, fill: (stream: Writable) => Promise<void>): Promise<void> {
  try {
    await mkdir(dirname(out), { recursive: true })
  } catch (err) {
    throw localError(err, `cannot create the folder for ${out}`, out)
  }
  const partial = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.partial`)
  try {
    try {
      await fill(createWriteStream(partial, { flags: 'wx' }))
    } catch (err) {
      throw localError(err, `cannot write ${out}`, out)
    }
    try {
      await rename(partial, out)
    } catch (err) {
      throw localError(err, `cannot replace ${out}`, out)
    }
  } finally {
    await rm(partial, { force: true }).catch(() => {})
  }
}

/** Creates folder `dir` (and its parents) for output, as a coded error when it cannot. */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw localError(err, `cannot create the folder ${dir}`, dir)
  }
}

async function kind(path: string): Promise<'file' | 'directory' | 'other' | undefined> {
  try {
    const s = await lstat(path)
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'file' : 'other'
  } catch {
    return undefined
  }
}

/** A local file-system error as a CartridgeError (a container error passes through as it is). */
function localError(err: unknown, what: string, path: string): CartridgeError {
  if (err instanceof CartridgeError) return err
  const e = err as NodeJS.ErrnoException
  const code = e?.code === 'ENOSPC' ? ErrorCodes.FULL : ErrorCodes.IO
  return new CartridgeError(code, `${what}: ${e?.code ? `${e.code} ` : ''}${e?.message?.replace(/^\w+: /, '') ?? String(err)}`, { cause: err, path })
}
