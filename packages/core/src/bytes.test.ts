import { crc32 as zlibCrc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { crc32, crc32Implementation } from './bytes.js'
import { seededBytes } from './seeded-random.js'

describe('crc32', () => {
  it('computes the IEEE CRC-32 of known inputs', () => {
    expect(crc32(new Uint8Array(0))).toBe(0)
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(4096))).toBe(zlibCrc32(new Uint8Array(4096)) >>> 0)
  })

  it('matches zlib at every size, alignment and running value', () => {
    const data = seededBytes(200_000, 7)
    for (const [len, off] of [[1, 0], [255, 1], [256, 3], [257, 5], [4095, 7], [4096, 0], [65_536, 13], [65_537, 1], [199_000, 999]]) {
      const v = data.subarray(off, off + len)
      expect(crc32(v)).toBe(zlibCrc32(v) >>> 0)
      expect(crc32(v, 0xdeadbeef)).toBe(zlibCrc32(v, 0xdeadbeef) >>> 0)
      // Running checksums compose across any split.
      const cut = len >> 1
      expect(crc32(v.subarray(cut), crc32(v.subarray(0, cut)))).toBe(crc32(v))
    }
  })

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('uses the SIMD implementation where its binary exists', () => {
    expect(crc32Implementation).toBe('simd')
  })
})
