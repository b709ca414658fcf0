import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checkCodec } from './codecs.js'
import type { Codec } from './codec.js'

const CHUNK = 65536
const encoder = new TextEncoder()

/** Inputs every codec must round-trip: compressible, incompressible, short, odd-sized. */
function samples(): [string, Uint8Array][] {
  const text = encoder.encode(Array.from({ length: 3000 }, (_, i) => `${i} line of a log, level ${i % 5}\n`).join('')).subarray(0, CHUNK)
  return [
    ['text (64 KiB)', text],
    ['one repeated byte', new Uint8Array(CHUNK).fill(7)],
    ['zeros, one page', new Uint8Array(4096)],
    ['a short run', new Uint8Array(700).fill(1)],
    ['a pattern of odd length', new Uint8Array(4097).map((_, i) => i % 3)],
    ['noise', new Uint8Array(randomBytes(CHUNK))],
    ['one byte', new Uint8Array([42])],
    ['half noise, half zeros', Uint8Array.from({ length: CHUNK }, (_, i) => (i < CHUNK / 2 ? (i * 2654435761) >>> 24 : 0))],
  ]
}

/**
 * The conformance suite of a chunk codec (`Codec`): any codec a container uses, built-in or an
 * application's, must pass it. `make` returns a fresh instance (a reader in another process).
 * Register it with vitest: `runCodecSuite('my codec', () => new MyCodec())`.
 */
export function runCodecSuite(name: string, make: () => Codec): void {
  describe(`codec conformance: ${name}`, () => {
    it('is a usable codec (id, name, level, functions)', () => {
      expect(checkCodec(make())).toBeDefined()
    })

    it('round-trips every sample, into a given buffer and through a fresh instance', () => {
      const c = make()
      for (const [what, data] of samples()) {
        const packed = c.compress(data)
        if (packed === undefined) continue
        expect(packed.length, `${what}: compress returns only something smaller`).toBeLessThan(data.length)
        expect(packed.length, what).toBeGreaterThan(0)
        expect(c.decompress(packed, data.length), what).toEqual(data)
        const into = new Uint8Array(data.length + 16).fill(0xee)
        const out = c.decompress(packed, data.length, into)
        expect(out.length, what).toBe(data.length)
        expect(out, what).toEqual(data)
        expect(make().decompress(packed, data.length), `${what}: a fresh instance`).toEqual(data)
      }
    })

    it('shrinks what is meant to shrink: 64 KiB of one byte', () => {
      const packed = make().compress(new Uint8Array(CHUNK).fill(7))
      expect(packed).toBeDefined()
      expect(packed!.length).toBeLessThan(CHUNK / 4)
    })

    it('does not change its input, and compresses the same input again to something that decodes', () => {
      const c = make()
      const data = samples()[0][1]
      const copy = data.slice()
      const a = c.compress(data)!
      const b = c.compress(data)!
      expect(data).toEqual(copy)
      expect(c.decompress(a, data.length)).toEqual(data)
      expect(c.decompress(b, data.length)).toEqual(data)
    })

    it('never returns output of the wrong length: a wrong length or a damaged stream throws', () => {
      const c = make()
      const data = samples()[0][1]
      const packed = c.compress(data)!
      expect(() => c.decompress(packed, data.length - 1)).toThrow()
      expect(() => c.decompress(packed, data.length + 1)).toThrow()
      expect(() => c.decompress(packed.subarray(0, Math.floor(packed.length / 2)), data.length)).toThrow()
      // Damage anywhere: decoding either throws or yields exactly the length asked for (a CRC outside the codec finds the rest).
      for (let i = 0; i < packed.length; i += Math.max(1, Math.floor(packed.length / 64))) {
        const bad = packed.slice()
        bad[i] ^= 0x5a
        try {
          expect(c.decompress(bad, data.length).length).toBe(data.length)
        } catch (err) {
          expect(err).toBeInstanceOf(Error)
        }
      }
    })
  })
}
