import { withCartridge } from '../open.js'
import { formatBytes, formatDate } from '../format.js'
import { println, type Io } from '../io.js'

/**
 * `cartridge info <file>`: size, blocks, free space, files, last commit, snapshots and what a
 * vacuum would reclaim; `--json` for scripts.
 */
export async function info(io: Io, file: string, flags: { json?: boolean }): Promise<number> {
  const [i, stats] = await withCartridge(file, io, {}, async (cart) => [await cart.info(), await cart.contentStats()] as const)
  if (flags.json) {
    println(io.stdout, JSON.stringify({ ...i, content: stats }, null, 2))
    return 0
  }
  const codec = i.compression.codec === 'none' ? 'none' : `${i.compression.codec}${i.compression.level ? ` level ${i.compression.level}` : ''}`
  const rows: Array<[string, string]> = [
    ['slug', i.slug],
    ['title', i.title],
    ['path', i.path ?? '-'],
    ['size', `${formatBytes(i.sizeBytes)} (${i.totalBlocks} blocks of ${i.sizeBytes / i.totalBlocks / 1024} KiB)`],
    ['used', `${i.usedBlocks} blocks`],
    ['free', `${i.freeBlocks} blocks (${i.freePercentage}%)`],
    ['files', String(i.fileCount)],
    ['txn', String(i.txn)],
    ['durability', i.durability],
    ['created', formatDate(i.created)],
    ['snapshots', String(i.snapshots)],
    ['encryption', i.encryption ? `${i.encryption.cipher}, opened with a ${i.encryption.keyFrom}` : 'none'],
    ['compression', `${codec} for new writes`],
    ['content', `${formatBytes(stats.logicalBytes)} in ${formatBytes(stats.storedBytes)} stored (ratio ${stats.ratio || 1}; ${stats.compressedChunks} of ${stats.chunks} chunks compressed)`],
    // A few free blocks always remain (room for map pages, holes no block fits): hint only past 1 MiB.
    ['reclaimable', `${formatBytes(i.reclaimableBytes)}${i.reclaimableBytes >= 1 << 20 ? ' (cartridge vacuum)' : ''}`],
  ]
  for (const [k, v] of rows) println(io.stdout, `${`${k}:`.padEnd(13)}${v}`)
  return 0
}
