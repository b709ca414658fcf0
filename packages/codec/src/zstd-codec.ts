import { createRequire } from 'node:module'
import * as zlib from 'node:zlib'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { CodecId, type Codec } from './codec.js'

/** The part of `zstd-napi`'s low-level binding used here: compress and decompress into given buffers. */
interface ZstdBinding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number }
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number }
}

/** `zlib.zstdCompressSync` and friends (Node ≥ 22.15 / 23.8). */
interface ZlibZstd {
  zstdCompressSync(src: Uint8Array, options: object): Buffer
  zstdDecompressSync(src: Uint8Array, options: object): Buffer
  constants: Record<string, number>
}

/** Which Zstd implementation runs here: Node's built-in one when it has it, else the `zstd-napi` addon. */
export type ZstdEngine = 'node:zlib' | 'zstd-napi'

let napi: ZstdBinding | null | undefined

function zstdNapi(): ZstdBinding | undefined {
  if (napi === undefined) {
    try {
      napi = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding
    } catch {
      napi = null
    }
  }
  return napi ?? undefined
}

const builtin = (): ZlibZstd | undefined => (typeof (zlib as unknown as ZlibZstd).zstdCompressSync === 'function' ? (zlib as unknown as ZlibZstd) : undefined)

/**
 * The Zstd implementation available in this process, or `undefined`. `prefer` picks one where
 * both exist (benchmarks); by default the addon is used when installed (it compresses into a
 * reused buffer), else Node's built-in one.
 */
export function zstdEngine(prefer?: ZstdEngine): ZstdEngine | undefined {
  const hasNapi = zstdNapi() !== undefined
  const hasBuiltin = builtin() !== undefined
  if (prefer === 'node:zlib' && hasBuiltin) return prefer
  if (prefer === 'zstd-napi' && hasNapi) return prefer
  return hasNapi ? 'zstd-napi' : hasBuiltin ? 'node:zlib' : undefined
}

/** Zstd levels accepted. */
export const ZSTD_MIN_LEVEL = 1
export const ZSTD_MAX_LEVEL = 22
export const ZSTD_DEFAULT_LEVEL = 3

/**
 * Zstandard: stored form is one Zstd frame (RFC 8878) holding the chunk. Synchronous, level
 * honoured. Runs on `zstd-napi` (an optional dependency, compiled at install) or on
 * Node's built-in `zlib.zstdCompressSync` (Node ≥ 22.15); both write and read the same frames.
 */
export class ZstdCodec implements Codec {
  readonly id = CodecId.ZSTD
  readonly name = 'zstd' as const
  readonly level: number
  readonly engine: ZstdEngine
  #cctx: { compress(dst: Uint8Array, src: Uint8Array, level: number): number } | undefined
  #dctx: { decompress(dst: Uint8Array, src: Uint8Array): number } | undefined
  #dst = new Uint8Array(0)

  constructor(level = ZSTD_DEFAULT_LEVEL, prefer?: ZstdEngine) {
    if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `zstd level must be an integer from ${ZSTD_MIN_LEVEL} to ${ZSTD_MAX_LEVEL}`)
    }
    const engine = zstdEngine(prefer)
    if (!engine) {
      throw new CartridgeError(
        ErrorCodes.UNSUPPORTED,
        'Zstd needs Node ≥ 22.15 (built in) or the zstd-napi package (npm install zstd-napi; it compiles at install)',
      )
    }
    this.level = level
    this.engine = engine
    if (engine === 'zstd-napi') {
      const b = zstdNapi()!
      this.#cctx = new b.CCtx()
      this.#dctx = new b.DCtx()
    }
  }

  #room(bytes: number): Uint8Array {
    if (this.#dst.length < bytes) this.#dst = new Uint8Array(Math.max(bytes, 65537))
    return this.#dst
  }

  compress(src: Uint8Array): Uint8Array | undefined {
    if (this.#cctx) {
      // Output must be smaller than the input to be worth storing: a buffer of that size
      // either holds the frame or makes Zstd fail, which means "store raw".
      if (src.length < 2) return undefined
      const dst = this.#room(src.length)
      let n: number
      try {
        n = this.#cctx.compress(dst.subarray(0, src.length - 1), src, this.level)
      } catch {
        return undefined
      }
      return dst.slice(0, n)
    }
    const z = builtin()!
    const out = z.zstdCompressSync(src, { params: { [z.constants.ZSTD_c_compressionLevel]: this.level } })
    return out.length < src.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined
  }

  decompress(src: Uint8Array, length: number, into?: Uint8Array): Uint8Array {
    const out = into ? into.subarray(0, length) : new Uint8Array(length)
    let n: number
    try {
      if (this.#dctx) {
        // Exactly `length` bytes of room: a frame that holds more fails ("destination too small").
        n = this.#dctx.decompress(out, src)
      } else {
        const got = builtin()!.zstdDecompressSync(src, { maxOutputLength: length })
        n = got.length
        if (n === length) out.set(got)
      }
    } catch (err) {
      throw new CartridgeError(ErrorCodes.CORRUPT, 'Zstd chunk does not decompress', { cause: err })
    }
    if (n !== length) throw new CartridgeError(ErrorCodes.CORRUPT, `Zstd chunk decompressed to ${n} bytes, not ${length}`)
    return out
  }
}
