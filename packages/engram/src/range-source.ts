import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

/** Where an engram's bytes come from: a local file, or (later) HTTP range requests. */
export interface RangeSource {
  /** Total bytes. */
  readonly size: number
  /** Bytes `[offset, offset + length)`; fewer only past the end. */
  read(offset: number, length: number): Promise<Uint8Array>
  /** Bytes fetched so far (what a remote source transferred). */
  readonly bytesRead: number
  close(): Promise<void>
}

/** A local file as a {@link RangeSource} (positional reads). */
export class FileRangeSource implements RangeSource {
  readonly size: number
  bytesRead = 0
  #fd: number

  constructor(path: string) {
    try {
      this.#fd = openSync(path, 'r')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new CartridgeError(code === 'ENOENT' ? ErrorCodes.NOT_FOUND : ErrorCodes.IO, `cannot open ${path}: ${(err as Error).message}`, { path, cause: err })
    }
    const st = fstatSync(this.#fd)
    if (!st.isFile()) {
      closeSync(this.#fd)
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `${path} is not a regular file`, { path })
    }
    this.size = st.size
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.size - offset))
    const out = new Uint8Array(n)
    let done = 0
    while (done < n) {
      const got = readSync(this.#fd, out, done, n - done, offset + done)
      if (got === 0) break
      done += got
    }
    this.bytesRead += done
    return done === n ? out : out.subarray(0, done)
  }

  async close(): Promise<void> {
    if (this.#fd >= 0) closeSync(this.#fd)
    this.#fd = -1
  }
}

/** Bytes in memory as a {@link RangeSource}. */
export class BytesRangeSource implements RangeSource {
  readonly size: number
  bytesRead = 0
  readonly #bytes: Uint8Array

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
    this.size = bytes.length
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = this.#bytes.slice(offset, Math.min(this.size, offset + length))
    this.bytesRead += out.length
    return out
  }

  async close(): Promise<void> {}
}
