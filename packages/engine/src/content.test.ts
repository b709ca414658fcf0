import { describe, expect, it } from 'vitest'
import { MemoryPageStore, MemoryPageIO } from '@cartridge/pager'
import { readContent } from './content-read.js'
import { writeContent } from './content-write.js'
import { type ContentIO } from './content-io.js'
import { decodeFileRecord, encodeFileRecord, RecordKind } from './file-record.js'

function io(): ContentIO {
  const mem = new MemoryPageIO()
  const store = new MemoryPageStore()
  return Object.assign(mem, { store, freeRun: () => {} })
}

describe('content chunks', () => {
  it('round-trips inline, direct and chunk-map records', () => {
    const c = io()
    for (const size of [0, 512, 513, 65_536 * 4, 65_536 * 4 + 1, 65_536 * 90 + 5]) {
      const data = new Uint8Array(size).map((_, i) => i * 13)
      const rec = decodeFileRecord(encodeFileRecord(writeContent(c, data, 1, 2)), '/f')
      expect(rec.kind).toBe(size <= 512 ? RecordKind.INLINE : size <= 65_536 * 4 ? RecordKind.DIRECT : RecordKind.MAP)
      ;(c as unknown as MemoryPageIO).commit()
      expect(Buffer.from(readContent(c, rec, '/f', 0, size)).equals(Buffer.from(data))).toBe(true)
      if (size > 70_000) expect(Buffer.from(readContent(c, rec, '/f', 65_000, 1_000)).equals(Buffer.from(data.subarray(65_000, 66_000)))).toBe(true)
    }
  })

  it('a record whose chunk lengths cannot be right is CARTRIDGE_CORRUPT, not a hang', () => {
    const c = io()
    const rec = writeContent(c, new Uint8Array(150_000), 1, 2)
    rec.chunks![0] = { ...rec.chunks![0], storedLength: 0, logicalLength: 0 }
    expect(() => readContent(c, rec, '/f', 0, 150_000)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
  })
})
