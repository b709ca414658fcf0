import { randomBytes } from 'node:crypto'
import { setU64, viewOf } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { NobleAead, NodeAead, RandomNonces, openChunk, sealChunk, type Aead, type ChunkBinding } from './index.js'
import { CountingNonces, aeads, testKey, testUuid } from './test-fixtures.js'

const key = testKey(30)
const at = (length: number, over: Partial<ChunkBinding> = {}): ChunkBinding => ({ uuid: testUuid(31), chunkIndex: 7, logicalLength: length, codec: 0, ...over })
const sizes = [0, 1, 4096, 65536]

describe.each(aeads.map((a) => [a.name, a] as const))('chunk sealing with %s', (_, aead: Aead) => {
  for (const size of sizes) {
    it(`round-trips ${size} bytes`, () => {
      const plain = new Uint8Array(randomBytes(size))
      const s = sealChunk(plain, at(size), key, aead, new RandomNonces())
      expect(s.ciphertext.length).toBe(size)
      expect(s.nonce.length).toBe(12)
      expect(s.tag.length).toBe(16)
      if (size > 16) expect(s.ciphertext).not.toEqual(plain)
      expect(openChunk(s.ciphertext, s.nonce, s.tag, at(size), key, aead)).toEqual(plain)
    })
  }

  it('authenticates "CRTC" ‖ uuid ‖ u64 index ‖ u32 logical length ‖ u8 codec', () => {
    const plain = new Uint8Array(randomBytes(300))
    const b = at(1000, { chunkIndex: 2 ** 33 + 5, codec: 2 })
    const s = sealChunk(plain, b, key, aead, new RandomNonces())
    const aad = new Uint8Array(33)
    aad.set([0x43, 0x52, 0x54, 0x43])
    aad.set(b.uuid, 4)
    setU64(viewOf(aad), 20, b.chunkIndex)
    viewOf(aad).setUint32(28, 1000, true)
    aad[32] = 2
    expect(new NodeAead().open(key, s.nonce, s.ciphertext, aad, s.tag)).toEqual(plain)
  })

  it('opens only at the index, logical length, codec and container it was sealed for', () => {
    const plain = new Uint8Array(randomBytes(500))
    const s = sealChunk(plain, at(900, { codec: 1 }), key, aead, new RandomNonces())
    expect(openChunk(s.ciphertext, s.nonce, s.tag, at(900, { codec: 1 }), key, aead)).toEqual(plain)
    for (const other of [
      at(900, { codec: 1, chunkIndex: 8 }), at(900, { codec: 1, chunkIndex: 7 + 2 ** 32 }), at(901, { codec: 1 }), at(900, { codec: 2 }),
      at(900, { codec: 1, uuid: testUuid(32) }),
    ]) {
      expect(openChunk(s.ciphertext, s.nonce, s.tag, other, key, aead)).toBeUndefined()
    }
    expect(openChunk(s.ciphertext, s.nonce, s.tag, at(900, { codec: 1 }), testKey(33), aead)).toBeUndefined()
  })

  it('is caught when any byte of ciphertext, nonce or tag changes', () => {
    const plain = new Uint8Array(randomBytes(4096))
    const s = sealChunk(plain, at(4096), key, aead, new RandomNonces())
    const step = aead.name === 'noble' ? 37 : 1
    for (const part of ['ciphertext', 'nonce', 'tag'] as const) {
      for (let i = 0; i < s[part].length; i += part === 'ciphertext' ? step : 1) {
        const bad = { ...s, [part]: Uint8Array.from(s[part]) }
        bad[part][i] ^= 0x80
        expect(openChunk(bad.ciphertext, bad.nonce, bad.tag, at(4096), key, aead), `${part}[${i}]`).toBeUndefined()
      }
    }
    // Chunk records keep the whole tag, but a 12-byte prefix would authenticate as well.
    expect(openChunk(s.ciphertext, s.nonce, s.tag.subarray(0, 12), at(4096), key, aead)).toEqual(plain)
  })

  it('seals and opens in place, and draws fresh nonces', () => {
    const plain = new Uint8Array(randomBytes(65536))
    const buf = Uint8Array.from(plain)
    const nonces = new RandomNonces()
    const s = sealChunk(buf, at(65536), key, aead, nonces, buf)
    expect(s.ciphertext.buffer).toBe(buf.buffer)
    const again = sealChunk(plain, at(65536), key, aead, nonces)
    expect(again.nonce).not.toEqual(s.nonce)
    expect(openChunk(buf, s.nonce, s.tag, at(65536), key, aead, buf)).toEqual(plain)
    expect(buf).toEqual(plain)
  })

  it('refuses bindings that do not fit the AAD', () => {
    const p = new Uint8Array(1)
    for (const b of [at(2 ** 32), at(-1), at(1, { codec: 256 }), at(1, { chunkIndex: -1 }), at(1, { chunkIndex: 1.5 }), at(1, { uuid: new Uint8Array(15) })]) {
      expect(() => sealChunk(p, b, key, aead, new RandomNonces())).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    }
  })
})

describe('chunk sealing across implementations', () => {
  it('is byte-identical given the same nonce, and each opens the other (16- and 12-byte tags)', () => {
    const node = new NodeAead(), noble = new NobleAead()
    for (const size of sizes) {
      const plain = new Uint8Array(randomBytes(size))
      const a = sealChunk(plain, at(size), key, node, new CountingNonces(size))
      const b = sealChunk(plain, at(size), key, noble, new CountingNonces(size))
      expect(a).toEqual(b)
      for (const t of [16, 12]) {
        expect(openChunk(a.ciphertext, a.nonce, a.tag.subarray(0, t), at(size), key, noble), `${size}`).toEqual(plain)
        expect(openChunk(b.ciphertext, b.nonce, b.tag.subarray(0, t), at(size), key, node)).toEqual(plain)
      }
    }
  })
})
