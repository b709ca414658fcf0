import { createReadStream } from 'node:fs'
import { readFile, readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { CartridgeError, ErrorCodes, type Cartridge, type CodecName } from 'cartridge'
import { containerPath, withCartridge } from '../open.js'
import { formatBytes, plural } from '../format.js'
import { counter, progressBar, type ProgressBar } from '../progress.js'
import { println, type Io } from '../io.js'

export interface PutFlags {
  to: string
  quiet?: boolean
  /** Print `{ files, bytes, paths }` on stdout. */
  json?: boolean
  /** Codec for these files instead of the container's. */
  compression?: CodecName
}

/** Files larger than this are streamed in chunks instead of read whole. */
export const STREAM_THRESHOLD = 1024 * 1024
/** Up to this many bytes in all, one `put` is one transaction; beyond it, one commit per file. */
export const TRANSACTION_LIMIT = 64 * 1024 * 1024

/** One local file to copy and where it goes in the container. */
export interface PutItem {
  local: string
  dest: string
  size: number
}

/**
 * `cartridge put <file> <source...>`: copies local files, and directories recursively, under
 * `--to` (like `cp -r`: a directory `photos` lands as `<to>/photos/…`).
 */
export async function put(io: Io, file: string, sources: string[], flags: PutFlags): Promise<number> {
  const container = containerPath(file, io.cwd)
  const skip = new Set([container, `${container}.lock`]) // `put box.cart .` must not copy the box into itself
  const items: PutItem[] = []
  for (const s of sources) await collect(io, resolve(io.cwd, s), joinPath(flags.to, basename(resolve(io.cwd, s))), items, skip)
  const total = items.reduce((n, i) => n + i.size, 0)
  const bar = progressBar(io, total, flags.quiet === true, items.length)
  const opts = flags.compression === undefined ? {} : { compression: flags.compression }
  await withCartridge(file, io, { write: true }, async (cart) => {
    if (total <= TRANSACTION_LIMIT) {
      // All or nothing. A transaction has no write stream, so each file is read whole (≤ 64 MiB).
      await cart.transaction(async (tx) => {
        for (const item of items) {
          await tx.write(item.dest, await readFile(item.local), opts)
          bar?.advance(item.size, 1)
        }
      })
    } else {
      for (const item of items) await putOne(cart, item, bar, opts)
    }
  })
  bar?.finish()
  if (flags.json) println(io.stdout, JSON.stringify({ files: items.length, bytes: total, paths: items.map((i) => i.dest) }, null, 2))
  else if (!flags.quiet) println(io.stderr, `put ${plural(items.length, 'file')} (${formatBytes(total)})`)
  return 0
}

async function putOne(cart: Cartridge, item: PutItem, bar: ProgressBar | undefined, opts: { compression?: CodecName }): Promise<void> {
  if (item.size <= STREAM_THRESHOLD) {
    await cart.write(item.dest, await readFile(item.local), opts)
    bar?.advance(item.size, 1)
    return
  }
  await pipeline(createReadStream(item.local), counter(bar), cart.createWriteStream(item.dest, opts))
  bar?.advance(0, 1)
}

/** Adds `local` (a file, or a directory walked recursively) to `out`, destined for `dest`. */
async function collect(io: Io, local: string, dest: string, out: PutItem[], skip: Set<string>): Promise<void> {
  // Each local file or directory once, however often it is named (`put box d d`).
  if (skip.has(local)) return
  skip.add(local)
  const st = await stat(local).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new CartridgeError(ErrorCodes.NOT_FOUND, `no such file or directory to put: ${local}`, { path: local, cause: err })
    throw new CartridgeError(ErrorCodes.IO, `cannot read ${local}: ${err.code ?? err.message}`, { path: local, cause: err })
  })
  if (st.isFile()) {
    out.push({ local, dest, size: st.size })
    return
  }
  if (!st.isDirectory()) {
    println(io.stderr, `cartridge: skipping ${local}: not a regular file or directory`)
    return
  }
  const entries = await readdir(local, { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const child = join(local, e.name)
    if (e.isSymbolicLink()) {
      // Linked files are copied; following linked directories could loop.
      const target = await stat(child).catch(() => undefined)
      if (!target?.isFile()) {
        println(io.stderr, `cartridge: skipping ${child}: symbolic link to ${target ? 'a directory' : 'nothing'}`)
        continue
      }
    }
    await collect(io, child, joinPath(dest, e.name), out, skip)
  }
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`
}
