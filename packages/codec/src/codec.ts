/**
 * Codec ids as stored in a chunk record (byte 28). `0` is raw: the stored bytes are the content.
 * Ids never change meaning; a reader that meets an id it does not know refuses that file's content
 * with `CARTRIDGE_UNSUPPORTED`.
 */
export const CodecId = { NONE: 0, LZ4: 1, ZSTD: 2 } as const
export type CodecId = (typeof CodecId)[keyof typeof CodecId]

/**
 * Ids an application may give its own codecs (spec §24): 128–255. No built-in codec will ever
 * use one; 3–127 are reserved for codecs the format may define.
 */
export const APPLICATION_CODEC_IDS = { first: 128, last: 255 } as const

/** Names accepted where a codec is chosen. */
export type CodecName = 'none' | 'lz4' | 'zstd'

/**
 * A synchronous compressor of one chunk at a time. The engine compresses inside a commit, so
 * every call is synchronous; chunks are at most 64 KiB.
 *
 * Besides LZ4 and Zstd, an application may bring its own: give it an id from
 * {@link APPLICATION_CODEC_IDS}, check it with `runCodecSuite` of `@cartridge/codec/test`, and
 * pass it in the container's `codecs` option wherever the container is opened (chunks it wrote
 * cannot be read without it: `CARTRIDGE_UNSUPPORTED` naming the id).
 */
export interface Codec {
  /** The id stored in chunk records: 1 LZ4, 2 Zstd, 128–255 an application's codec. */
  readonly id: number
  /** A short name for reports (`'lz4'`, `'zstd'`, or the application's). */
  readonly name: string
  /** Compression level in use (Zstd 1–22; LZ4 has none and reports 0). */
  readonly level: number
  /**
   * Compresses `src`. Returns `undefined` when the result would not be smaller than `src` (the
   * caller then stores the chunk raw), so incompressible data costs one failed attempt, never space.
   */
  compress(src: Uint8Array): Uint8Array | undefined
  /**
   * Decompresses `src`, which must yield exactly `length` bytes (into `into` when given, which
   * must hold `length` bytes). Never allocates more than `length` bytes of output, whatever `src` claims.
   * @throws CartridgeError `CARTRIDGE_CORRUPT` when `src` is not a valid stream of `length` bytes.
   */
  decompress(src: Uint8Array, length: number, into?: Uint8Array): Uint8Array
}

/** Options of a codec. */
export interface CodecOptions {
  /** Zstd level, 1 (fastest) to 22 (smallest); default 3. LZ4 takes no level. */
  level?: number
}
