import { describe, expect, it } from 'vitest'
import { growthTarget, vacuumHeadroom } from './growth-policy.js'

describe('growth policy (spec §15)', () => {
  it('doubles through 3 × 2^k pages while below a step, then adds a step at a time', () => {
    const sizes = [3]
    while (sizes.length < 10) sizes.push(growthTarget(sizes[sizes.length - 1], 1, 16384, 10, 0))
    expect(sizes).toEqual([3, 6, 12, 24, 48, 96, 192, 384, 768, 1536])
    expect(growthTarget(16384, 1, 16384, 10, 0)).toBe(32768)
    expect(growthTarget(12288, 1, 16384, 10, 0)).toBe(24576) // below a step it still doubles (at most total + step)
    expect(growthTarget(24576, 1, 16384, 10, 0)).toBe(24576 + 16384)
  })

  it('sizes a write larger than the container to it, plus headroom of at most one step', () => {
    expect(growthTarget(3, 100, 16384, 10, 0)).toBe(103 + 11)
    expect(growthTarget(3, 100, 16384, 0, 0)).toBe(103)
    expect(growthTarget(20000, 50000, 16384, 90, 0)).toBe(70000 + 16384)
  })

  it('never passes maxPages', () => {
    expect(growthTarget(48, 1, 16384, 10, 50)).toBe(50)
    expect(growthTarget(3, 1000, 16384, 10, 200)).toBe(200)
  })

  it('leaves threshold percent of the file free after a vacuum, at most one step', () => {
    expect(vacuumHeadroom(900, 10, 16384)).toBe(100)
    expect(vacuumHeadroom(900, 0, 16384)).toBe(0)
    expect(vacuumHeadroom(1_000_000, 50, 16384)).toBe(16384)
  })
})
