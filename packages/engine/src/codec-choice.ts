import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { codecName, createCodec, type Codec, type CodecName, type CodecOptions } from '@cartridge/codec'

/** A codec by name and its options, as the container stores it for new writes. */
export interface CompressionSetting extends CodecOptions {
  codec: CodecName
}

/** The codec new writes use: its id and level as the meta page stores them, and the codec once made. */
interface StoredCodec {
  id: number
  level: number
  codec: Codec | undefined
}

const NONE: StoredCodec = { id: 0, level: 0, codec: undefined }

/**
 * Which codec new writes use unless a write says otherwise (the container's setting, stored in
 * its meta page, spec §3 offsets 65–66), and the codecs made for per-write choices.
 */
export class CodecChoice {
  #current: StoredCodec = NONE
  readonly #made = new Map<string, Codec | undefined>()

  /** Codec id as the meta page stores it (0: none). */
  get id(): number {
    return this.#current.id
  }

  /** Codec level as the meta page stores it (0: none or the codec's default). */
  get level(): number {
    return this.#current.level
  }

  /** The setting as names: codec and level. */
  get setting(): { codec: CodecName | `codec ${number}`; level: number } {
    return { codec: codecName(this.#current.id), level: this.#current.level }
  }

  /**
   * New writes use `setting` from now on (validated: a bad codec or level throws and changes nothing).
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT`
   */
  set(setting: CompressionSetting): void {
    if (typeof setting !== 'object' || setting === null) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'compression must be { codec, level? }')
    const codec = createCodec(setting.codec, { level: setting.level })
    this.#current = codec ? { id: codec.id, level: codec.level, codec } : NONE
  }

  /** Back to the setting a meta page stores (its codec is made on first use). */
  load(meta: { codec: number; codecLevel: number }): void {
    this.#current = meta.codec === 0 ? NONE : { id: meta.codec, level: meta.codecLevel, codec: undefined }
  }

  /**
   * The codec new writes use by default (undefined: raw), made on first use.
   * @throws CartridgeError `CARTRIDGE_UNSUPPORTED` when the stored codec is one this version does not know
   */
  get default(): Codec | undefined {
    const c = this.#current
    if (c.id !== 0 && !c.codec) {
      const name = codecName(c.id)
      if (name !== 'lz4' && name !== 'zstd') {
        throw new CartridgeError(ErrorCodes.UNSUPPORTED, `this container compresses new writes with ${name}, which this version does not know`)
      }
      c.codec = createCodec(name, name === 'zstd' && c.level !== 0 ? { level: c.level } : {})
    }
    return c.codec
  }

  /** A codec for one write's choice (made once per name and level). */
  for(setting: CompressionSetting): Codec | undefined {
    const key = `${setting.codec}:${setting.level ?? ''}`
    if (!this.#made.has(key)) this.#made.set(key, createCodec(setting.codec, { level: setting.level }))
    return this.#made.get(key)
  }
}
