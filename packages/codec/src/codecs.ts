import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { CodecId, type Codec, type CodecName, type CodecOptions } from './codec.js'
import { Lz4Codec } from './lz4-codec.js'
import { ZstdCodec } from './zstd-codec.js'

/**
 * A codec by name, for compressing new chunks. `'none'` gives `undefined` (store raw).
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for an unknown name or a bad level,
 *   `CARTRIDGE_UNSUPPORTED` when the codec's implementation is not installed.
 */
export function createCodec(name: CodecName, options: CodecOptions = {}): Codec | undefined {
  switch (name) {
    case 'none':
      if (options.level !== undefined) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, "compression 'none' takes no level")
      return undefined
    case 'lz4':
      if (options.level !== undefined) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'lz4 has no levels (use zstd for a level)')
      return new Lz4Codec()
    case 'zstd':
      return new ZstdCodec(options.level)
    default:
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `unknown compression ${JSON.stringify(name)}: use 'none', 'lz4' or 'zstd'`)
  }
}

/** The name of a codec id (for reports). */
export function codecName(id: number): CodecName | `codec ${number}` {
  return id === CodecId.NONE ? 'none' : id === CodecId.LZ4 ? 'lz4' : id === CodecId.ZSTD ? 'zstd' : `codec ${id}`
}

/**
 * Decoders by codec id, made on first use and kept (a Zstd context is reused across chunks).
 * One per container: codecs hold scratch buffers and are not shared across threads.
 */
export class CodecSet {
  readonly #byId = new Map<number, Codec>()

  /**
   * The codec that reads chunks with codec `id`.
   * @throws CartridgeError `CARTRIDGE_UNSUPPORTED` for an id this version does not know, or whose implementation is missing.
   */
  decoder(id: number): Codec {
    let c = this.#byId.get(id)
    if (!c) {
      if (id === CodecId.LZ4) c = new Lz4Codec()
      else if (id === CodecId.ZSTD) c = new ZstdCodec()
      else throw new CartridgeError(ErrorCodes.UNSUPPORTED, `codec ${id} is not supported by this version`)
      this.#byId.set(id, c)
    }
    return c
  }
}
