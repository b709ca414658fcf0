import { createRequire } from 'node:module'
import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { CodecId, type Codec } from './codec.js'

interface Lz4Binding {
  compressSync(data: Uint8Array): Uint8Array
  uncompressSync(data: Uint8Array): Uint8Array
}

let binding: Lz4Binding | undefined

function lz4(): Lz4Binding {
  if (binding) return binding
  try {
    binding = createRequire(import.meta.url)('lz4-napi') as Lz4Binding
  } catch (err) {
    throw new CartridgeError(ErrorCodes.UNSUPPORTED, 'LZ4 needs lz4-napi and its binary for this platform (an optional package: install without --omit=optional)', { cause: err })
  }
  return binding
}

/**
 * LZ4 (block format, through `lz4-napi`). Stored form: the decompressed length as u32
 * little-endian, then one LZ4 block (lz4_flex's "size-prepended" block, readable by any LZ4
 * block decoder after the 4-byte prefix). Fast on both sides, no levels.
 */
export class Lz4Codec implements Codec {
  readonly id = CodecId.LZ4
  readonly name = 'lz4' as const
  readonly level = 0

  constructor() {
    lz4()
  }

  compress(src: Uint8Array): Uint8Array | undefined {
    const out = lz4().compressSync(src as Buffer)
    return out.length < src.length ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined
  }

  decompress(src: Uint8Array, length: number, into?: Uint8Array): Uint8Array {
    // The prefix decides how much the binding allocates: check it before the binding sees it.
    if (src.length < 4 || (src[0] | (src[1] << 8) | (src[2] << 16) | (src[3] << 24)) >>> 0 !== length) {
      throw new CartridgeError(ErrorCodes.CORRUPT, `LZ4 chunk does not declare its ${length} bytes`)
    }
    let out: Uint8Array
    try {
      out = lz4().uncompressSync(src)
    } catch (err) {
      throw new CartridgeError(ErrorCodes.CORRUPT, 'LZ4 chunk does not decompress', { cause: err })
    }
    if (out.length !== length) throw new CartridgeError(ErrorCodes.CORRUPT, `LZ4 chunk decompressed to ${out.length} bytes, not ${length}`)
    if (!into) return new Uint8Array(out.buffer, out.byteOffset, out.length)
    into.set(out)
    return into.subarray(0, length)
  }
}
