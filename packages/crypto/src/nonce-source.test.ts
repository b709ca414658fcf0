import { describe, expect, it } from 'vitest'
import { RandomNonces } from './index.js'

describe('RandomNonces', () => {
  it('hands out distinct 12-byte nonces across pool refills, touching nothing past byte 12', () => {
    const nonces = new RandomNonces(120) // 10 nonces per refill
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const target = new Uint8Array(14).fill(0xee)
      nonces.fill(target)
      expect(target[12]).toBe(0xee)
      expect(target[13]).toBe(0xee)
      seen.add(Buffer.from(target.subarray(0, 12)).toString('hex'))
    }
    expect(seen.size).toBe(1000)
  })

  it('gives two pools different sequences', () => {
    const a = new Uint8Array(12), b = new Uint8Array(12)
    new RandomNonces().fill(a)
    new RandomNonces().fill(b)
    expect(a).not.toEqual(b)
  })
})
