import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CodecId, CodecSet, Lz4Codec, ZstdCodec, checkCodec, createCodec, isApplicationCodecId, lz4, zstd, zstdEngine, type Codec } from './index.js'
import { runCodecSuite } from './test.js'

const text = new TextEncoder().encode('Cartridge keeps files in one file. '.repeat(2000)).subarray(0, 65536)
const samples: [string, Uint8Array][] = [
  ['text', text],
  ['one repeated byte', new Uint8Array(65536).fill(7)],
  ['short', new Uint8Array(700).fill(1)],
  ['tail of 1 byte pattern', new Uint8Array(4097).map((_, i) => i % 3)],
]
const codecs = (): Codec[] => [new Lz4Codec(), new ZstdCodec(1), new ZstdCodec(3), new ZstdCodec(19)]

describe('codecs', () => {
  for (const [name, data] of samples) {
    it(`round-trips ${name} through every codec, into a given buffer too`, () => {
      for (const c of codecs()) {
        const packed = c.compress(data)!
        expect(packed, c.name).toBeDefined()
        expect(packed.length).toBeLessThan(data.length)
        expect(c.decompress(packed, data.length)).toEqual(data)
        const into = new Uint8Array(65536 + 16)
        expect(c.decompress(packed, data.length, into)).toEqual(data)
        // A fresh instance (a reader in another process) reads it too.
        expect(new CodecSet().decoder(c.id).decompress(packed, data.length)).toEqual(data)
      }
    })
  }

  it('gives up on data that does not shrink', () => {
    const noise = randomBytes(65536)
    for (const c of codecs()) expect(c.compress(noise), c.name).toBeUndefined()
    for (const c of codecs()) expect(c.compress(new Uint8Array(1)), c.name).toBeUndefined()
  })

  it('honours the Zstd level', () => {
    const corpus = new TextEncoder().encode(Array.from({ length: 4000 }, (_, i) => `line ${i * 7919 % 1000}: ${(i * 31) % 97} ok\n`).join('')).subarray(0, 65536)
    const l1 = new ZstdCodec(1).compress(corpus)!.length
    const l19 = new ZstdCodec(19).compress(corpus)!.length
    expect(l19).toBeLessThan(l1)
  })

  it('refuses bad names and levels with stable codes', () => {
    expect(() => createCodec('gzip' as never)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => createCodec('zstd', { level: 0 })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => createCodec('zstd', { level: 23 })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(() => createCodec('lz4', { level: 3 })).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    expect(createCodec('none')).toBeUndefined()
    expect(() => new CodecSet().decoder(9)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_UNSUPPORTED' }))
    expect(new CodecSet().decoder(CodecId.LZ4).name).toBe('lz4')
  })

  it('treats forged streams as damage, never as more or other data', () => {
    const lz = new Lz4Codec()
    const packed = lz.compress(text)!
    // A prefix claiming 4 GiB would make the binding allocate it: refused before that.
    const huge = packed.slice()
    huge.set([0xff, 0xff, 0xff, 0xff], 0)
    expect(() => lz.decompress(huge, text.length)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    expect(() => lz.decompress(packed, text.length - 1)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    expect(() => lz.decompress(packed.subarray(0, 20), text.length)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    const z = new ZstdCodec()
    const frame = z.compress(text)!
    expect(() => z.decompress(frame, text.length - 1)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    expect(() => z.decompress(frame, text.length + 1)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    expect(() => z.decompress(frame.subarray(0, frame.length - 3), text.length)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    expect(() => z.decompress(randomBytes(200), text.length)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
    // Two frames back to back hold more than the record says.
    const two = new Uint8Array([...frame, ...frame])
    expect(() => z.decompress(two, text.length)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_CORRUPT' }))
  })

  it.runIf(zstdEngine('node:zlib') === 'node:zlib' && zstdEngine('zstd-napi') === 'zstd-napi')('reads the frames of the other Zstd engine', () => {
    const a = new ZstdCodec(5, 'node:zlib')
    const b = new ZstdCodec(5, 'zstd-napi')
    expect(b.decompress(a.compress(text)!, text.length)).toEqual(text)
    expect(a.decompress(b.compress(text)!, text.length)).toEqual(text)
  })
})

runCodecSuite('lz4', () => lz4())
runCodecSuite('zstd level 1', () => zstd({ level: 1 }))
runCodecSuite('zstd level 19', () => zstd({ level: 19 }))

/** An application codec over LZ4 (what a user's own codec looks like to the library). */
const appCodec = (id = 200, name = 'app-lz4'): Codec => {
  const inner = lz4()
  return { id, name, level: 0, compress: (src) => inner.compress(src), decompress: (src, length, into) => inner.decompress(src, length, into) }
}
runCodecSuite('an application codec', () => appCodec())

describe('application codecs', () => {
  it('take ids 128–255 only, and must be whole codecs', () => {
    expect(checkCodec(appCodec(128))).toBeDefined()
    expect(checkCodec(appCodec(255))).toBeDefined()
    expect(checkCodec(lz4())).toBeDefined()
    for (const bad of [appCodec(3), appCodec(127), appCodec(256), appCodec(1), { ...appCodec(), name: '' }, { ...appCodec(), level: -1 }, { ...appCodec(), compress: undefined }, null, 'zstd']) {
      expect(() => checkCodec(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    }
    expect(isApplicationCodecId(128) && !isApplicationCodecId(127) && !isApplicationCodecId(2.5)).toBe(true)
  })

  it('decode where the set was given them, and are UNSUPPORTED naming the id where it was not', () => {
    const c = appCodec(201)
    const packed = c.compress(text)!
    expect(new CodecSet([c]).decoder(201).decompress(packed, text.length)).toEqual(text)
    expect(new CodecSet([c]).nameOf(201)).toBe('app-lz4')
    expect(new CodecSet().nameOf(201)).toBe('codec 201')
    expect(() => new CodecSet().decoder(201)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_UNSUPPORTED', message: expect.stringContaining('codec 201') }))
    // Built-ins in the list are fine (they are known anyway); two codecs with one id are not.
    expect(new CodecSet([lz4(), c]).decoder(CodecId.LZ4).name).toBe('lz4')
    expect(() => new CodecSet([c, appCodec(201, 'other')])).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    // A codec chosen for a write joins the set; another one under a taken id is refused.
    const set = new CodecSet()
    set.register(c)
    expect(set.decoder(201)).toBe(c)
    expect(() => set.register(appCodec(201, 'other'))).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
  })
})
