import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { seededBytes } from '@cartridge/core'
import { Cartridge } from './index.js'
import { tempDir } from './testing/helpers.js'

const child = fileURLToPath(new URL('./testing/freeze-child.mjs', import.meta.url))
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))
const MIB = 1 << 20

describe.skipIf(!built)('freezing a large container', () => {
  it('a 1 GiB container freezes with a peak RSS under 200 MiB', async () => {
    const tmp = tempDir()
    try {
      const path = tmp.path('big.cart')
      const cart = await Cartridge.create('big', 'Big', { path, durability: 'none' })
      const piece = seededBytes(MIB, 1)
      for (let i = 0; i < 1024; i++) {
        piece[0] = i & 0xff
        piece[1] = i >> 8
        await cart.write(`/d${i % 16}/${i}.bin`, piece)
      }
      await cart.close()
      const out = tmp.path('big.eng')
      const r = JSON.parse(execFileSync(process.execPath, [child, path, out], { encoding: 'utf8', maxBuffer: 1 << 20 }))
      console.log(`froze ${r.files} files (${(r.bytes / MIB).toFixed(0)} MiB) with a peak RSS of ${(r.peakRss / MIB).toFixed(0)} MiB; opening added ${(r.openRss / MIB).toFixed(0)} MiB`)
      expect(r.bytes).toBe(1024 * MIB)
      expect(statSync(out).size).toBeGreaterThan(1024 * MIB)
      expect(r.peakRss).toBeLessThan(200 * MIB)
      // Opening reads back the last commit (here all 1 GiB) to verify it: into one scratch buffer,
      // not a fresh one per chunk, so the open itself adds little (it added 38–98 MiB before).
      expect(r.openRss).toBeLessThan(24 * MIB)
    } finally {
      tmp.cleanup()
    }
  }, 300_000)
})
