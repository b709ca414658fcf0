import type { Writable } from 'node:stream'
import { Engram } from '@cartridge/engram'

// Filling a new container from an engram (the reverse of freeze.ts): every file streamed across,
// each block verified against the signed engram as it is read.

/** What an engram's files are copied into: a new, open container. */
export interface EngramTarget {
  createWriteStream(path: string): Writable
  close(): Promise<void>
}

/** Bytes read from the engram per piece of a file. */
const PIECE = 1 << 20

/**
 * See `Cartridge.fromEngram`: opens the engram at `file` (its signature checked with `publicKey`),
 * makes the container with `create` (given the engram's title unless `title` is set), and copies
 * every file into it. A failure closes the new container and leaves the engram closed.
 */
export async function fromEngram<T extends EngramTarget>(file: string, options: { publicKey: Uint8Array; title?: string }, create: (title: string) => Promise<T>): Promise<T> {
  const eng = await Engram.open(file, { publicKey: options.publicKey })
  try {
    const cart = await create(options.title ?? eng.manifest.title)
    try {
      for (const path of await eng.list('/')) {
        const { size } = await eng.stat(path)
        const ws = cart.createWriteStream(path)
        for (let off = 0; off < size; off += PIECE) {
          const piece = await eng.read(path, { offset: off, length: PIECE })
          if (!ws.write(piece)) await new Promise((r) => ws.once('drain', r))
        }
        await new Promise<void>((res, rej) => ws.end(() => res()).once('error', rej))
      }
      return cart
    } catch (err) {
      await cart.close().catch(() => {})
      throw err
    }
  } finally {
    await eng.close()
  }
}
