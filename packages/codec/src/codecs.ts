import { CartridgeError, ErrorCodes } from '@cartridge/core'
import { APPLICATION_CODEC_IDS, CodecId, type Codec, type CodecName, type CodecOptions } from './codec.js'
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

/** LZ4 (fast; no levels): `new CartridgeBuilder().codec(lz4())`. */
export function lz4(): Codec {
  return new Lz4Codec()
}

/** Zstd at `level` 1–22 (default 3): `new CartridgeBuilder().codec(zstd({ level: 9 }))`. */
export function zstd(options: CodecOptions = {}): Codec {
  return new ZstdCodec(options.level)
}

/** Whether `c` is a codec object (as opposed to a codec name or a `{ codec, level }` setting). */
export function isCodec(c: unknown): c is Codec {
  return typeof c === 'object' && c !== null && typeof (c as Codec).compress === 'function'
}

/** Whether `id` is one an application may give its own codec (128–255). */
export function isApplicationCodecId(id: number): boolean {
  return Number.isInteger(id) && id >= APPLICATION_CODEC_IDS.first && id <= APPLICATION_CODEC_IDS.last
}

/**
 * Checks that `c` can serve as a codec: a built-in, or an application codec with an id of
 * 128–255, a name, a level of 0–255, and `compress`/`decompress` functions.
 * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` saying what is wrong
 */
export function checkCodec(c: unknown): Codec {
  const bad = (why: string): never => {
    throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `not a usable codec: ${why}`)
  }
  if (c instanceof Lz4Codec || c instanceof ZstdCodec) return c
  if (typeof c !== 'object' || c === null) return bad('expected an object with id, name, level, compress and decompress')
  const x = c as Partial<Codec>
  if (typeof x.id !== 'number' || !isApplicationCodecId(x.id)) {
    return bad(`id ${String(x.id)}: an application codec takes an id from ${APPLICATION_CODEC_IDS.first} to ${APPLICATION_CODEC_IDS.last} (use lz4() or zstd() for the built-in ones)`)
  }
  if (typeof x.name !== 'string' || x.name.length === 0 || x.name.length > 32) bad(`codec ${x.id} needs a name of 1–32 characters`)
  if (typeof x.level !== 'number' || !Number.isInteger(x.level) || x.level < 0 || x.level > 255) bad(`codec ${x.id}: level must be an integer 0–255`)
  if (typeof x.compress !== 'function' || typeof x.decompress !== 'function') bad(`codec ${x.id} needs compress and decompress functions`)
  return c as Codec
}

/** The name of a codec id (for reports). */
export function codecName(id: number): CodecName | `codec ${number}` {
  return id === CodecId.NONE ? 'none' : id === CodecId.LZ4 ? 'lz4' : id === CodecId.ZSTD ? 'zstd' : `codec ${id}`
}

/**
 * Decoders by codec id, made on first use and kept (a Zstd context is reused across chunks), and
 * the application codecs a container was opened with. One per container: codecs hold scratch
 * buffers and are not shared across threads.
 */
export class CodecSet {
  readonly #byId = new Map<number, Codec>()

  /**
   * @param application - codecs with ids 128–255 this container may read and write
   * @throws CartridgeError `CARTRIDGE_INVALID_ARGUMENT` for a codec that is not usable, or two with one id
   */
  constructor(application: readonly Codec[] = []) {
    if (!Array.isArray(application)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, 'codecs must be an array of codecs')
    for (const c of application) {
      if (c instanceof Lz4Codec || c instanceof ZstdCodec) continue
      checkCodec(c)
      if (this.#byId.has(c.id)) throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `two codecs with id ${c.id}`)
      this.#byId.set(c.id, c)
    }
  }

  /** Adds an application codec a write chose (so this container reads back what it writes). */
  register(c: Codec): void {
    checkCodec(c)
    if (!isApplicationCodecId(c.id)) return
    const known = this.#byId.get(c.id)
    if (known && known !== c && known.name !== c.name) {
      throw new CartridgeError(ErrorCodes.INVALID_ARGUMENT, `codec id ${c.id} is ${known.name} in this container, not ${c.name}`)
    }
    if (!known) this.#byId.set(c.id, c)
  }

  /** The application codec with `id`, if this container has it. */
  application(id: number): Codec | undefined {
    return isApplicationCodecId(id) ? this.#byId.get(id) : undefined
  }

  /** A name for codec `id`: the built-in's, the application codec's, or `codec N`. */
  nameOf(id: number): string {
    return this.application(id)?.name ?? codecName(id)
  }

  /**
   * The codec that reads chunks with codec `id`.
   * @throws CartridgeError `CARTRIDGE_UNSUPPORTED` for an id this version does not know, or whose implementation is missing.
   */
  decoder(id: number): Codec {
    let c = this.#byId.get(id)
    if (!c) {
      if (id === CodecId.LZ4) c = new Lz4Codec()
      else if (id === CodecId.ZSTD) c = new ZstdCodec()
      else if (isApplicationCodecId(id)) throw new CartridgeError(ErrorCodes.UNSUPPORTED, `codec ${id} is an application codec this container was not opened with: pass it in the codecs option`)
      else throw new CartridgeError(ErrorCodes.UNSUPPORTED, `codec ${id} is not supported by this version`)
      this.#byId.set(id, c)
    }
    return c
  }
}
