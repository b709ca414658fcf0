import { afterAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { runCodecSuite } from '@cartridge/codec/test'
import { Cartridge, CartridgeBuilder, NobleAead, aesGcm, lz4, zstd, type Codec } from './index.js'
import { DeflateCodec } from './testing/deflate-codec.js'
import { bytes, sameBytes, tempDir } from './testing/helpers.js'

// The codec and cipher seams: an application codec (raw DEFLATE, id 200, testing/deflate-codec.ts)
// passes the codec suite, runs the container suite (layer set 'app-codec' in layer-suite.test.ts),
// and here: is used for writes, is needed to read them back, and is named when it is missing.

const tmp = tempDir('cart-codec-')
afterAll(() => tmp.cleanup())
let n = 0
const nextPath = () => tmp.path(`c${n++}.cart`)
const text = (i: number) => new TextEncoder().encode(`record ${i}: the same words again and again; `.repeat(200 + i))

runCodecSuite('DeflateCodec (application codec, id 200)', () => new DeflateCodec())

/** Counts the chunks a codec compressed. */
function counting(c: Codec): Codec & { packed: number } {
  const spy = {
    id: c.id, name: c.name, level: c.level, packed: 0,
    compress: (src: Uint8Array) => {
      const out = c.compress(src)
      if (out) spy.packed++
      return out
    },
    decompress: (src: Uint8Array, length: number, into?: Uint8Array) => c.decompress(src, length, into),
  }
  return spy
}

describe('application codecs in a container', () => {
  it('writes with the codec, reads back with it, and without it names the codec on reads and writes while everything else works', async () => {
    const path = nextPath()
    const codec = counting(new DeflateCodec())
    const cart = await new CartridgeBuilder().slug('app').path(path).codec(codec).build()
    const files = new Map<string, Uint8Array>()
    for (let i = 0; i < 40; i++) files.set(`/logs/${i}.txt`, text(i))
    for (const [p, d] of files) await cart.write(p, d)
    await cart.write('/raw.bin', bytes(30_000, 5), { compression: 'none' })
    expect(codec.packed).toBeGreaterThanOrEqual(40)
    expect((await cart.info()).compression).toEqual({ codec: 'deflate', level: 6 })
    await cart.close()

    // With the codec: everything as written; new writes use it; check decodes every chunk.
    const again = await Cartridge.open(path, { codecs: [new DeflateCodec()] })
    for (const [p, d] of files) expect(sameBytes(await again.read(p), d), p).toBe(true)
    await again.write('/logs/later.txt', text(99))
    expect((await again.check({ data: true })).ok).toBe(true)
    await again.close()

    // Without it: the container opens; the raw file and the listing work; compressed content and
    // writes in the container's codec are CARTRIDGE_UNSUPPORTED naming codec 200 (and the path).
    const without = await Cartridge.open(path)
    expect((await without.info()).compression.codec).toBe('codec 200')
    expect(sameBytes(await without.read('/raw.bin'), bytes(30_000, 5))).toBe(true)
    expect((await without.list('/logs')).length).toBe(41)
    const readErr = await without.read('/logs/3.txt').catch((e: unknown) => e)
    expect(readErr).toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED', path: '/logs/3.txt' })
    expect((readErr as Error).message).toContain('200')
    const writeErr = await without.write('/logs/new.txt', text(5)).catch((e: unknown) => e)
    expect(writeErr).toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    expect((writeErr as Error).message).toContain('200')
    // A write that says how to store itself, and a delete, need no codec.
    await without.write('/plain.txt', text(1), { compression: 'zstd' })
    await without.delete('/logs/0.txt')
    await without.close()

    // The failed write changed nothing; the others are there.
    const last = await Cartridge.open(path, { readOnly: true, codecs: [new DeflateCodec()] })
    expect(await last.exists('/logs/new.txt')).toBe(false)
    expect(await last.exists('/logs/0.txt')).toBe(false)
    expect(sameBytes(await last.read('/plain.txt'), text(1))).toBe(true)
    expect(sameBytes(await last.read('/logs/later.txt'), text(99))).toBe(true)
    for (const [p, d] of files) if (p !== '/logs/0.txt') expect(sameBytes(await last.read(p), d)).toBe(true)
    await last.close()
  })

  it('one write may choose an application codec in a container of another codec; enableCompression and recompress take one', async () => {
    const path = nextPath()
    const cart = await Cartridge.create('mixed', 'm', { path, compression: { codec: 'zstd' } })
    await cart.write('/z.txt', text(1))
    await cart.write('/d.txt', text(2), { compression: new DeflateCodec(9) })
    expect(sameBytes(await cart.read('/d.txt'), text(2))).toBe(true)
    await cart.enableCompression(new DeflateCodec(1))
    await cart.write('/d1.txt', text(3))
    await cart.write('/r.txt', text(7), { compression: 'none' })
    const re = await cart.recompress({ codec: new DeflateCodec(9) })
    expect(re.files).toBeGreaterThanOrEqual(4)
    expect(re.bytesAfter).toBeLessThan(re.bytesBefore)
    expect((await cart.info()).compression).toEqual({ codec: 'deflate', level: 1 })
    await cart.close()
    const without = await Cartridge.open(path, { readOnly: true })
    await expect(without.read('/z.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    await expect(without.read('/r.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    await expect(without.read('/d.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    await expect(without.read('/d1.txt')).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    await without.close()
    const withIt = await Cartridge.open(path, { readOnly: true, codecs: [new DeflateCodec()] })
    expect(sameBytes(await withIt.read('/d.txt'), text(2))).toBe(true)
    expect(sameBytes(await withIt.read('/d1.txt'), text(3))).toBe(true)
    expect(sameBytes(await withIt.read('/r.txt'), text(7))).toBe(true)
    expect(sameBytes(await withIt.read('/z.txt'), text(1))).toBe(true)
    await withIt.close()
  })

  it('refuses codecs that are not usable, before anything is written', async () => {
    const inner = lz4()
    const like = (over: Partial<Codec>): Codec => ({ id: 150, name: 'x', level: 0, compress: (s) => inner.compress(s), decompress: (s, l, i) => inner.decompress(s, l, i), ...over })
    for (const bad of [like({ id: 2 }), like({ id: 64 }), like({ id: 300 }), like({ name: '' }), like({ compress: undefined as never })]) {
      const path = nextPath()
      await expect(Cartridge.create('bad', 'b', { path, compression: { codec: bad } })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
      await expect(Cartridge.create('bad', 'b', { path, codecs: [bad] })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    }
    // A codec object carries its level.
    await expect(Cartridge.create('bad', 'b', { path: nextPath(), compression: { codec: zstd(), level: 5 } })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    // Two codecs under one id.
    await expect(Cartridge.create('bad', 'b', { path: nextPath(), codecs: [new DeflateCodec(), { ...like({}), id: 200 }] })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    const cart = await Cartridge.create('ok', 'o', { path: nextPath() })
    await expect(cart.write('/f', text(1), { compression: like({ id: 7 }) })).rejects.toMatchObject({ code: 'CARTRIDGE_INVALID_ARGUMENT' })
    expect(await cart.exists('/f')).toBe(false)
    await cart.close()
  })
})

describe('application codecs through rewrites of the whole container', () => {
  it('enableEncryption and vacuum keep the application codec, its content and its snapshots', async () => {
    const path = nextPath()
    const cart = await Cartridge.create('reseal', 'r', { path, compression: { codec: new DeflateCodec() } })
    for (let i = 0; i < 12; i++) await cart.write(`/f${i}`, text(i))
    await cart.createSnapshot('before')
    for (let i = 0; i < 6; i++) await cart.delete(`/f${i}`)
    await cart.vacuum()
    await cart.enableEncryption({ passphrase: 'pw', scrypt: { logN: 10, r: 8, p: 1 } })
    expect((await cart.info()).compression).toEqual({ codec: 'deflate', level: 6 })
    await cart.write('/after', text(50))
    expect((await cart.check({ data: true })).ok).toBe(true)
    await cart.close()
    const without = await Cartridge.open(path, { passphrase: 'pw' })
    await expect(without.read('/f8')).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    await expect(without.snapshot('before').read('/f2')).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    // A rewrite needs every codec the content uses: refused, and nothing changes.
    await expect(without.rekey()).rejects.toMatchObject({ code: 'CARTRIDGE_UNSUPPORTED' })
    await without.close()
    const again = await Cartridge.open(path, { passphrase: 'pw', codecs: [new DeflateCodec()] })
    for (let i = 6; i < 12; i++) expect(sameBytes(await again.read(`/f${i}`), text(i))).toBe(true)
    for (let i = 0; i < 6; i++) expect(sameBytes(await again.snapshot('before').read(`/f${i}`), text(i))).toBe(true)
    expect(sameBytes(await again.read('/after'), text(50))).toBe(true)
    await again.rekey()
    expect(sameBytes(await again.read('/f7'), text(7))).toBe(true)
    await again.close()
  })
})

describe('builder: codec and cipher objects', () => {
  it('.codec(zstd({ level })) and .cipher(aesGcm(key)) build an encrypted Zstd container that opens with the key', async () => {
    const path = nextPath()
    const key = new Uint8Array(randomBytes(32))
    const cart = await new CartridgeBuilder().slug('sealed').path(path).codec(zstd({ level: 9 })).cipher(aesGcm(key)).build()
    await cart.write('/a.txt', text(4))
    const info = await cart.info()
    expect(info.compression).toEqual({ codec: 'zstd', level: 9 })
    expect(info.encryption).toEqual({ cipher: 'aes-256-gcm', keyFrom: 'key' })
    await cart.close()
    await expect(Cartridge.open(path)).rejects.toMatchObject({ code: 'CARTRIDGE_BAD_KEY' })
    const again = await Cartridge.open(path, { key })
    expect(sameBytes(await again.read('/a.txt'), text(4))).toBe(true)
    await again.close()
  })

  it('.cipher(aesGcm({ passphrase }, { aead })) uses that AES-GCM implementation: the same bytes open with the default one', async () => {
    const path = nextPath()
    const cart = await new CartridgeBuilder().slug('noble').path(path).codec(lz4())
      .cipher(aesGcm({ passphrase: 'correct horse', scrypt: { logN: 10, r: 8, p: 1 } }, { aead: new NobleAead() })).build()
    await cart.write('/n.txt', text(6))
    expect((await cart.info()).encryption).toEqual({ cipher: 'aes-256-gcm', keyFrom: 'passphrase' })
    await cart.close()
    const again = await Cartridge.open(path, { passphrase: 'correct horse' })
    expect(sameBytes(await again.read('/n.txt'), text(6))).toBe(true)
    await again.close()
  })

  it('.cipher refuses what is not a cipher setting', () => {
    expect(() => new CartridgeBuilder().cipher(undefined as never)).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
  })
})
