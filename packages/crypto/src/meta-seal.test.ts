import { crc32, viewOf } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { KeySlot, NobleAead, NodeAead, RandomNonces, deriveKey, openMeta, sealMeta, type Aead, type KdfParams, type KeySource } from './index.js'
import { CountingNonces, aeads, plainMeta, testKey } from './test-fixtures.js'

const params = (): KdfParams => ({ kind: 'scrypt', logN: 10, r: 8, p: 1, salt: new Uint8Array(32).fill(3) })
const dataKey = testKey(10)

/** Recomputes the sealed page's CRC so a test reaches the cryptographic checks. */
function recrc(page: Uint8Array): Uint8Array {
  viewOf(page).setUint32(4092, crc32(page.subarray(0, 4092)), true)
  return page
}

function sealed(aead: Aead, source: KeySource, nonces = new CountingNonces()) {
  const slot = new KeySlot({ aead, nonces })
  const header = slot.wrapDataKey(dataKey, source, 'passphrase' in source ? params() : undefined)
  return { slot, header, page: sealMeta(plainMeta(7), header, dataKey, aead, nonces) }
}

describe.each(aeads.map((a) => [a.name, a] as const))('meta page sealing with %s', (_, aead: Aead) => {
  it('lays out the sealed page and rebuilds the plain one exactly', () => {
    const { header, page } = sealed(aead, { key: testKey(2) })
    const v = viewOf(page)
    expect(page.length).toBe(4096)
    expect(page.subarray(0, 128)).toEqual(header)
    expect(v.getUint16(8, true)).toBe(2)
    expect(v.getUint32(4092, true)).toBe(crc32(page.subarray(0, 4092)))
    // The body is GCM of plain[16..3952) under the data key with AAD = bytes 0..127.
    const body = new NodeAead().open(dataKey, page.subarray(128, 140), page.subarray(140, 4076), page.subarray(0, 128), page.subarray(4076, 4092))
    expect(body).toEqual(plainMeta(7).subarray(16, 3952))
    expect(openMeta(page, dataKey, aead)).toEqual(plainMeta(7))
  })

  it('rebuilds major 1, minor 2 and a valid CRC whatever the plain page said', () => {
    const plain = plainMeta(8)
    viewOf(plain).setUint16(10, 1, true)
    viewOf(plain).setUint32(4092, 0xdeadbeef, true)
    const header = new KeySlot({ aead }).wrapDataKey(dataKey, { key: testKey(2) })
    const opened = openMeta(sealMeta(plain, header, dataKey, aead, new CountingNonces()), dataKey, aead)!
    const v = viewOf(opened)
    expect([v.getUint16(8, true), v.getUint16(10, true), v.getUint32(12, true)]).toEqual([1, 2, 4096])
    expect(v.getUint32(4092, true)).toBe(crc32(opened.subarray(0, 4092)))
    expect(opened.subarray(16, 3952)).toEqual(plain.subarray(16, 3952))
  })

  it('refuses a plain page with bytes in 3952..4091', () => {
    const header = new KeySlot({ aead }).wrapDataKey(dataKey, { key: testKey(2) })
    for (const at of [3952, 4000, 4091]) {
      const plain = plainMeta(7)
      plain[at] = 1
      expect(() => sealMeta(plain, header, dataKey, aead, new CountingNonces())).toThrow(expect.objectContaining({ code: 'CARTRIDGE_INVALID_ARGUMENT' }))
    }
  })

  it('does not open under another data key, and uses a fresh body nonce per seal', () => {
    const header = new KeySlot({ aead }).wrapDataKey(dataKey, { key: testKey(2) })
    const a = sealMeta(plainMeta(7), header, dataKey, aead, new RandomNonces())
    const b = sealMeta(plainMeta(7), header, dataKey, aead, new RandomNonces())
    expect(a.subarray(128, 140)).not.toEqual(b.subarray(128, 140))
    expect(a.subarray(140, 4092)).not.toEqual(b.subarray(140, 4092))
    expect(openMeta(a, testKey(11), aead)).toBeUndefined()
  })
})

describe('meta page sealing across implementations', () => {
  it('is byte-identical through node:crypto and noble given the same nonces, and each opens the other', () => {
    for (const source of [{ key: testKey(2) }, { passphrase: 'open sesame' }] as KeySource[]) {
      const a = sealed(new NodeAead(), source)
      const b = sealed(new NobleAead(), source)
      expect(a.page).toEqual(b.page)
      expect(b.slot.unwrapDataKey(a.page, source)).toEqual(dataKey)
      expect(openMeta(a.page, dataKey, new NobleAead())).toEqual(plainMeta(7))
      expect(openMeta(b.page, dataKey, new NodeAead())).toEqual(plainMeta(7))
    }
  })
})

/**
 * Every single-byte change to a sealed meta page must be caught: by unwrapDataKey (a stable
 * code) for the clear header, and by openMeta (undefined) everywhere — with the CRC left stale
 * and, so the cryptographic check is what is tested, with the CRC recomputed.
 */
describe('meta page tampering', () => {
  for (const [name, source] of [['raw key', { key: testKey(2) }], ['passphrase', { passphrase: 'open sesame' }]] as [string, KeySource][]) {
    it(`is caught at every byte (${name}, node:crypto; noble on a sample)`, () => {
      const { page } = sealed(new NodeAead(), source)
      const kek = 'key' in source ? source.key : deriveKey(source.passphrase, params())
      const slot = new KeySlot({ derive: (pw, p) => deriveKey(pw, p) })
      for (let i = 0; i < 4096; i++) {
        const noble = i < 128 || i % 97 === 0 || i >= 4076
        const bad = Uint8Array.from(page)
        bad[i] ^= 1 + (i % 255)
        expect(openMeta(bad, dataKey, new NodeAead()), `stale CRC, byte ${i}`).toBeUndefined()
        if (i >= 4092) continue
        recrc(bad)
        expect(openMeta(bad, dataKey, new NodeAead()), `byte ${i}`).toBeUndefined()
        if (noble) expect(openMeta(bad, dataKey, new NobleAead()), `noble, byte ${i}`).toBeUndefined()
        if (i < 124) {
          let code: string | undefined
          try {
            slot.unwrapDataKey(bad, source)
          } catch (err) {
            code = (err as { code: string }).code
          }
          // Magic, version, page size, cipher and KDF ids have their own codes; the rest fails the tag.
          expect(code, `unwrap, byte ${i}`).toMatch(i < 21 ? /^CARTRIDGE_(BAD_KEY|CORRUPT|UNSUPPORTED)$/ : /^CARTRIDGE_BAD_KEY$/)
        } else if (i < 128) {
          // The reserved word is outside the wrap's AAD but inside the body's.
          expect(slot.unwrapDataKey(bad, source)).toEqual(dataKey)
        }
      }
      expect(new NodeAead().open(kek, page.subarray(64, 76), page.subarray(76, 108), page.subarray(0, 64), page.subarray(108, 124))).toEqual(dataKey)
    })
  }
})
