import { constants, deflateRawSync, inflateRawSync } from 'node:zlib'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { Codec } from '@cartridge/codec'

/**
 * An application codec (raw DEFLATE through `node:zlib`, id 200) as a user would write one: the
 * container suites run on it to show that the codec seam carries a codec the library does not know.
 */
export class DeflateCodec implements Codec {
  readonly id = 200
  readonly name = 'deflate'
  readonly level: number

  constructor(level = 6) {
    this.level = level
  }

  compress(src: Uint8Array): Uint8Array | undefined {
    const out = deflateRawSync(src, { level: this.level })
    return out.length < src.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined
  }

  decompress(src: Uint8Array, length: number, into?: Uint8Array): Uint8Array {
    let out: Buffer
    try {
      // One byte more than asked for shows a stream that holds more; never more than that is made.
      out = inflateRawSync(src, { maxOutputLength: length + 1, finishFlush: constants.Z_SYNC_FLUSH })
    } catch (err) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `deflate stream does not decode: ${(err as Error).message}`, { cause: err })
    }
    if (out.length !== length) throw new CartridgeError(ErrorCodes.CORRUPT, `deflate stream holds ${out.length} bytes, not ${length}`)
    if (!into) return new Uint8Array(out.buffer, out.byteOffset, out.length)
    into.set(out)
    return into.subarray(0, length)
  }
}
