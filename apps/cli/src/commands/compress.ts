import type { CodecName } from 'cartridge'
import { withCartridge } from '../open.js'
import { formatBytes, plural } from '../format.js'
import { progressBar } from '../progress.js'
import { println, type Io } from '../io.js'

export interface CompressFlags {
  codec?: CodecName
  level?: number
  quiet?: boolean
  json?: boolean
}

/**
 * `cartridge compress <file> [--codec zstd] [--level N]`: makes the codec the container's
 * setting for new writes and rewrites every existing file with it (one commit per file, so an
 * interruption loses nothing and running it again goes on). Without `--codec`: the container's
 * codec, or zstd when it has none.
 */
export async function compress(io: Io, file: string, flags: CompressFlags): Promise<number> {
  return withCartridge(file, io, { write: true }, async (cart) => {
    const current = (await cart.info()).compression
    const codec = flags.codec ?? (current.codec === 'none' ? 'zstd' : (current.codec as CodecName))
    const level = flags.level ?? (flags.codec === undefined && current.codec === 'zstd' ? current.level : undefined)
    await cart.enableCompression(codec, level === undefined ? {} : { level })
    const before = await cart.contentStats()
    const bar = progressBar(io, before.logicalBytes, flags.quiet === true, before.files)
    let shown = 0
    const sizes = new Map<string, number>()
    for (const p of await cart.list('/')) sizes.set(p, (await cart.metadata(p)).size)
    const r = await cart.recompress({
      codec, level,
      onProgress: (p) => {
        const size = sizes.get(p.path) ?? 0
        shown += size
        bar?.advance(size, 1)
      },
    })
    bar?.finish()
    const after = await cart.contentStats()
    if (flags.json) {
      println(io.stdout, JSON.stringify({ codec, level: (await cart.info()).compression.level, files: r.files, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter, ratio: after.ratio }))
    } else if (!flags.quiet) {
      println(io.stdout, `compressed ${plural(r.files, 'file')} with ${codec}: ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)} stored (ratio ${after.ratio})`)
    }
    return 0
  })
}
