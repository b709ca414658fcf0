import { describe, expect, it } from 'vitest'
import { AllocatorPageIO, runAllocatorSuite } from './test.js'
import { BitmapAllocator, PAGES_PER_LEAF } from './bitmap-allocator.js'
import { bitmapAllocator } from './bitmap-allocator-factory.js'

runAllocatorSuite('BitmapAllocator', bitmapAllocator)

describe('BitmapAllocator', () => {
  it('a new 3-page container persists its map in page 2', () => {
    const a = BitmapAllocator.create(3)
    const io = new AllocatorPageIO(a)
    const root = a.flush(io)
    expect(root.page).toBe(2)
    expect(a.freePages).toBe(0)
  })

  it('spans several leaves under a pointer tree and stays consistent', () => {
    const total = PAGES_PER_LEAF * 3 + 100
    const a = BitmapAllocator.create(total)
    const io = new AllocatorPageIO(a)
    a.flush(io)
    io.commit()
    const s = a.allocate(PAGES_PER_LEAF + 50)!
    const root = a.flush(io)
    io.commit()
    expect(root.aux).toBe(1)
    const b = BitmapAllocator.load(io.mem, root, total)
    expect(b.isUsed(s) && b.isUsed(s + PAGES_PER_LEAF + 49)).toBe(true)
    expect(b.freePages).toBe(a.freePages)
  })

  it('refuses to free a page that is not in use', () => {
    const a = BitmapAllocator.create(10)
    expect(() => a.free(5, 1, { reusable: true })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
  })
})
