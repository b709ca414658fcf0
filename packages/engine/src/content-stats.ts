import { CartridgeError, ErrorCodes } from '@cartridge/core'
import type { Engine } from './engine.js'
import { RecordKind, decodeFileRecord } from './file-record.js'
import { chunkPages } from './chunk-load.js'
import { chunksOf } from './chunk-map.js'

/** What {@link contentStats} reports. */
export interface ContentStats {
  files: number
  /** Bytes of file content (the files' sizes). */
  logicalBytes: number
  /** Bytes the content takes as stored: chunk bytes after compression, and inline bytes. */
  storedBytes: number
  /** Pages the content runs take (what the content costs in the file). */
  contentPages: number
  /** `logicalBytes / storedBytes` (1 when nothing is compressed; 0 for no content). */
  ratio: number
  /** Chunks stored compressed, and all chunks. */
  compressedChunks: number
  chunks: number
}

/** Walks the live catalog's records (and chunk maps) and totals content sizes. */
export function contentStats(e: Engine, signal?: AbortSignal): ContentStats {
  const out: ContentStats = { files: 0, logicalBytes: 0, storedBytes: 0, contentPages: 0, ratio: 0, compressedChunks: 0, chunks: 0 }
  e.catalogFactory.visit(e, e.meta.catalogRoot, {
    onEntry: (key, value) => {
      if (signal?.aborted) throw new CartridgeError(ErrorCodes.ABORTED, 'content stats aborted', { cause: signal.reason })
      const r = decodeFileRecord(value, key)
      out.files++
      out.logicalBytes += r.size
      if (r.kind === RecordKind.INLINE) {
        out.storedBytes += r.size
        return
      }
      for (const c of chunksOf(e, r)) {
        out.chunks++
        if (c.codec !== 0) out.compressedChunks++
        out.storedBytes += c.storedLength
        out.contentPages += chunkPages(c)
      }
    },
  })
  out.ratio = out.storedBytes === 0 ? 0 : Math.round((out.logicalBytes / out.storedBytes) * 1000) / 1000
  return out
}
