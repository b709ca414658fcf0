import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { Codec, CodecName, CodecOptions } from '@cartridge/codec'
import { Action } from '@cartridge/iam'
import type { RecompressOptions, RecompressResult } from './cartridge-options.js'
import type { CartridgeCore } from './cartridge-core.js'
import { compressionOption } from './file-ops.js'

// The compression operations of `Cartridge` (spec §24): the codec new writes use, and rewriting
// stored content with another codec.

/** See `Cartridge.enableCompression`. */
export function enableCompression(core: CartridgeCore, codec: CodecName | Codec, options: CodecOptions): Promise<void> {
  return core.refused(Action.ContainerAdmin) ?? core.queue.mutate((e) => e.setCompression({ codec, ...options }))
}

/** See `Cartridge.recompress`; `paths` lists the live files the caller may see. */
export async function recompress(core: CartridgeCore, options: RecompressOptions, paths: () => Promise<string[]>): Promise<RecompressResult> {
  core.allow(Action.ContainerAdmin)
  const setting = options.codec === undefined ? undefined : compressionOption({ codec: options.codec, level: options.level })
  const codec = setting === undefined ? core.engine.defaultCodec : setting === null ? undefined : core.engine.codecFor(setting)
  const all = await paths()
  const result: RecompressResult = { files: 0, bytesBefore: 0, bytesAfter: 0 }
  for (const [i, p] of all.entries()) {
    if (options.signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'recompress aborted', { cause: options.signal.reason })
    const r = await core.queue.mutate((e) => (e.files.record(p) ? e.files.recompressFile(p, codec) : undefined))
    if (r) {
      result.files++
      result.bytesBefore += r.before
      result.bytesAfter += r.after
    }
    options.onProgress?.({ done: i + 1, total: all.length, path: p })
  }
  return result
}
