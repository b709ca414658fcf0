import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { NobleAead, NodeAead, defaultAead, type Aead } from './index.js'
import { aeads, hex } from './test-fixtures.js'

// AES-256-GCM, 96-bit IVs. Test cases 13, 14 and 16 of McGrew & Viega, "The Galois/Counter Mode
// of Operation (GCM)", Appendix B (the NIST GCM submission); and one CAVP gcmEncryptExtIV256
// vector (NIST CAVP GCMVS, Keylen 256, IVlen 96, PTlen 128, AADlen 160, Taglen 128).
const vectors = [
  {
    name: 'GCM spec test case 13 (empty plaintext, no AAD)',
    key: '00'.repeat(32), iv: '00'.repeat(12), aad: '', pt: '', ct: '',
    tag: '530f8afbc74536b9a963b4f1c4cb738b',
  },
  {
    name: 'GCM spec test case 14',
    key: '00'.repeat(32), iv: '00'.repeat(12), aad: '', pt: '00'.repeat(16), ct: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'GCM spec test case 16 (60-byte plaintext, 20-byte AAD)',
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    pt: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    ct: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
  {
    name: 'CAVP gcmEncryptExtIV256 (16-byte plaintext, 20-byte AAD)',
    key: '83688deb4af8007f9b713b47cfa6c73e35ea7a3aa4ecdb414dded03bf7a0fd3a',
    iv: '0b459724904e010a46901cf3',
    aad: '794a14ccd178c8ebfd1379dc704c5e208f9d8424',
    pt: '33d893a2114ce06fc15d55e454cf90c3',
    ct: 'cc66bee423e3fcd4c0865715e9586696',
    tag: '0fb291bd3dba94a1dfd8b286cfb97ac5',
  },
]

const code = (c: string) => expect.objectContaining({ code: c })

describe.each(aeads.map((a) => [a.name, a] as const))('Aead %s', (_, aead: Aead) => {
  for (const v of vectors) {
    it(`matches ${v.name}`, () => {
      const sealed = aead.seal(hex(v.key), hex(v.iv), hex(v.pt), hex(v.aad))
      expect(Buffer.from(sealed.ciphertext).toString('hex')).toBe(v.ct)
      expect(Buffer.from(sealed.tag).toString('hex')).toBe(v.tag)
      expect(aead.open(hex(v.key), hex(v.iv), hex(v.ct), hex(v.aad), hex(v.tag))).toEqual(hex(v.pt))
      // NIST SP 800-38D truncation: the first 12 bytes of the tag authenticate too.
      expect(aead.open(hex(v.key), hex(v.iv), hex(v.ct), hex(v.aad), hex(v.tag).subarray(0, 12))).toEqual(hex(v.pt))
      // ...and the last 12 bytes do not.
      expect(aead.open(hex(v.key), hex(v.iv), hex(v.ct), hex(v.aad), hex(v.tag).subarray(4))).toBeUndefined()
    })
  }

  it('rejects any single changed byte of ciphertext, tag, nonce or AAD, for 16- and 12-byte tags', () => {
    const key = randomBytes(32), nonce = randomBytes(12), pt = randomBytes(37), aad = randomBytes(19)
    const { ciphertext, tag } = aead.seal(key, nonce, pt, aad)
    for (const tagLen of [16, 12]) {
      const t = tag.subarray(0, tagLen)
      expect(aead.open(key, nonce, ciphertext, aad, t)).toEqual(new Uint8Array(pt))
      const parts = { ciphertext, t, nonce, aad }
      for (const [name, bytes] of Object.entries(parts)) {
        for (let i = 0; i < bytes.length; i++) {
          const bad = { ...parts, [name]: Uint8Array.from(bytes) }
          bad[name as keyof typeof parts][i] ^= 0x40
          expect(aead.open(key, bad.nonce, bad.ciphertext, bad.aad, bad.t), `${name}[${i}] tag ${tagLen}`).toBeUndefined()
        }
      }
      const otherKey = Uint8Array.from(key)
      otherKey[31] ^= 1
      expect(aead.open(otherKey, nonce, ciphertext, aad, t)).toBeUndefined()
    }
  })

  it('writes into `out` (in place too), and never writes unauthenticated plaintext there', () => {
    const key = randomBytes(32), nonce = randomBytes(12), pt = randomBytes(100), aad = new Uint8Array(0)
    const out = new Uint8Array(120)
    const sealed = aead.seal(key, nonce, pt, aad, out)
    expect(sealed.ciphertext.buffer).toBe(out.buffer)
    expect(sealed.ciphertext.length).toBe(100)
    const reference = aead.seal(key, nonce, pt, aad)
    expect(sealed.ciphertext).toEqual(reference.ciphertext)
    // in place: seal then open over the same bytes
    const buf = Uint8Array.from(pt)
    const s2 = aead.seal(key, nonce, buf, aad, buf)
    expect(buf).toEqual(reference.ciphertext)
    const opened = aead.open(key, nonce, buf, aad, s2.tag.subarray(0, 12), buf)!
    expect(opened.buffer).toBe(buf.buffer)
    expect(buf).toEqual(new Uint8Array(pt))
    // failure leaves `out` alone
    const sentinel = new Uint8Array(100).fill(0x77)
    const badTag = Uint8Array.from(reference.tag)
    badTag[0] ^= 1
    for (const t of [badTag, badTag.subarray(0, 12)]) {
      expect(aead.open(key, nonce, reference.ciphertext, aad, t, sentinel)).toBeUndefined()
      expect(sentinel.every((b) => b === 0x77)).toBe(true)
    }
  })

  it('refuses wrong key, nonce and tag lengths as programming errors', () => {
    const pt = new Uint8Array(4)
    expect(() => aead.seal(new Uint8Array(16), new Uint8Array(12), pt, pt)).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => aead.seal(new Uint8Array(32), new Uint8Array(16), pt, pt)).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => aead.seal(new Uint8Array(32), new Uint8Array(12), pt, pt, new Uint8Array(3))).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
    expect(() => aead.open(new Uint8Array(32), new Uint8Array(12), pt, pt, new Uint8Array(8))).toThrow(code('CARTRIDGE_INVALID_ARGUMENT'))
  })
})

describe('Aead implementations agree', () => {
  it('seal identically and open each other, for 16- and 12-byte tags', () => {
    const node = new NodeAead(), noble = new NobleAead()
    for (const len of [0, 1, 15, 16, 17, 4072, 65536]) {
      const key = randomBytes(32), nonce = randomBytes(12), pt = randomBytes(len), aad = randomBytes(len % 40)
      const a = node.seal(key, nonce, pt, aad)
      const b = noble.seal(key, nonce, pt, aad)
      expect(a.ciphertext, `length ${len}`).toEqual(b.ciphertext)
      expect(a.tag).toEqual(b.tag)
      for (const tagLen of [16, 12]) {
        expect(noble.open(key, nonce, a.ciphertext, aad, a.tag.subarray(0, tagLen))).toEqual(new Uint8Array(pt))
        expect(node.open(key, nonce, b.ciphertext, aad, b.tag.subarray(0, tagLen))).toEqual(new Uint8Array(pt))
      }
    }
  })

  it('defaults to node:crypto here', () => {
    expect(defaultAead().name).toBe('node:crypto')
  })
})
