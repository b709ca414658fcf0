import { crc32, getU64, setU64, viewOf } from '@cartridge/core'
import { describe, expect, it } from 'vitest'
import { NobleAead, NodeAead, RandomNonces, openPage, sealPage, type Aead } from './index.js'
import { CountingNonces, aeads, plainPage, testKey, testUuid } from './test-fixtures.js'

const key = testKey(20)
const uuid = testUuid(21)

/** The AAD spelled out by hand, independent of pageAad(). */
function manualAad(id: Uint8Array, pageNo: number, txn: number): Uint8Array {
  const aad = new Uint8Array(36)
  aad.set([0x43, 0x52, 0x54, 0x50]) // "CRTP"
  aad.set(id, 4)
  setU64(viewOf(aad), 20, pageNo)
  setU64(viewOf(aad), 28, txn)
  return aad
}

describe.each(aeads.map((a) => [a.name, a] as const))('page sealing with %s', (_, aead: Aead) => {
  it('round-trips to exactly the plain page, large page numbers and txns too', () => {
    for (const [pageNo, txn] of [[2, 1], [77, 12345], [2 ** 40 + 3, 2 ** 52 - 1]]) {
      const plain = plainPage(pageNo, pageNo, txn)
      const sealed = sealPage(plain, uuid, key, aead, new RandomNonces())
      expect(sealed.length).toBe(4096)
      expect(openPage(sealed, pageNo, txn, uuid, key, aead)).toEqual(plain)
    }
  })

  it('lays out nonce ‖ 12-byte tag ‖ GCM(plain[4..8) ‖ plain[24..28) ‖ plain[32..4096)) with the CRTP AAD', () => {
    const plain = plainPage(1, 9, 4)
    const sealed = sealPage(plain, uuid, key, aead, new CountingNonces(5))
    const nonce = new Uint8Array(12)
    new CountingNonces(5).fill(nonce)
    expect(sealed.subarray(0, 12)).toEqual(nonce)
    const pt = new Uint8Array(4072)
    pt.set(plain.subarray(4, 8), 0)
    pt.set(plain.subarray(24, 28), 4)
    pt.set(plain.subarray(32), 8)
    const reference = new NodeAead().seal(key, nonce, pt, manualAad(uuid, 9, 4))
    expect(sealed.subarray(24)).toEqual(reference.ciphertext)
    expect(sealed.subarray(12, 24)).toEqual(reference.tag.subarray(0, 12))
  })

  it('does not store the checksum or reserved word: opening rebuilds them', () => {
    const plain = plainPage(2, 9, 4)
    const v = viewOf(plain)
    v.setUint32(0, 0x12345678, true)
    v.setUint32(28, 0xffffffff, true)
    const opened = openPage(sealPage(plain, uuid, key, aead, new RandomNonces()), 9, 4, uuid, key, aead)!
    const o = viewOf(opened)
    expect(o.getUint32(28, true)).toBe(0)
    expect(o.getUint32(0, true)).toBe(crc32(opened.subarray(4)))
    expect(opened.subarray(4, 28)).toEqual(plain.subarray(4, 28))
    expect(opened.subarray(32)).toEqual(plain.subarray(32))
    expect(getU64(o, 8)).toBe(4)
    expect(getU64(o, 16)).toBe(9)
  })

  it('opens only as the page number, txn and container it was sealed for, and under its key', () => {
    const plain = plainPage(3, 100, 50)
    const sealed = sealPage(plain, uuid, key, aead, new RandomNonces())
    expect(openPage(sealed, 100, 50, uuid, key, aead)).toEqual(plain)
    expect(openPage(sealed, 101, 50, uuid, key, aead)).toBeUndefined()
    expect(openPage(sealed, 100, 49, uuid, key, aead)).toBeUndefined()
    expect(openPage(sealed, 100 + 2 ** 32, 50, uuid, key, aead)).toBeUndefined()
    expect(openPage(sealed, 100, 50 + 2 ** 32, uuid, key, aead)).toBeUndefined()
    expect(openPage(sealed, 100, 50, testUuid(22), key, aead)).toBeUndefined()
    expect(openPage(sealed, 100, 50, uuid, testKey(23), aead)).toBeUndefined()
  })

  it('draws a fresh nonce for every seal of the same page', () => {
    const plain = plainPage(4, 5, 6)
    const nonces = new RandomNonces()
    const a = sealPage(plain, uuid, key, aead, nonces), b = sealPage(plain, uuid, key, aead, nonces)
    expect(a.subarray(0, 12)).not.toEqual(b.subarray(0, 12))
    expect(a.subarray(24)).not.toEqual(b.subarray(24))
    expect(openPage(a, 5, 6, uuid, key, aead)).toEqual(openPage(b, 5, 6, uuid, key, aead))
  })

  it('writes into `out` buffers, opens in place, and leaves `out` alone on failure', () => {
    const plain = plainPage(5, 8, 2)
    const out = new Uint8Array(8192)
    const sealed = sealPage(plain, uuid, key, aead, new RandomNonces(), out.subarray(4096))
    expect(sealed.buffer).toBe(out.buffer)
    const copy = Uint8Array.from(sealed)
    const into = new Uint8Array(4096).fill(0x55)
    expect(openPage(copy, 9, 2, uuid, key, aead, into)).toBeUndefined()
    expect(into.every((b) => b === 0x55)).toBe(true)
    expect(openPage(copy, 8, 2, uuid, key, aead, into)).toEqual(plain)
    const opened = openPage(copy, 8, 2, uuid, key, aead, copy)!
    expect(opened.buffer).toBe(copy.buffer)
    expect(copy).toEqual(plain)
  })
})

describe('page sealing across implementations', () => {
  it('is byte-identical given the same nonces, and each opens the other', () => {
    const node = new NodeAead(), noble = new NobleAead()
    for (let s = 0; s < 4; s++) {
      const plain = plainPage(30 + s, 10 + s, 3 + s)
      const a = sealPage(plain, uuid, key, node, new CountingNonces(s))
      const b = sealPage(plain, uuid, key, noble, new CountingNonces(s))
      expect(a).toEqual(b)
      expect(openPage(a, 10 + s, 3 + s, uuid, key, noble)).toEqual(plain)
      expect(openPage(b, 10 + s, 3 + s, uuid, key, node)).toEqual(plain)
    }
  })
})

describe('page tampering', () => {
  it('is caught at every byte of a sealed page (node:crypto at all 4096, noble on a sample)', () => {
    const plain = plainPage(40, 17, 9)
    const sealed = sealPage(plain, uuid, key, new NodeAead(), new RandomNonces())
    const node = new NodeAead(), noble = new NobleAead()
    const out = new Uint8Array(4096)
    for (let i = 0; i < 4096; i++) {
      const bad = Uint8Array.from(sealed)
      bad[i] ^= 1 + (i % 255)
      expect(openPage(bad, 17, 9, uuid, key, node, out), `byte ${i}`).toBeUndefined()
      if (i < 32 || i % 61 === 0 || i > 4090) expect(openPage(bad, 17, 9, uuid, key, noble), `noble, byte ${i}`).toBeUndefined()
    }
    expect(openPage(sealed, 17, 9, uuid, key, noble)).toEqual(plain)
  })
})
