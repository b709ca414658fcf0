import { basename, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Writable } from 'node:stream'
import { CartridgeError, ErrorCodes, directoryPrefix, normalizePath, type Cartridge } from 'cartridge'
import { isFile, withCartridge } from '../open.js'
import { println, type Io } from '../io.js'
import { makeFolder, resolveOutput, writeOutput } from '../output-file.js'

export interface GetFlags {
  out?: string
  recursive?: boolean
  /** Replace files that exist (otherwise CARTRIDGE_EXISTS). */
  force?: boolean
  /** With `--out` or `-r`: print `{ files: [{ path, out, bytes }] }` on stdout. */
  json?: boolean
}

/**
 * `cartridge get <file> <path>`: streams a container file to stdout or `--out`; with `-r`, copies
 * the directory `path` to `--out` (default: its base name, or the container's slug for `/`).
 */
export async function get(io: Io, file: string, path: string, flags: GetFlags): Promise<number> {
  if (flags.json && flags.out === undefined && !flags.recursive) {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, '--json needs --out or -r (without them the file itself goes to stdout)')
  }
  const copied: Array<{ path: string; out: string; bytes: number }> = []
  const done = () => {
    if (flags.json) println(io.stdout, JSON.stringify({ files: copied }, null, 2))
    return 0
  }
  return withCartridge(file, io, {}, async (cart) => {
    const toFile = async (p: string, out: string) => {
      await writeOutput(out, (stream) => pipeline(cart.createReadStream(p), stream))
      copied.push({ path: p, out, bytes: (await cart.metadata(p)).size })
    }
    if (flags.recursive && !(await isFile(cart, path))) {
      const out = resolve(io.cwd, flags.out ?? (basename(path) || cart.slug()))
      await copyTree(cart, path, out, flags.force === true, toFile)
      return done()
    }
    await cart.metadata(path) // fail early (missing, or a directory) before touching the output
    if (flags.out === undefined && !flags.recursive) {
      await toStdout(cart, path, io.stdout)
    } else {
      const name = basename(path)
      const target = flags.out === undefined ? resolve(io.cwd, name) : resolve(io.cwd, flags.out) + (flags.out.endsWith('/') ? '/' : '')
      await toFile(path, await resolveOutput(target, name, flags.force === true))
    }
    return done()
  })
}

/** `cartridge cat <file> <path...>`: the files, one after another, on stdout. */
export async function cat(io: Io, file: string, paths: string[]): Promise<number> {
  return withCartridge(file, io, {}, async (cart) => {
    for (const p of paths) {
      await cart.metadata(p)
      await toStdout(cart, p, io.stdout)
    }
    return 0
  })
}

async function toStdout(cart: Cartridge, path: string, stdout: Writable): Promise<void> {
  await pipeline(cart.createReadStream(path), stdout, { end: false })
}

/** Copies every file under `dir` to the folder `out` through `toFile` (each complete, or not at all). */
async function copyTree(cart: Cartridge, dir: string, out: string, force: boolean, toFile: (path: string, out: string) => Promise<void>): Promise<void> {
  if (!(await cart.exists(dir))) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such directory: ${dir}`, { path: dir })
  const prefix = directoryPrefix(normalizePath(dir))
  await makeFolder(out)
  for await (const p of cart.scan(dir)) {
    // Container paths are normalized (no `..`), so the join cannot leave `out`.
    const parts = p.slice(prefix.length).split('/')
    await toFile(p, await resolveOutput(join(out, ...parts), parts[parts.length - 1], force))
  }
}
