import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { CodecId, checkCodec, createCodec, type Codec, type CodecName, type CodecOptions, type CodecSet } from '@cartridge/codec'

/**
 * A codec choice: a built-in codec by name with its options (`{ codec: 'zstd', level: 9 }`), or a
 * codec object (`{ codec: zstd({ level: 9 }) }`, or an application codec with an id of 128–255).
 */
export interface CompressionSetting extends CodecOptions {
  codec: CodecName | Codec
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
 * its meta page, spec §3 offsets 65–66), and the codecs made for per-write choices. Application
 * codecs chosen here join the container's {@link CodecSet}, so what it writes it reads back.
 */
export class CodecChoice {
  #current: StoredCodec = NONE
  readonly #made = new Map<string, Codec | undefined>()
  readonly #codecs: CodecSet

  /** @param codecs - the container's decoders, with the application codecs it was opened with */
  constructor(codecs: CodecSet) {
    this.#codecs = codecs
  }

  /** Codec id as the meta page stores it (0: none). */
  get id(): number {
    return this.#current.id
  }

  /** Codec level as the meta page stores it (0: none or the codec's default). */
  get level(): number {
    return this.#current.level
  }

  /** The setting as names: codec (`codec N` for an application codec this container lacks) and level. */
  get setting(): { codec: string; level: number } {
    return { codec: this.#current.id === 0 ? 'none' : this.#codecs.nameOf(this.#current.id), level: this.#current.level }
  }

  /**
   * New writes use `setting` from now on (validated: a bad codec or level throws and changes nothing).
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT`
   */
  set(setting: CompressionSetting): void {
    const codec = this.#make(setting)
    this.#current = codec ? { id: codec.id, level: codec.level, codec } : NONE
  }

  /** Back to the setting a meta page stores (its codec is made on first use). */
  load(meta: { codec: number; codecLevel: number }): void {
    this.#current = meta.codec === 0 ? NONE : { id: meta.codec, level: meta.codecLevel, codec: undefined }
  }

  /**
   * The codec new writes use by default (undefined: raw), made on first use.
   * @throws CartridgeError `CARTRIDGE_UNSUPPORTED` when the stored codec is one this container does not have
   */
  get default(): Codec | undefined {
    const c = this.#current
    if (c.id !== 0 && !c.codec) {
      const app = this.#codecs.application(c.id)
      if (app) c.codec = app
      else if (c.id === CodecId.LZ4) c.codec = createCodec('lz4')
      else if (c.id === CodecId.ZSTD) c.codec = createCodec('zstd', c.level !== 0 ? { level: c.level } : {})
      else {
        throw new CartridgeError(
          ErrorCodes.UNSUPPORTED,
          c.id >= 128
            ? `this container compresses new writes with application codec ${c.id}, which it was not opened with: pass it in the codecs option`
            : `this container compresses new writes with codec ${c.id}, which this version does not know`,
        )
      }
    }
    return c.codec
  }

  /** A codec for one write's choice (a named codec is made once per name and level). */
  for(setting: CompressionSetting): Codec | undefined {
    if (typeof setting === 'object' && setting !== null && typeof setting.codec === 'object') return this.#make(setting)
    const key = `${String(setting?.codec)}:${setting?.level ?? ''}`
    if (!this.#made.has(key)) this.#made.set(key, this.#make(setting))
    return this.#made.get(key)
  }

  #make(setting: CompressionSetting): Codec | undefined {
    if (typeof setting !== 'object' || setting === null) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'compression must be { codec, level? }')
    if (typeof setting.codec === 'string') return createCodec(setting.codec, { level: setting.level })
    if (setting.level !== undefined) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'a codec object carries its own level: make it with the level (zstd({ level }))')
    const codec = checkCodec(setting.codec)
    this.#codecs.register(codec)
    return codec
  }
}
