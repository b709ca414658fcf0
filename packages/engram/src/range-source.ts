import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { CartridgeError, ErrorCodes } from '@cartridge/core'

/** Where an engram's bytes come from: a local file, or HTTP range requests (`HttpRangeSource`). */
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

/**
 * An engram over HTTP: every read is one `Range` request (the server must answer `206` with the
 * exact range, as nginx, Caddy and object stores do). `bytesRead` counts the body bytes received.
 */
export class HttpRangeSource implements RangeSource {
  readonly url: string
  readonly size: number
  bytesRead = 0

  private constructor(url: string, size: number) {
    this.url = url
    this.size = size
  }

  /** Learns the size with a one-byte range request. */
  static async open(url: string): Promise<HttpRangeSource> {
    const res = await fetchRange(url, 0, 1)
    const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]
    await res.arrayBuffer()
    if (total === undefined) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `${url} does not answer range requests (no Content-Range)`)
    const source = new HttpRangeSource(url, Number(total))
    source.bytesRead = 1
    return source
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.size - offset))
    if (n === 0) return new Uint8Array(0)
    const res = await fetchRange(this.url, offset, n)
    const body = new Uint8Array(await res.arrayBuffer())
    this.bytesRead += body.length
    if (body.length !== n) throw new CartridgeError(ErrorCodes.IO, `${this.url} answered ${body.length} bytes for a range of ${n}`)
    return body
  }

  async close(): Promise<void> {}
}

async function fetchRange(url: string, offset: number, length: number): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, { headers: { range: `bytes=${offset}-${offset + length - 1}` } })
  } catch (err) {
    throw new CartridgeError(ErrorCodes.IO, `cannot fetch ${url}: ${(err as Error).message}`, { cause: err })
  }
  if (res.status === 404) throw new CartridgeError(ErrorCodes.NOT_FOUND, `no engram at ${url} (404)`)
  if (res.status !== 206) {
    await res.body?.cancel()
    throw new CartridgeError(res.status === 200 ? ErrorCodes.UNSUPPORTED : ErrorCodes.IO, `${url} answered ${res.status} to a range request${res.status === 200 ? ' (no range support)' : ''}`)
  }
  return res
}
