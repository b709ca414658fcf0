import { describe, expect, it } from 'vitest'
import type { PageStore } from './page-store.js'
import { PAGE_SIZE } from './page-format.js'

/**
 * Conformance suite for {@link PageStore} implementations. Call it inside a vitest file with a
 * factory that returns a fresh, empty, writable store.
 */
export function runPageStoreSuite(name: string, make: () => PageStore | Promise<PageStore>): void {
  const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill)
  describe(`PageStore conformance: ${name}`, () => {
    it('starts empty and grows on write', async () => {
      const s = await make()
      expect(s.pageSize).toBe(PAGE_SIZE)
      expect(s.pageCount()).toBe(0)
      s.write(2, page(7))
      expect(s.pageCount()).toBe(3)
      const out = new Uint8Array(PAGE_SIZE * 3)
      s.read(0, out)
      expect(out.subarray(0, 2 * PAGE_SIZE).every((b) => b === 0)).toBe(true)
      expect(out.subarray(2 * PAGE_SIZE).every((b) => b === 7)).toBe(true)
      s.close()
    })
    it('reads past the end as zeros', async () => {
      const s = await make()
      s.write(0, page(1))
      const out = new Uint8Array(PAGE_SIZE * 2).fill(9)
      s.read(0, out)
      expect(out[0]).toBe(1)
      expect(out[PAGE_SIZE]).toBe(0)
      s.close()
    })
    it('writes and reads multi-page runs', async () => {
      const s = await make()
      const run = new Uint8Array(PAGE_SIZE * 4)
      for (let i = 0; i < run.length; i++) run[i] = (i * 31) & 0xff
      s.write(5, run)
      s.sync()
      const out = new Uint8Array(run.length)
      s.read(5, out)
      expect(out).toEqual(run)
      s.close()
    })
    it('resizes both ways', async () => {
      const s = await make()
      s.resize(10)
      expect(s.pageCount()).toBe(10)
      s.write(9, page(3))
      s.resize(4)
      expect(s.pageCount()).toBe(4)
      s.resize(10)
      const out = new Uint8Array(PAGE_SIZE)
      s.read(9, out)
      expect(out.every((b) => b === 0)).toBe(true)
      s.close()
    })
    it('prewrite (when it has one) zeros pages inside the store and never grows it', async () => {
      const s = await make()
      if (!s.prewrite) return s.close()
      s.write(0, new Uint8Array(PAGE_SIZE * 6).fill(5))
      s.prewrite(2, 2)
      s.prewrite(5, 10)
      s.prewrite(9, 3)
      expect(s.pageCount()).toBe(6)
      const out = new Uint8Array(PAGE_SIZE * 6)
      s.read(0, out)
      const pageOf = (i: number) => Math.floor(i / PAGE_SIZE)
      expect(out.every((b, i) => b === ([2, 3, 5].includes(pageOf(i)) ? 0 : 5))).toBe(true)
      s.close()
    })
    it('refuses every use after close with CARTRIDGE_CLOSED; closing again is harmless', async () => {
      const s = await make()
      s.write(0, page(1))
      s.close()
      s.close()
      const closed = expect.objectContaining({ code: 'CARTRIDGE_CLOSED' })
      expect(() => s.pageCount()).toThrow(closed)
      expect(() => s.read(0, new Uint8Array(PAGE_SIZE))).toThrow(closed)
      expect(() => s.write(0, page(2))).toThrow(closed)
      expect(() => s.sync()).toThrow(closed)
      expect(() => s.resize(3)).toThrow(closed)
      if (s.prewrite) expect(() => s.prewrite!(0, 1)).toThrow(closed)
      if (s.prewrite) expect(() => s.prewrite!(5, 1)).toThrow(closed) // past the end: nothing to write, still refused
    })
  })
}
